package pagerduty

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// Operations of changing an incident, paging responders and reading who
// is on call (see the incident operations).
const (
	opPriorities = "pagerduty.priorities"
	opUpdate     = "pagerduty.update"
	opPage       = "pagerduty.responder_requests"
	opPolicies   = "pagerduty.escalation_policies"
	opServices   = "pagerduty.services"
)

// maxPriorityPages bounds the pages of priorities read; an account has a
// handful.
const maxPriorityPages = 2

// ErrUnknownPriority means the account has no priority of the name
// asked for; the error's text lists the ones it has.
var ErrUnknownPriority = errors.New("no such priority")

// ErrNoPriorities means the account has no priorities: they are turned
// off, or not in its plan.
var ErrNoPriorities = errors.New("the PagerDuty account has no priorities")

// unknownPriorityError is ErrUnknownPriority naming what was asked and
// what there is.
type unknownPriorityError struct {
	name  string
	known []string
}

func (e *unknownPriorityError) Error() string {
	return "PagerDuty has no priority " + strings.TrimSpace(e.name) + "; its priorities are " + strings.Join(e.known, ", ")
}
func (e *unknownPriorityError) Is(target error) bool { return target == ErrUnknownPriority }

// Update is a change of an incident; empty fields are left as they are.
type Update struct {
	// Priority is a priority's name ("P2"), matched ignoring case.
	Priority string
	// Urgency is "high" or "low".
	Urgency string
	Title   string
	// Assignee is a PagerDuty user id: the incident is assigned to them
	// alone.
	Assignee string
}

// UpdateIncident changes the incident as the PagerDuty user whose email
// is from (PUT /incidents/{id}). A priority is looked up by name first
// (GET /priorities), so that a name the account lacks is told with the
// names it has instead of whatever PagerDuty matches.
func (c *Client) UpdateIncident(ctx context.Context, from, incidentID string, u Update) error {
	op := opUpdate + " " + incidentID
	body := map[string]any{"type": "incident_reference"}
	if u.Priority != "" {
		id, err := c.priorityID(ctx, u.Priority)
		if err != nil {
			return err
		}
		body["priority"] = map[string]any{"id": id, "type": "priority_reference"}
	}
	if u.Urgency != "" {
		body["urgency"] = u.Urgency
	}
	if u.Title != "" {
		body["title"] = u.Title
	}
	if u.Assignee != "" {
		body["assignments"] = []any{map[string]any{"assignee": map[string]any{"id": u.Assignee, "type": "user_reference"}}}
	}
	if len(body) == 1 {
		return &incident.Error{Kind: incident.KindRefused, Op: op, Err: errors.New("nothing to change")}
	}
	return c.do(ctx, call{
		op: op, method: http.MethodPut, path: "/incidents/" + escape(incidentID), from: from, asUser: true,
		body: map[string]any{"incident": body},
	})
}

