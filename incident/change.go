package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// The requests that change an incident or page more responders: each
// takes its argument in Request.Note.
const (
	RequestPriority RequestKind = "priority"
	RequestUrgency  RequestKind = "urgency"
	RequestTitle    RequestKind = "title"
	RequestReassign RequestKind = "reassign"
	RequestPage     RequestKind = "page"
)

// argKinds are the /inc subcommands that take an argument beyond a note.
var argKinds = map[string]RequestKind{
	"priority": RequestPriority, "urgency": RequestUrgency, "title": RequestTitle,
	"reassign": RequestReassign, "page": RequestPage, "oncall": RequestOnCall,
}

// IncidentChange is a change of an incident asked from Slack; empty fields stay
// as they are.
type IncidentChange struct {
	// Priority is a priority's name ("P2").
	Priority string
	Urgency  Urgency
	Title    string
	// Assignee is the PagerDuty user the incident is assigned to, alone.
	Assignee string
}

// PageTarget is whom a responder request asks to join: a PagerDuty user,
// or an escalation policy.
type PageTarget struct {
	ID string
	// Policy is set for an escalation policy; ID is a user's otherwise.
	Policy bool
	// Name is how the answer names them.
	Name string
}

// IncidentChanger is what changing an incident, paging responders and
// /inc oncall ask of PagerDuty (part of ResponderPagerDuty). Change and
// Page act as the user whose email is from.
type IncidentChanger interface {
	// Change fails with an error Explain words when PagerDuty refuses,
	// or the account has no priority of the name asked for.
	Change(ctx context.Context, from, incidentID string, ch IncidentChange) error
	// Page sends a responder request from requesterID (a PagerDuty user
	// id) to the targets.
	Page(ctx context.Context, from, requesterID, incidentID, message string, targets []PageTarget) error
	// Policies returns the escalation policies whose names match query
	// (PagerDuty's search), Summary their name.
	Policies(ctx context.Context, query string) ([]Ref, error)
	// Services returns the services whose names match query, with their
	// escalation policies.
	Services(ctx context.Context, query string) ([]ServicePolicy, error)
	// OnCalls returns who is on call for the escalation policy, by level.
	OnCalls(ctx context.Context, policyID string) ([]OnCall, error)
}

// argProblem says what is wrong with the argument of a change, or why
// it needs no call, before anyone is looked up; "" when it is fine.
func argProblem(req Request, st State) string {
	inc, arg := st.Snapshot, strings.TrimSpace(req.Note)
	switch req.Kind {
	case RequestPriority:
		// A priority's name may hold spaces ("SEV 1"): PagerDuty's list
		// decides what is one.
		switch {
		case arg == "":
			return "Name a priority: `/inc priority P2`."
		case strings.EqualFold(arg, inc.Priority):
			return numberOrID(inc) + " is already " + slackEscape(inc.Priority) + "."
		}
	case RequestUrgency:
		u := Urgency(strings.ToLower(arg))
		switch {
		case u != UrgencyHigh && u != UrgencyLow:
			return "Urgency is `high` or `low`: `/inc urgency low`."
		case u == inc.Urgency:
			return numberOrID(inc) + " is already " + string(u) + " urgency."
		}
	case RequestTitle:
		switch t := PlainText(arg); {
		case t == "":
			return "A title needs some text: `/inc title <new title>`."
		case t == inc.Title:
			return numberOrID(inc) + " already has that title."
		}
	case RequestReassign:
		users, groups, rest := mentions(arg)
		if len(users) != 1 || len(groups) > 0 || rest != "" {
			return "Name one person: `/inc reassign @person`."
		}
	case RequestPage:
		if arg == "" {
			return "Name whom to page: `/inc page @person [message]` or `/inc page <escalation policy> [message]`."
		}
	}
	if (req.Kind == RequestReassign || req.Kind == RequestPage) && inc.Status == StatusResolved {
		return numberOrID(inc) + " is resolved; reopen it in PagerDuty first."
	}
	return ""
}

