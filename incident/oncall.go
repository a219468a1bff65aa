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

// ServicePolicy is a PagerDuty service, by name, and its escalation
// policy.
type ServicePolicy struct {
	Service string
	Policy  Ref
}

// onCall answers /inc oncall, only to the asker: who is on call, by
// level, for the escalation policy named (or the policy of the service
// named, when no policy matches), or the incident's. Only a
// Slack user with a PagerDuty user may read it (any PagerDuty role:
// reading changes nothing).
func (r *Responder) onCall(ctx context.Context, req Request) Answer {
	if !r.Enabled() {
		return Answer{Text: notEnabledText}
	}
	arg := PlainText(req.Note)
	var policy Ref
	service := ""
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
		var why string
		if policy, service, why = r.namedPolicy(ctx, arg); why != "" {
			return Answer{Text: why}
		}
	}
	ocs, err := r.o.PagerDuty.OnCalls(ctx, policy.ID)
	if err != nil {
		r.o.Log.WarnContext(ctx, "on-calls not read", "escalation_policy_id", policy.ID, "error", err.Error())
		return Answer{Text: slackEscape(r.o.Explain(err))}
	}
	return Answer{Text: onCallText(policy, service, ocs)}
}

// namedPolicy is the escalation policy name means: a policy's, else a
// service's (and that service's name); or the answer saying why none.
func (r *Responder) namedPolicy(ctx context.Context, name string) (policy Ref, service, why string) {
	policies, err := r.o.PagerDuty.Policies(ctx, name)
	if err != nil {
		return Ref{}, "", slackEscape(r.o.Explain(err))
	}
	if len(policies) > 0 {
		i, why := oneNamed(policies, name, "escalation policies")
		if why != "" {
			return Ref{}, "", why
		}
		return policies[i], "", ""
	}
	services, err := r.o.PagerDuty.Services(ctx, name)
	if err != nil {
		return Ref{}, "", slackEscape(r.o.Explain(err))
	}
	if len(services) == 0 {
		return Ref{}, "", "PagerDuty has no escalation policy or service matching “" + slackEscape(name) + "”."
	}
	refs := make([]Ref, len(services))
	for i, s := range services {
		refs[i] = Ref{Summary: s.Service}
	}
	i, why := oneNamed(refs, name, "services")
	if why != "" {
		return Ref{}, "", why
	}
	return services[i].Policy, services[i].Service, ""
}

// oneNamed is the index of the ref a name means: the one of that name
// (ignoring case), else the only one; or the answer naming the several
// (what they are) that match.
func oneNamed(refs []Ref, name, what string) (int, string) {
	var names []string
	for i, p := range refs {
		if strings.EqualFold(p.Summary, name) {
			return i, ""
		}
		names = append(names, slackEscape(p.Summary))
	}
	if len(refs) == 1 {
		return 0, ""
	}
	return 0, "Several " + what + " match “" + slackEscape(name) + "”: " + strings.Join(names, ", ") + ". Name one."
}

// onCallText lists who is on call for policy (service's, when named), a
// line per level.
func onCallText(policy Ref, service string, ocs []OnCall) string {
	name := slackEscape(OrDash(policy.Summary))
	if service != "" {
		name += " (service " + slackEscape(service) + ")"
	}
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
