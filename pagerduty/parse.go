// Package pagerduty speaks PagerDuty's V3 webhook wire format: it checks
// the X-PagerDuty-Signature of a request, parses its body into an
// incident.Event and serves the webhook endpoint that hands events to the
// service.
package pagerduty

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/incident-channels/incident-channels/incident"
)

// eventIncidentTypeChangedShort is how the design notes spelt
// incident.EventIncidentTypeChanged; it is accepted as the same event.
const eventIncidentTypeChangedShort = "incident_type.changed"

// MaxBodyBytes is the largest body PagerDuty ever sends (256 KiB); a larger
// one is answered with 413 without being read to its end.
const MaxBodyBytes = 256 << 10

// Parse errors. The HTTP handler answers them with 400 (the body was signed,
// so PagerDuty sent it, but no retry would make it valid).
var (
	// ErrMalformed means the body is not a V3 webhook envelope.
	ErrMalformed = errors.New("malformed webhook body")
	// ErrV2Payload means the body is a legacy V2 webhook ({"messages":[…]}).
	ErrV2Payload = errors.New("V2 webhook payloads are not supported: create a V3 webhook subscription")
)

type wireRef struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

func (r *wireRef) ref() incident.Ref {
	if r == nil {
		return incident.Ref{}
	}
	return incident.Ref{ID: r.ID, Type: r.Type, Summary: r.Summary, HTMLURL: r.HTMLURL}
}

type wireEnvelope struct {
	Event    *wireEvent      `json:"event"`
	Messages json.RawMessage `json:"messages"`
}

type wireEvent struct {
	ID           string          `json:"id"`
	EventType    string          `json:"event_type"`
	ResourceType string          `json:"resource_type"`
	OccurredAt   string          `json:"occurred_at"`
	Agent        *wireRef        `json:"agent"`
	Data         json.RawMessage `json:"data"`
}

// wireData holds the fields of every event data type the service reads:
// incident, incident_note, incident_responder, incident_status_update and
// incident_conference_bridge.
type wireData struct {
	ID               string    `json:"id"`
	Type             string    `json:"type"`
	HTMLURL          string    `json:"html_url"`
	Number           int       `json:"number"`
	Status           string    `json:"status"`
	Title            string    `json:"title"`
	CreatedAt        string    `json:"created_at"`
	Urgency          string    `json:"urgency"`
	Service          *wireRef  `json:"service"`
	Assignees        []wireRef `json:"assignees"`
	EscalationPolicy *wireRef  `json:"escalation_policy"`
	Teams            []wireRef `json:"teams"`
	Priority         *wireRef  `json:"priority"`
	IncidentType     *wireType `json:"incident_type"`
	ConferenceBridge *wireConf `json:"conference_bridge"`
	ConferenceURL    string    `json:"conference_url"`
	ConferenceNumber string    `json:"conference_number"`
	Incident         *wireRef  `json:"incident"`
	Content          string    `json:"content"`
	Message          string    `json:"message"`
	User             *wireRef  `json:"user"`
	State            string    `json:"state"`
}

type wireType struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

type wireConf struct {
	ConferenceNumber string `json:"conference_number"`
	ConferenceURL    string `json:"conference_url"`
}

// Parse decodes a V3 webhook body. It returns ErrV2Payload for legacy V2
// bodies and ErrMalformed (wrapped with the reason) for anything that is not
// a V3 envelope. Unknown event types parse without error: Handled reports
// whether they matter. Unknown fields are ignored.
func Parse(body []byte) (*incident.Event, error) {
	var env wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, jsonReason(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	if env.Event == nil {
		if len(env.Messages) > 0 {
			return nil, ErrV2Payload
		}
		return nil, fmt.Errorf("%w: no \"event\" object", ErrMalformed)
	}
	w := env.Event
	if w.ID == "" || w.EventType == "" {
		return nil, fmt.Errorf("%w: event.id and event.event_type are required", ErrMalformed)
	}
	if !validID(w.ID) {
		return nil, fmt.Errorf("%w: event.id %.40q is not an id", ErrMalformed, w.ID)
	}
	ev := &incident.Event{ID: w.ID, Type: w.EventType, Agent: w.Agent.ref()}
	if ev.Type == eventIncidentTypeChangedShort {
		ev.Type = incident.EventIncidentTypeChanged
	}
	if w.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.OccurredAt)
		if err != nil {
			return nil, fmt.Errorf("%w: event.occurred_at %q is not an RFC 3339 time", ErrMalformed, w.OccurredAt)
		}
		ev.OccurredAt = t.UTC()
	}
	if !incident.HandledType(ev.Type) {
		// pagey.ping, service.*, incident events the service does not act
		// on (field values, tasks, workflows…): acknowledged unread, so a
		// shape this parser does not know never earns a 400 (three in a
		// row disable the subscription).
		return ev, nil
	}
	if len(w.Data) == 0 || string(w.Data) == "null" {
		return nil, fmt.Errorf("%w: %s without event.data", ErrMalformed, w.EventType)
	}
	var d wireData
	if err := json.Unmarshal(w.Data, &d); err != nil {
		return nil, fmt.Errorf("%w: event.data: %v", ErrMalformed, jsonReason(err))
	}
	if err := fillIncident(ev, &d); err != nil {
		return nil, err
	}
	if ev.IncidentID != "" && !validID(ev.IncidentID) {
		return nil, fmt.Errorf("%w: incident id %.40q is not an id", ErrMalformed, ev.IncidentID)
	}
	if ev.OccurredAt.IsZero() {
		return nil, fmt.Errorf("%w: event.occurred_at is required", ErrMalformed)
	}
	return ev, nil
}

