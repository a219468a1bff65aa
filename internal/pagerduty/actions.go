package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// Operations on incidents, the first word of an *incident.Error's Op;
// Explain names the action of each.
const (
	opIncident = "pagerduty.incident"
	opAck      = "pagerduty.acknowledge"
	opResolve  = "pagerduty.resolve"
	opPolicy   = "pagerduty.escalation_policy"
	opOnCalls  = "pagerduty.oncalls"
	opEscalate = "pagerduty.escalate"
	opAddNote  = "pagerduty.add_note"
	opNotes    = "pagerduty.notes"
)

// Incident statuses.
const (
	statusAcknowledged = "acknowledged"
	statusResolved     = "resolved"
)

// maxOnCallPages bounds the pages of on-call entries read for one policy.
const maxOnCallPages = 5

// Note is a note on an incident.
type Note struct {
	ID, Content string
	// UserID is the PagerDuty user who wrote it.
	UserID    string
	CreatedAt time.Time
}

// incidentStatus returns the status of the incident (GET /incidents/{id}).
func (c *Client) incidentStatus(ctx context.Context, incidentID string) (string, error) {
	var out struct {
		Incident struct {
			Status string `json:"status"`
		} `json:"incident"`
	}
	if err := c.get(ctx, opIncident+" "+incidentID, "/incidents/"+escape(incidentID), &out); err != nil {
		return "", err
	}
	return out.Incident.Status, nil
}

// Acknowledge acknowledges the incident as the PagerDuty user whose email
// is from (PUT /incidents/{id}). The incident is read first: since
// September 2025 PagerDuty reopens a resolved incident that is
// acknowledged, which a late click in Slack must not do, so a resolved
// one fails with ErrAlreadyResolved without a write; and acknowledging an
// acknowledged one again would restart its timeout and add a second
// acknowledger, so it fails with ErrAlreadyAcknowledged.
func (c *Client) Acknowledge(ctx context.Context, from, incidentID string) error {
	return c.setStatus(ctx, opAck, from, incidentID, statusAcknowledged)
}

// Resolve resolves the incident as the PagerDuty user whose email is from
// (PUT /incidents/{id}), with one write and no read: resolving twice
// harms nothing, and PagerDuty's "Incident Already Resolved" answer (code
// 1001) matches ErrAlreadyResolved.
func (c *Client) Resolve(ctx context.Context, from, incidentID string) error {
	return c.do(ctx, call{
		op: opResolve + " " + incidentID, method: http.MethodPut, path: "/incidents/" + escape(incidentID), from: from, asUser: true,
		body: map[string]any{"incident": map[string]any{"type": "incident_reference", "status": statusResolved}},
	})
}

// setStatus reads the incident, then sets its status unless resolved.
func (c *Client) setStatus(ctx context.Context, op, from, incidentID, status string) error {
	op += " " + incidentID
	cur, err := c.incidentStatus(ctx, incidentID)
	if err != nil {
		return err
	}
	switch {
	case cur == statusResolved:
		return &incident.Error{Kind: incident.KindRefused, Op: op, Err: ErrAlreadyResolved}
	case cur == status:
		return &incident.Error{Kind: incident.KindRefused, Op: op, Err: ErrAlreadyAcknowledged}
	}
	return c.do(ctx, call{
		op: op, method: http.MethodPut, path: "/incidents/" + escape(incidentID), from: from, asUser: true,
		body: map[string]any{"incident": map[string]any{"type": "incident_reference", "status": status}},
	})
}

// Escalate escalates the incident to the next level of its escalation
// policy policyID, as the PagerDuty user whose email is from, and returns
// that level.
//
// PagerDuty does not say which level an incident is at, so it is
// computed from who is on call: the policy (GET
// /escalation_policies/{id}: the number of escalation_rules and
// num_loops) and its on-call entries (GET
// /oncalls?escalation_policy_ids[]=, each a user id and an
// escalation_level) are read in parallel. The current level is the
// highest level at which one of assignees (the incident's assignees,
// PagerDuty user ids) is on call, or 1 when none is. The next level is
// one more; after the last rule it is 1 again when the policy repeats
// (num_loops > 0), else Escalate fails with ErrLastLevel. Then PUT
// /incidents/{id} sets escalation_level.
//
// An assignee on call at several levels counts at the highest, so a
// person covering levels 1 and 2 escalates to 3, never back to 2.
func (c *Client) Escalate(ctx context.Context, from, incidentID, policyID string, assignees []string) (level int, err error) {
	op := opEscalate + " " + incidentID
	rules, loops, onCalls, err := c.policyAndOnCalls(ctx, policyID)
	if err != nil {
		return 0, err
	}
	level, err = nextLevel(rules, loops, onCalls, assignees)
	if err != nil {
		return 0, &incident.Error{Kind: incident.KindRefused, Op: op, Err: err}
	}
	err = c.do(ctx, call{
		op: op, method: http.MethodPut, path: "/incidents/" + escape(incidentID), from: from, asUser: true,
		body: map[string]any{"incident": map[string]any{"type": "incident_reference", "escalation_level": level}},
	})
	if err != nil {
		return 0, err
	}
	return level, nil
}

