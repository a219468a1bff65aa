package incident

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
)

// EventLead is the function's own event, never PagerDuty's: a responder
// named who leads the incident from Slack (Event.Lead). PagerDuty has no
// REST API for incident roles, so the lead lives in the incident's state,
// and this event edits the root and the topic and tells the thread.
const EventLead = "incident-channels.lead"

// Lead is who leads an incident, named from Slack.
type Lead struct {
	// SlackUserID is the lead's Slack user; Name their name, as Slack
	// gives it.
	SlackUserID string
	Name        string
	// At is when they were named.
	At time.Time
}

// Role is an incident role given in PagerDuty: its name ("Incident
// Commander") and who holds it.
type Role struct {
	Name     string
	Assignee Ref
	// At is when it was given.
	At time.Time
}

// maxRoles bounds the roles kept for one incident.
const maxRoles = 10

// recordRoles keeps the roles of ev: each replaces an older holder of the
// same role.
func recordRoles(st *State, ev *Event) Change {
	var ch Change
	for _, r := range ev.Roles {
		if r.Name == "" || r.Assignee.Summary == "" && r.Assignee.ID == "" {
			continue
		}
		r.At = ev.OccurredAt
		i := slices.IndexFunc(st.Roles, func(h Role) bool { return h.Name == r.Name })
		switch {
		case i >= 0 && (st.Roles[i].At.After(r.At) || st.Roles[i] == r):
			continue
		case i >= 0:
			st.Roles[i] = r
		case len(st.Roles) < maxRoles:
			st.Roles = append(st.Roles, r)
		default:
			continue
		}
		ch = ChangeState
	}
	if ch != 0 {
		// The root shows them.
		st.Version++
	}
	return ch
}

// RequestLead names the lead: Request.Target, or the asker when it is "".
const RequestLead RequestKind = "lead"

// ActionLead is the root message's "I'll lead" button.
const ActionLead Action = "incident_lead"

// Changes are the changes to an incident that live in its stored state
// rather than in PagerDuty: the Service.
type Changes interface {
	// SetLead records who leads the incident and brings its channel in
	// line.
	SetLead(ctx context.Context, incidentID string, lead Lead, by string) error
	// Snooze holds the incident's update reminders until until.
	Snooze(ctx context.Context, incidentID string, until time.Time) error
}

// leadClaim is how long naming the same lead is claimed: a double click
// names them once.
const leadClaim = 30 * time.Second

// SetLead records lead as the incident's lead, named by by (a name; ""
// when they named themselves), and
// edits the root message and the topic, with a line in the thread. It
// runs as an event of the incident's own, under its lease, within ctx.
func (s *Service) SetLead(ctx context.Context, incidentID string, lead Lead, by string) error {
	ev := &Event{ID: "lead-" + NewOwner(), Type: EventLead, OccurredAt: lead.At, IncidentID: incidentID,
		Agent: Ref{Summary: by}, Lead: lead}
	a := &attempt{Service: s, ev: ev, owner: NewOwner()}
	_, err := a.run(ctx)
	return err
}

// recordLead keeps ev's lead unless a later one was named meanwhile.
func recordLead(st *State, ev *Event) Change {
	if ev.Lead.SlackUserID == "" || ev.Lead.At.Before(st.Lead.At) || ev.Lead == st.Lead {
		return 0
	}
	st.Lead = ev.Lead
	// The root and the topic show it.
	st.Version++
	return ChangeState
}

// LeadName is the name the topic and the replies give the lead: the
// one named from Slack, else the newest role given in PagerDuty.
func LeadName(st State) string {
	return st.Lead.Name
}

// leadTopic is the channel's topic: the incident's, and who leads it.
func leadTopic(st State) string {
	t := Topic(st.Snapshot)
	if n := LeadName(st); n != "" && t != "" {
		return t + " · Lead: " + n
	}
	return t
}

// mentionRE is a user mention as Slack escapes it in a slash command's
// text: <@U123ABC> or <@U123ABC|name>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$`)

// parseLead reads /inc lead's argument: nothing (the asker) or one
// mention; ok is false for anything else.
func parseLead(rest string) (target string, ok bool) {
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", true
	}
	m := mentionRE.FindStringSubmatch(rest)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// lead names the lead of st's incident: req.Target, or the asker. The
// asker must be someone who may act on the incident (permit.go), as for
// any change from Slack.
func (r *Responder) lead(ctx context.Context, req Request, st State) Answer {
	inc := st.Snapshot
	if req.Unknown != "" {
		return Answer{Text: "Name the lead with an @mention: `/inc lead @person`, or `/inc lead` to lead yourself."}
	}
	if r.o.Changes == nil {
		return Answer{Text: notEnabledText}
	}
	if inc.Status == StatusResolved {
		return Answer{Text: numberOrID(inc) + " is resolved; it needs no lead."}
	}
	target := cmp.Or(req.Target, req.UserID)
	if st.Lead.SlackUserID == target {
		return Answer{Text: "<@" + target + "> already leads " + numberOrID(inc) + "."}
	}
	actor, ans, ok := r.actor(ctx, req, st)
	if !ok {
		return ans
	}
	key := "lead:" + inc.ID + ":" + target
	by := req.UserID + "/" + string(RequestLead) + "/" + NewOwner()
	if ans, ok := r.claim(ctx, RequestLead, key, by, leadClaim); !ok {
		return ans
	}
	name, err := r.o.Slack.UserName(ctx, target)
	if err != nil {
		// A mention of no one this workspace knows (or Slack down): no
		// lead is named whose name nobody could read.
		r.finish(ctx, key, by, false)
		r.o.Log.WarnContext(ctx, "lead not looked up in Slack", "slack_user_id", target, "error", err.Error())
		return Answer{Text: "Slack could not find <@" + target + "> just now; check the mention and try again."}
	}
	name = cmp.Or(name, target)
	namedBy := actor.Name
	if target == req.UserID {
		namedBy = ""
	}
	err = r.o.Changes.SetLead(ctx, inc.ID, Lead{SlackUserID: target, Name: name, At: r.o.Now()}, namedBy)
	if err != nil {
		r.o.Log.WarnContext(ctx, "lead not shown in Slack", "incident_id", inc.ID, "error", err.Error())
		// SetLead records the lead first: when it did, the root and the
		// topic catch up with the incident's next event.
		if now, _, rerr := r.o.Incidents.Get(ctx, inc.ID, ""); rerr != nil || now.Lead.SlackUserID != target {
			r.finish(ctx, key, by, false)
			return Answer{Text: "Could not name the lead just now; try again in a moment."}
		}
		r.finish(ctx, key, by, true)
		return Answer{Text: okPrefix + "<@" + target + "> leads " + numberOrID(inc) + "; Slack is slow, so the channel shows it with the incident's next change."}
	}
	r.finish(ctx, key, by, true)
	r.o.Log.InfoContext(ctx, "lead named", "incident_id", inc.ID, "slack_user_id", target)
	return Answer{Text: okPrefix + "<@" + target + "> leads " + numberOrID(inc) + "."}
}