func fillIncident(ev *incident.Event, d *wireData) error {
	if d.Type == "incident" {
		if d.ID == "" {
			return fmt.Errorf("%w: %s: data.id is empty", ErrMalformed, ev.Type)
		}
		ev.IncidentID = d.ID
		inc := incident.Snapshot{
			ID:               d.ID,
			Number:           d.Number,
			Title:            d.Title,
			Status:           d.Status,
			Urgency:          d.Urgency,
			HTMLURL:          d.HTMLURL,
			Service:          d.Service.ref(),
			EscalationPolicy: d.EscalationPolicy.ref(),
			Complete:         true,
		}
		if d.Priority != nil {
			inc.Priority = d.Priority.Summary
		}
		if d.IncidentType != nil {
			inc.IncidentType = cmp.Or(d.IncidentType.Summary, d.IncidentType.Name)
		}
		if d.ConferenceBridge != nil {
			inc.ConferenceURL = d.ConferenceBridge.ConferenceURL
			inc.ConferenceNumber = d.ConferenceBridge.ConferenceNumber
		}
		for i := range d.Assignees {
			inc.Assignees = append(inc.Assignees, d.Assignees[i].ref())
		}
		for i := range d.Teams {
			inc.Teams = append(inc.Teams, d.Teams[i].ref())
		}
		if d.CreatedAt != "" {
			t, err := time.Parse(time.RFC3339Nano, d.CreatedAt)
			if err != nil {
				return fmt.Errorf("%w: data.created_at %q is not an RFC 3339 time", ErrMalformed, d.CreatedAt)
			}
			inc.CreatedAt = t.UTC()
		}
		ev.Incident = inc
		return nil
	}
	// A sub-resource of an incident: note, responder, status update,
	// conference bridge, field values, tasks… The incident is a reference.
	if d.Incident == nil || d.Incident.ID == "" {
		return fmt.Errorf("%w: %s: data.incident.id is missing", ErrMalformed, ev.Type)
	}
	ev.IncidentID = d.Incident.ID
	ev.Incident = incident.Snapshot{ID: d.Incident.ID, Title: d.Incident.Summary, HTMLURL: d.Incident.HTMLURL}
	ev.Note = d.Content
	ev.Message = d.Message
	ev.Responder = d.User.ref()
	ev.ResponderState = d.State
	if ev.Type == incident.EventConferenceBridgeUpdated {
		ev.Incident.ConferenceURL = d.ConferenceURL
		ev.Incident.ConferenceNumber = d.ConferenceNumber
		if d.ConferenceBridge != nil {
			ev.Incident.ConferenceURL = d.ConferenceBridge.ConferenceURL
			ev.Incident.ConferenceNumber = d.ConferenceBridge.ConferenceNumber
		}
	}
	return nil
}

// maxIDBytes bounds event and incident ids. PagerDuty's are a few dozen
// characters; the store keys documents by them.
const maxIDBytes = 256

// validID reports whether s can be an event or incident id: a signed body
// with an id no store can key by is malformed (400), not a failure worth
// two days of redeliveries.
func validID(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > maxIDBytes || !utf8.ValidString(s) ||
		strings.ContainsAny(s, "/") || (len(s) >= 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__")) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// jsonReason shortens encoding/json errors to what a sender can act on.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return err.Error()
}