// onCall is one on-call entry of an escalation policy.
type onCall struct {
	userID string
	level  int
}

// nextLevel is the level Escalate escalates to (see Escalate).
func nextLevel(rules, loops int, onCalls []onCall, assignees []string) (int, error) {
	if rules < 1 {
		return 0, errors.New("the escalation policy has no escalation rules")
	}
	assigned := make(map[string]bool, len(assignees))
	for _, a := range assignees {
		assigned[a] = true
	}
	cur := 0
	for _, o := range onCalls {
		if assigned[o.userID] {
			cur = max(cur, o.level)
		}
	}
	if cur == 0 {
		cur = 1
	}
	switch {
	case cur < rules:
		return cur + 1, nil
	case loops > 0:
		return 1, nil
	}
	return 0, &lastLevelError{levels: rules}
}

// policyAndOnCalls reads the escalation policy and its on-call entries at
// the same time; the first failure cancels the other call.
func (c *Client) policyAndOnCalls(ctx context.Context, policyID string) (rules, loops int, onCalls []onCall, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		fail  = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if first == nil {
				first = err
				cancel()
			}
		}
	)
	wg.Go(func() {
		var out struct {
			Policy struct {
				NumLoops int               `json:"num_loops"`
				Rules    []json.RawMessage `json:"escalation_rules"`
			} `json:"escalation_policy"`
		}
		err := c.get(ctx, opPolicy+" "+policyID, "/escalation_policies/"+escape(policyID), &out)
		if err != nil {
			fail(err)
			return
		}
		rules, loops = len(out.Policy.Rules), out.Policy.NumLoops
	})
	wg.Go(func() {
		all, err := c.OnCalls(ctx, policyID)
		if err != nil {
			fail(err)
			return
		}
		for _, o := range all {
			onCalls = append(onCalls, onCall{userID: o.UserID, level: o.Level})
		}
	})
	wg.Wait()
	// The first failure, not the cancellation it caused in the other.
	if first != nil {
		return 0, 0, nil, first
	}
	return rules, loops, onCalls, nil
}

// AddNote adds a note to the incident as the PagerDuty user whose email
// is from (POST /incidents/{id}/notes). Without an answer the note may
// exist: the error is then KindMaybeDone, and the caller reads Notes
// before adding it again.
func (c *Client) AddNote(ctx context.Context, from, incidentID, content string) (Note, error) {
	var out struct {
		Note noteJSON `json:"note"`
	}
	err := c.do(ctx, call{
		op: opAddNote + " " + incidentID, method: http.MethodPost, path: "/incidents/" + escape(incidentID) + "/notes", from: from, asUser: true,
		body: map[string]any{"note": map[string]any{"content": content}},
		out:  &out,
	})
	if err != nil {
		return Note{}, err
	}
	return out.Note.note(), nil
}

// Notes returns the notes of the incident, oldest first
// (GET /incidents/{id}/notes).
func (c *Client) Notes(ctx context.Context, incidentID string) ([]Note, error) {
	var out struct {
		Notes []noteJSON `json:"notes"`
	}
	if err := c.get(ctx, opNotes+" "+incidentID, "/incidents/"+escape(incidentID)+"/notes", &out); err != nil {
		return nil, err
	}
	notes := make([]Note, len(out.Notes))
	for i, n := range out.Notes {
		notes[i] = n.note()
	}
	return notes, nil
}

// noteJSON is PagerDuty's note.
type noteJSON struct {
	ID   string `json:"id"`
	User *struct {
		ID string `json:"id"`
	} `json:"user"`
	Content   string `json:"content"`
	CreatedAt string `json:"created_at"`
}

func (n noteJSON) note() Note {
	out := Note{ID: n.ID, Content: n.Content}
	if n.User != nil {
		out.UserID = n.User.ID
	}
	// PagerDuty writes RFC 3339 with an offset ("2013-03-06T15:28:51-05:00").
	if t, err := time.Parse(time.RFC3339, n.CreatedAt); err == nil {
		out.CreatedAt = t
	}
	return out
}