// change makes the change or the responder request of kind as actor and
// returns the answer: what was done, or why not.
func (r *Responder) change(ctx context.Context, kind RequestKind, actor Actor, st State, arg string) (string, error) {
	inc, pd, as := st.Snapshot, r.o.PagerDuty, slackEscape(actor.Name)
	arg = strings.TrimSpace(arg)
	var err error
	done := ""
	switch kind {
	case RequestPriority:
		err = pd.Change(ctx, actor.Email, inc.ID, IncidentChange{Priority: arg})
		done = "Set " + numberOrID(inc) + "'s priority to " + slackEscape(arg) + " in PagerDuty as " + as + "."
	case RequestUrgency:
		u := Urgency(strings.ToLower(arg))
		err = pd.Change(ctx, actor.Email, inc.ID, IncidentChange{Urgency: u})
		done = "Set " + numberOrID(inc) + "'s urgency to " + string(u) + " in PagerDuty as " + as + "."
	case RequestTitle:
		t := PlainText(arg)
		err = pd.Change(ctx, actor.Email, inc.ID, IncidentChange{Title: t})
		done = "Renamed " + numberOrID(inc) + " to “" + slackEscape(t) + "” in PagerDuty as " + as + "."
	case RequestReassign:
		users, _, _ := mentions(arg)
		found, why := r.pagerDutyUsers(ctx, users, len(users))
		if why != "" {
			return why + " Nothing was changed.", errNoAssignee
		}
		who := found[0]
		err = pd.Change(ctx, actor.Email, inc.ID, IncidentChange{Assignee: who.PagerDutyID})
		done = "Reassigned " + numberOrID(inc) + " to " + slackEscape(who.Name) + " in PagerDuty as " + as + "."
	case RequestPage:
		targets, left, message, why := r.pageTargets(ctx, arg)
		if why != "" {
			return why + " Nothing was paged.", errNoPageTarget
		}
		if message == "" {
			message = "Please help with " + numberOrID(inc) + " " + inc.Title
			if st.ChannelName != "" {
				message += " in Slack: #" + st.ChannelName
			}
		}
		err = pd.Page(ctx, actor.Email, actor.PagerDutyID, inc.ID, message, targets)
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = slackEscape(t.Name)
		}
		done = "Paged " + strings.Join(names, ", ") + " for " + numberOrID(inc) + " as " + as + "; the thread shows their answers."
		if left > 0 {
			done += " " + plural(left, "member") + " of the user groups, without a PagerDuty user, left out."
		}
	}
	if err != nil {
		return slackEscape(r.o.Explain(err)), err
	}
	return okPrefix + done, nil
}

// errNoAssignee and errNoPageTarget are the failures of a reassignment
// or a page whose person or policy was not found; the answer says which.
var (
	errNoAssignee   = errors.New("the person named has no PagerDuty user")
	errNoPageTarget = errors.New("whom to page was not found")
)

// pagerDutyUsers returns the PagerDuty users of Slack users someone
// named, looked up at once, in order; those without one are left out,
// except that one of the first named (people named directly, not
// through a group) makes it fail. It fails too when a look-up did (a
// PagerDuty or Slack failure, explained).
func (r *Responder) pagerDutyUsers(ctx context.Context, slackUsers []string, named int) ([]Actor, string) {
	found := make([]Actor, len(slackUsers))
	errs := make([]error, len(slackUsers))
	var wg sync.WaitGroup
	for i, u := range slackUsers {
		wg.Go(func() { found[i], errs[i] = r.o.Actors.Lookup(ctx, u) })
	}
	wg.Wait()
	var out []Actor
	for i, err := range errs {
		switch {
		case err == nil:
			out = append(out, found[i])
			continue
		case IsRetryable(err):
			r.o.Log.WarnContext(ctx, "named Slack user not looked up", "slack_user_id", slackUsers[i], "error", err.Error())
			return nil, slackEscape(r.o.Explain(err))
		}
		r.o.Log.InfoContext(ctx, "named Slack user has no PagerDuty user", "slack_user_id", slackUsers[i], "error", err.Error())
		if i < named {
			return nil, "<@" + slackUsers[i] + "> has no PagerDuty user Incident Channels can find by their Slack email address, so PagerDuty cannot be asked for them."
		}
	}
	return out, ""
}

// maxPageMembers bounds the people of the user groups one page looks up;
// a larger group is an escalation policy's job.
const maxPageMembers = 25

// pageTargets reads whom /inc page names: the people and user groups
// mentioned first (their PagerDuty users), or else the escalation policy
// the text starts with; the rest is the message. A person named who has
// no PagerDuty user stops the page; the members of a group without one
// are left out and counted in left. why says why no one can be paged.
func (r *Responder) pageTargets(ctx context.Context, arg string) (targets []PageTarget, left int, message, why string) {
	users, groups, rest := mentions(arg)
	if len(users)+len(groups) == 0 {
		target, message, why := r.pagePolicy(ctx, PlainText(arg))
		return []PageTarget{target}, 0, message, why
	}
	members, why := r.groupMembers(ctx, groups)
	if why != "" {
		return nil, 0, "", why
	}
	named := len(users)
	for _, m := range members {
		if !slices.Contains(users, m) {
			users = append(users, m)
		}
	}
	found, why := r.pagerDutyUsers(ctx, users, named)
	if why != "" {
		return nil, 0, "", why
	}
	for _, who := range found {
		if !slices.ContainsFunc(targets, func(t PageTarget) bool { return t.ID == who.PagerDutyID }) {
			targets = append(targets, PageTarget{ID: who.PagerDutyID, Name: who.Name})
		}
	}
	if len(targets) == 0 {
		return nil, 0, "", "No one in those user groups has a PagerDuty user Incident Channels can find."
	}
	return targets, len(users) - len(found), PlainText(rest), ""
}

