package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RequestOnCall asks who is on call (/inc oncall [escalation policy]):
// for the policy named (Request.Note), or the incident's.
const RequestOnCall RequestKind = "oncall"

// OnCall is one person on call at a level of an escalation policy.
type OnCall struct {
	Level int
	// User is the person's name; Schedule the schedule that puts them on
	// call, "" when the policy names them directly.
	User, Schedule string
	// Until is when their shift ends; zero when it does not.
	Until time.Time
}

// onCall answers /inc oncall, only to the asker: who is on call, by
// level, for the escalation policy named, or the incident's. Only a
// Slack user with a PagerDuty user may read it (any PagerDuty role:
// reading changes nothing).
func (r *Responder) onCall(ctx context.Context, req Request) Answer {
	if !r.Enabled() {
		return Answer{Text: notEnabledText}
	}
	arg := PlainText(req.Note)
	var policy Ref
	if arg == "" {
		st, ans, ok := r.find(ctx, req)
		switch {
		case !ok && ans.Text == notIncidentChannelText:
			return Answer{Text: "Name an escalation policy: `/inc oncall <escalation policy>`; in an incident channel, `/inc oncall` alone shows its incident's."}
		case !ok:
			return ans
		}
		policy = st.Snapshot.EscalationPolicy
		if policy.ID == "" {
			return Answer{Text: "Incident Channels does not know " + numberOrID(st.Snapshot) + "'s escalation policy yet; name one: `/inc oncall <escalation policy>`."}
		}
	}
	if _, err := r.o.Actors.Lookup(ctx, req.UserID); err != nil {
		r.o.Log.WarnContext(ctx, "Slack user may not read who is on call", "slack_user_id", req.UserID, "error", err.Error())
		return Answer{Text: r.o.Explain(err)}
	}
	if arg != "" {
		policies, err := r.o.PagerDuty.Policies(ctx, arg)
		if err != nil {
			return Answer{Text: slackEscape(r.o.Explain(err))}
		}
		var why string
		if policy, why = onePolicy(policies, arg); why != "" {
			return Answer{Text: why}
		}
	}
	ocs, err := r.o.PagerDuty.OnCalls(ctx, policy.ID)
	if err != nil {
		r.o.Log.WarnContext(ctx, "on-calls not read", "escalation_policy_id", policy.ID, "error", err.Error())
		return Answer{Text: slackEscape(r.o.Explain(err))}
	}
	return Answer{Text: onCallText(policy, ocs)}
}

// onePolicy is the policy a name means: the one of that name (ignoring
// case), else the only match; or the answer saying why there is none.
func onePolicy(policies []Ref, name string) (Ref, string) {
	var names []string
	for _, p := range policies {
		if strings.EqualFold(p.Summary, name) {
			return p, ""
		}
		names = append(names, slackEscape(p.Summary))
	}
	switch len(policies) {
	case 0:
		return Ref{}, "PagerDuty has no escalation policy matching “" + slackEscape(name) + "”."
	case 1:
		return policies[0], ""
	}
	return Ref{}, "Several escalation policies match “" + slackEscape(name) + "”: " + strings.Join(names, ", ") + ". Name one."
}

// onCallText lists who is on call for policy, a line per level.
func onCallText(policy Ref, ocs []OnCall) string {
	name := slackEscape(OrDash(policy.Summary))
	if len(ocs) == 0 {
		return "No one is on call for *" + name + "* right now."
	}
	lines := []string{"*On call for " + name + ":*"}
	level, line := 0, ""
	for _, o := range ocs {
		if o.Level != level {
			if line != "" {
				lines = append(lines, line)
			}
			level, line = o.Level, "• Level "+strconv.Itoa(o.Level)+": "
		} else {
			line += "; "
		}
		line += slackEscape(OrDash(o.User))
		var about []string
		if o.Schedule != "" {
			about = append(about, slackEscape(o.Schedule))
		}
		if !o.Until.IsZero() {
			about = append(about, "until "+slackDate(o.Until))
		}
		if len(about) > 0 {
			line += " (" + strings.Join(about, ", ") + ")"
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// slackDate shows t in the reader's time zone, with UTC as the fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}