// priorityID returns the id of the account's priority named name
// (GET /priorities).
func (c *Client) priorityID(ctx context.Context, name string) (string, error) {
	type priority struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var id string
	var names []string
	_, err := list(ctx, c, opPriorities, "/priorities", "priorities", nil, maxPriorityPages, func(p priority) bool {
		names = append(names, p.Name)
		if strings.EqualFold(strings.TrimSpace(p.Name), strings.TrimSpace(name)) {
			id = p.ID
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return "", err
	case id != "":
		return id, nil
	case len(names) == 0:
		return "", &incident.Error{Kind: incident.KindRefused, Op: opPriorities, Err: ErrNoPriorities}
	}
	return "", &incident.Error{Kind: incident.KindRefused, Op: opPriorities, Err: &unknownPriorityError{name: name, known: names}}
}

// Target is one target of a responder request: a PagerDuty user or an
// escalation policy.
type Target struct {
	ID string
	// Policy is set for an escalation policy; otherwise ID is a user's.
	Policy bool
}

// RequestResponders asks the targets to join the incident, as the
// PagerDuty user whose email is from and whose id is requesterID (POST
// /incidents/{id}/responder_requests). Accounts without coordinated
// responding are refused with 402. Without an answer the request may
// have been sent: the error is then KindMaybeDone.
func (c *Client) RequestResponders(ctx context.Context, from, requesterID, incidentID, message string, targets []Target) error {
	ts := make([]any, 0, len(targets))
	for _, t := range targets {
		typ := "user_reference"
		if t.Policy {
			typ = "escalation_policy_reference"
		}
		ts = append(ts, map[string]any{"responder_request_target": map[string]any{"id": t.ID, "type": typ}})
	}
	return c.do(ctx, call{
		op: opPage + " " + incidentID, method: http.MethodPost, path: "/incidents/" + escape(incidentID) + "/responder_requests",
		from: from, asUser: true,
		body: map[string]any{"requester_id": requesterID, "message": message, "responder_request_targets": ts},
	})
}

// Policy is an escalation policy.
type Policy struct{ ID, Name string }

// Policies returns the escalation policies whose name matches query, as
// PagerDuty's search matches (GET /escalation_policies?query=), up to
// one page.
func (c *Client) Policies(ctx context.Context, query string) ([]Policy, error) {
	type policy struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var found []Policy
	q := url.Values{"query": {strings.TrimSpace(query)}}
	_, err := list(ctx, c, opPolicies, "/escalation_policies", "escalation_policies", q, 1, func(p policy) bool {
		found = append(found, Policy{ID: p.ID, Name: p.Name})
		return true
	})
	return found, err
}

// OnCall is one person on call at a level of an escalation policy.
type OnCall struct {
	Level int
	// UserID and User are the person on call.
	UserID, User string
	// Schedule is the schedule that puts them on call; "" when the
	// policy names them directly.
	Schedule string
	// Until is when their shift ends; zero when it does not.
	Until time.Time
}

// OnCalls returns who is on call for the escalation policy, by level
// (GET /oncalls?escalation_policy_ids[]=).
func (c *Client) OnCalls(ctx context.Context, policyID string) ([]OnCall, error) {
	type ref struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	}
	type entry struct {
		User     *ref   `json:"user"`
		Schedule *ref   `json:"schedule"`
		Level    int    `json:"escalation_level"`
		End      string `json:"end"`
	}
	var out []OnCall
	q := url.Values{"escalation_policy_ids[]": {policyID}}
	_, err := list(ctx, c, opOnCalls+" "+policyID, "/oncalls", "oncalls", q, maxOnCallPages, func(e entry) bool {
		if e.User == nil {
			return true
		}
		o := OnCall{Level: e.Level, UserID: e.User.ID, User: e.User.Summary}
		if e.Schedule != nil {
			o.Schedule = e.Schedule.Summary
		}
		if t, err := time.Parse(time.RFC3339, e.End); err == nil {
			o.Until = t
		}
		out = append(out, o)
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b OnCall) int { return cmp.Compare(a.Level, b.Level) })
	return out, nil
}

// ServiceRef is a PagerDuty service and its escalation policy.
type ServiceRef struct {
	ID, Name string
	Policy   Policy
}

// Services returns the services whose name matches query, as PagerDuty's
// search matches (GET /services?query=), up to one page.
func (c *Client) Services(ctx context.Context, query string) ([]ServiceRef, error) {
	type service struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Policy struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"escalation_policy"`
	}
	var found []ServiceRef
	q := url.Values{"query": {strings.TrimSpace(query)}}
	_, err := list(ctx, c, opServices, "/services", "services", q, 1, func(s service) bool {
		found = append(found, ServiceRef{ID: s.ID, Name: s.Name, Policy: Policy{ID: s.Policy.ID, Name: s.Policy.Summary}})
		return true
	})
	return found, err
}
