package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/replay"
)

// The PagerDuty half of the loop. The fake PagerDuty learns the incidents
// the function is sent (so the function's buttons, /inc and back-link
// notes act on incidents it knows), and every change a responder makes
// through its REST API comes back to the function as the V3 webhook
// PagerDuty would send, after the REST call has been answered.

// loopEventPrefix starts the event ids of the webhooks the sandbox makes
// from the fake PagerDuty's changes: relaying them must not change the
// fake's state again.
const loopEventPrefix = "01SANDBOX"

// The escalation policy the sandbox gives every incident's policy: Ada on
// call at level 1 (the samples' assignee), Katherine at level 2, so
// Escalate pages someone with a Slack account.
const (
	policyLevels = 2
	level1User   = "PUSER00"
	level2User   = "PUSER09"
)

// The PagerDuty user the function writes its back-link notes as
// (PAGERDUTY_FROM_EMAIL).
const (
	botPagerDutyID = "PBOT000"
	botName        = "Incident Channels bot"
	botEmail       = "incident-channels-bot@example.com"
)

// loop carries the fake PagerDuty's changes to the function as webhooks,
// one at a time and in order, on its own goroutine.
type loop struct {
	pd    *pdfake.Server
	send  func(context.Context, replay.Delivery) replay.Result
	names map[string]string // PagerDuty user names by id; read-only

	mu       sync.Mutex
	closed   bool
	queue    []change
	wake     chan struct{}
	data     map[string]json.RawMessage // the last event.data relayed, by incident id
	policies map[string]bool
	seq      int
}

// change is one write of the fake PagerDuty and the incident after it.
type change struct {
	pdfake.Change
	inc pdfake.Incident
	at  time.Time
}

// newLoop returns a loop that delivers with send; names names the fake's
// users.
func newLoop(pd *pdfake.Server, names map[string]string, send func(context.Context, replay.Delivery) replay.Result) *loop {
	return &loop{pd: pd, send: send, names: names, wake: make(chan struct{}, 1),
		data: map[string]json.RawMessage{}, policies: map[string]bool{}}
}

// changed is the fake PagerDuty's OnChange hook: it queues the webhook
// and returns, so the REST answer is not held up by the delivery.
func (l *loop) changed(c pdfake.Change) {
	inc, _ := l.pd.Incident(c.IncidentID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.queue = append(l.queue, change{Change: c, inc: inc, at: time.Now()})
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run delivers the queued webhooks until ctx ends.
func (l *loop) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			if len(l.queue) == 0 {
				l.mu.Unlock()
				break
			}
			c := l.queue[0]
			l.queue = l.queue[1:]
			l.mu.Unlock()
			d, err := l.delivery(c)
			if err != nil {
				continue // a defect in the templates; the page shows no webhook
			}
			l.send(ctx, d)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// stop makes changed drop later changes: Close waits for run alone.
func (l *loop) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.queue = nil
}

// relayed learns from a webhook on its way to the function: an incident
// the fake PagerDuty does not know is added (before the function reads
// the webhook, so its back-link note finds it), and one it knows takes the
// status and assignees of a webhook sent from elsewhere (the replay), as
// PagerDuty's own state would have them.
func (l *loop) relayed(body []byte) {
	var env struct {
		Event struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		} `json:"event"`
	}
	if json.Unmarshal(body, &env) != nil {
		return
	}
	var data struct {
		ID               string `json:"id"`
		Type             string `json:"type"`
		Number           int    `json:"number"`
		Status           string `json:"status"`
		Title            string `json:"title"`
		EscalationPolicy struct {
			ID string `json:"id"`
		} `json:"escalation_policy"`
		Assignees []struct {
			ID string `json:"id"`
		} `json:"assignees"`
	}
	if json.Unmarshal(env.Event.Data, &data) != nil || data.Type != "incident" || data.ID == "" {
		return
	}
	var assignees []string
	for _, a := range data.Assignees {
		assignees = append(assignees, a.ID)
	}
	l.mu.Lock()
	l.data[data.ID] = slices.Clone(env.Event.Data)
	newPolicy := data.EscalationPolicy.ID != "" && !l.policies[data.EscalationPolicy.ID]
	l.policies[data.EscalationPolicy.ID] = true
	l.mu.Unlock()
	if newPolicy {
		l.pd.AddPolicy(data.EscalationPolicy.ID, policyLevels, 0)
		l.pd.AddOnCall(data.EscalationPolicy.ID, level1User, 1)
		l.pd.AddOnCall(data.EscalationPolicy.ID, level2User, 2)
	}
	inc, known := l.pd.Incident(data.ID)
	switch {
	case !known:
		l.pd.AddIncident(pdfake.Incident{ID: data.ID, Number: data.Number, Title: data.Title, Status: data.Status,
			PolicyID: data.EscalationPolicy.ID, Assignees: assignees})
	case strings.HasPrefix(env.Event.ID, loopEventPrefix):
		// The fake's own change coming back: it is already in the fake.
	case inc.Status != data.Status && data.Status != "":
		inc.Status = data.Status
		if data.Status != "resolved" {
			inc.Assignees = assignees
		}
		l.pd.AddIncident(inc)
	}
}