// pagePolicy is the escalation policy the text starts with (the longest
// name that fits), and the rest of the text, the message.
func (r *Responder) pagePolicy(ctx context.Context, text string) (target PageTarget, message, why string) {
	word, _, _ := strings.Cut(text, " ")
	policies, err := r.o.PagerDuty.Policies(ctx, word)
	if err != nil {
		return PageTarget{}, "", slackEscape(r.o.Explain(err))
	}
	p, message, found := policyPrefix(policies, text)
	if !found {
		return PageTarget{}, "", "PagerDuty has no escalation policy whose name starts “" + slackEscape(text) + "”: `/inc page <escalation policy> [message]`, or `/inc page @person`."
	}
	return PageTarget{ID: p.ID, Policy: true, Name: p.Summary}, message, ""
}

// groupMembers returns the Slack users of the user groups, or why not.
func (r *Responder) groupMembers(ctx context.Context, groups []string) ([]string, string) {
	var members []string
	for _, g := range groups {
		ids, err := r.o.Slack.GroupMembers(ctx, g)
		switch {
		case errors.Is(err, ErrGroupNotFound):
			return nil, "Slack has no user group <!subteam^" + g + ">, or it is disabled."
		case err != nil:
			r.o.Log.WarnContext(ctx, "user group members not read", "group", g, "error", err.Error())
			return nil, "Slack did not list the members of <!subteam^" + g + "> just now; try again, or name the people."
		}
		for _, id := range ids {
			if !slices.Contains(members, id) {
				members = append(members, id)
			}
		}
		if len(members) > maxPageMembers {
			return nil, fmt.Sprintf("Those user groups have more than %d people: page an escalation policy instead (`/inc page <escalation policy> [message]`).", maxPageMembers)
		}
	}
	return members, ""
}

// policyPrefix returns the policy whose name text starts with (ignoring
// case; the longest when several do) and the text after it.
func policyPrefix(policies []Ref, text string) (Ref, string, bool) {
	var best Ref
	for _, p := range policies {
		n := p.Summary
		if len(n) <= len(best.Summary) || len(n) > len(text) || !strings.EqualFold(text[:len(n)], n) {
			continue
		}
		if len(text) > len(n) && text[len(n)] != ' ' {
			continue
		}
		best = p
	}
	if best.ID == "" {
		return Ref{}, "", false
	}
	return best, strings.TrimSpace(text[len(best.Summary):]), true
}

// mentions splits the mentions Slack escapes in a command's text
// (should_escape): the users (<@U…> or <@U…|name>) and user groups
// (<!subteam^S…>) it starts with, and the rest.
func mentions(s string) (users, groups []string, rest string) {
	rest = strings.TrimSpace(s)
	for strings.HasPrefix(rest, "<@") || strings.HasPrefix(rest, "<!subteam^") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			break
		}
		m := rest[1:end]
		m, _, _ = strings.Cut(m, "|")
		if id, ok := strings.CutPrefix(m, "@"); ok {
			users = append(users, id)
		} else {
			groups = append(groups, strings.TrimPrefix(m, "!subteam^"))
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	return users, groups, rest
}

// PlainText turns the text of a slash command, as Slack escapes it, into
// plain text for PagerDuty: a mention <@U…|ada> reads @ada, a channel
// <#C…|ops> #ops, a link <https://x|label> "label (https://x)", and
// &amp;, &lt; and &gt; are the characters again.
func PlainText(s string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '<')
		if start < 0 {
			break
		}
		end := strings.IndexByte(s[start:], '>')
		if end < 0 {
			break
		}
		b.WriteString(s[:start])
		b.WriteString(plainEntity(s[start+1 : start+end]))
		s = s[start+end+1:]
	}
	b.WriteString(s)
	return strings.TrimSpace(strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(b.String()))
}

// plainEntity is one escaped entity (between < and >) as plain text.
func plainEntity(e string) string {
	target, label, hasLabel := strings.Cut(e, "|")
	switch {
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		if hasLabel {
			return target[:1] + strings.TrimPrefix(label, target[:1])
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel {
			return label
		}
		// <!here>, <!channel>, <!subteam^S…>
		return "@" + strings.TrimPrefix(target, "!")
	case hasLabel && label != target && "mailto:"+label != target:
		return label + " (" + target + ")"
	}
	return strings.TrimPrefix(target, "mailto:")
}