// templates are the sample payloads a change's webhook is made from, by
// change kind.
var templates = func() map[string][]byte {
	out := map[string][]byte{}
	for _, t := range replay.Builtin() {
		out[t.Name] = t.Body
	}
	return out
}()

// eventTypes are the webhook event types of the changes.
var eventTypes = map[string]string{
	pdfake.ChangeAcknowledged: "incident.acknowledged",
	pdfake.ChangeResolved:     "incident.resolved",
	pdfake.ChangeEscalated:    "incident.escalated",
	pdfake.ChangeAnnotated:    "incident.annotated",
	pdfake.ChangeStatusUpdate: "incident.status_update_published",
}

// delivery is the webhook PagerDuty sends for c: the sample payload of its
// kind with a new event id, occurred_at, the acting user as the agent, and
// the incident as the function last saw it with the fake's status and
// assignees (or, for a note, a reference to it and the note).
func (l *loop) delivery(c change) (replay.Delivery, error) {
	kind := c.Kind
	if kind == pdfake.ChangeStatusUpdate {
		// Shaped like a note's event: a reference to the incident.
		kind = pdfake.ChangeAnnotated
	}
	tmpl, ok := templates[kind]
	if !ok {
		return replay.Delivery{}, fmt.Errorf("no webhook template for a change %q", c.Kind)
	}
	doc, err := decodeJSON(tmpl)
	if err != nil {
		return replay.Delivery{}, err
	}
	ev, _ := doc["event"].(map[string]any)
	l.mu.Lock()
	l.seq++
	seq := l.seq
	raw := l.data[c.IncidentID]
	l.mu.Unlock()

	d := replay.Delivery{
		IncidentID: c.IncidentID, Number: c.inc.Number, EventType: eventTypes[c.Kind], Name: c.Kind,
		EventID:   fmt.Sprintf("%s%08d", loopEventPrefix, seq),
		WebhookID: fmt.Sprintf("sandbox-%08d", seq),
	}
	ev["id"], ev["event_type"] = d.EventID, d.EventType
	ev["occurred_at"] = c.at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	ev["agent"] = l.userRef(c.UserID)

	// The incident as the function last saw it, else the template's with
	// the fake's id, number and title.
	data, _ := ev["data"].(map[string]any)
	if raw != nil {
		if m, err := decodeJSON(raw); err == nil {
			data = m
		}
	}
	if data == nil || data["type"] != "incident" {
		t, _ := decodeJSON(templates["acknowledged"])
		data, _ = t["event"].(map[string]any)["data"].(map[string]any)
		data["id"], data["number"] = c.IncidentID, c.inc.Number
		data["self"] = "https://api.pagerduty.com/incidents/" + c.IncidentID
		data["html_url"] = "https://acme.pagerduty.com/incidents/" + c.IncidentID
		if c.inc.Title != "" {
			data["title"] = c.inc.Title
		}
	}
	// A note and a status update reference the incident.
	title, _ := data["title"].(string)
	ref := map[string]any{
		"html_url": data["html_url"], "id": c.IncidentID, "self": data["self"],
		"summary": title, "type": "incident_reference",
	}
	switch c.Kind {
	case pdfake.ChangeStatusUpdate:
		ev["data"] = map[string]any{
			"incident": ref, "id": fmt.Sprintf("PSTATSANDBOX%d", seq), "message": c.Note, "trimmed": false, "type": "incident_status_update",
		}
	case pdfake.ChangeAnnotated:
		ev["data"] = map[string]any{
			"incident": ref, "id": l.noteID(c), "content": c.Note, "trimmed": false, "type": "incident_note",
		}
	default:
		data["status"] = c.inc.Status
		assignees := []any{}
		if c.inc.Status != "resolved" {
			for _, id := range c.inc.Assignees {
				assignees = append(assignees, l.userRef(id))
			}
		}
		data["assignees"] = assignees
		ev["data"] = data
	}
	body, err := encodeJSON(doc)
	if err != nil {
		return replay.Delivery{}, err
	}
	d.Body = body
	return d, nil
}

// noteID is the id the fake gave the note of c.
func (l *loop) noteID(c change) string {
	notes := l.pd.Notes(c.IncidentID)
	for i := len(notes) - 1; i >= 0; i-- {
		if notes[i].Content == c.Note && notes[i].UserID == c.UserID {
			return notes[i].ID
		}
	}
	return "PNOTESANDBOX"
}

// userRef is PagerDuty's reference to the user id.
func (l *loop) userRef(id string) map[string]any {
	return map[string]any{
		"html_url": "https://acme.pagerduty.com/users/" + id,
		"id":       id,
		"self":     "https://api.pagerduty.com/users/" + id,
		"summary":  l.names[id],
		"type":     "user_reference",
	}
}

// decodeJSON keeps numbers as they were written.
func decodeJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// encodeJSON writes compact JSON without HTML escaping, as PagerDuty does.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
