// Package pagerduty is everything that speaks to or for PagerDuty.
//
// The V3 webhook wire: it checks the X-PagerDuty-Signature of a request,
// parses its body into an incident.Event and serves the webhook endpoint
// that hands events to the service.
//
// The REST API v2 client (Client): the user look-ups, the actions
// responders take from Slack (acknowledge, resolve, escalate, annotate as
// a PagerDuty user, the From header), the back-link note, and the webhook
// subscriptions cmd/pdwebhook manages. It speaks plain net/http and
// encoding/json, so every header and body is what PagerDuty documents.
// Every failure is an *incident.Error classified where it enters, with a
// 429's wait in its RetryAfter; Explain turns one into a sentence a
// responder can read.
package pagerduty

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/incident-channels/incident-channels/incident"
)

// MaxBodyBytes is the largest body PagerDuty ever sends (256 KiB); a larger
// one is answered with 413 without being read to its end.
const MaxBodyBytes = 256 << 10

// Parse errors. The HTTP handler answers them with 400 (the body was signed,
// so PagerDuty sent it, but no retry would make it valid).
var (
	// ErrMalformed means the body lacks what the function cannot work
	// without: a V3 envelope with an event object, its id and type, and for
	// the incident events the service acts on, their time and incident id.
	ErrMalformed = errors.New("malformed webhook body")
	// ErrV2Payload means the body is a legacy V2 webhook ({"messages":[…]}).
	ErrV2Payload = errors.New("V2 webhook payloads are not supported: create a V3 webhook subscription")
)

// eventIncidentTypeChangedShort is how the design notes spelt
// incident.EventIncidentTypeChanged; it is accepted as the same event.
const eventIncidentTypeChangedShort = "incident_type.changed"

// Parse decodes a V3 webhook body. It returns ErrV2Payload for legacy V2
// bodies and ErrMalformed (wrapped with the reason) when the body lacks
// what the function cannot work without (see ErrMalformed).
//
// Everything else is read leniently, because PagerDuty drops a 4xx without
// retry and disables a subscription after three: real deliveries differ
// from the documentation (a conference number sent as a JSON number, an
// agent that is an integration, null where an object was promised). A
// field of an unexpected JSON type or shape is left at its zero value and
// its path (like "data.conference_bridge.conference_number", or
// "data.assignees[]" for an element) is returned in ignored, each once;
// values are never returned. Unknown fields are not read, and the data of
// event types the service does not act on (pagey.ping, service.*, …) is
// not read at all: Handled reports whether an event matters.
func Parse(body []byte) (ev *incident.Event, ignored []string, err error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, jsonReason(err))
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	if isNull(top["event"]) {
		if !isNull(top["messages"]) {
			return nil, nil, ErrV2Payload
		}
		return nil, nil, fmt.Errorf("%w: no \"event\" object", ErrMalformed)
	}
	r := &reader{}
	e, ok := r.decode(top["event"])
	if !ok {
		return nil, nil, fmt.Errorf("%w: \"event\" is not an object", ErrMalformed)
	}
	ev = &incident.Event{ID: e.required("id"), Type: e.required("event_type")}
	if ev.ID == "" || ev.Type == "" {
		return nil, nil, fmt.Errorf("%w: event.id and event.event_type must be strings", ErrMalformed)
	}
	if !validID(ev.ID) {
		return nil, nil, fmt.Errorf("%w: event.id %.40q is not an id", ErrMalformed, ev.ID)
	}
	if ev.Type == eventIncidentTypeChangedShort {
		ev.Type = incident.EventIncidentTypeChanged
	}
	ev.Agent = e.object("agent").ref()
	if !incident.HandledType(ev.Type) {
		// pagey.ping, service.*, incident events the service does not act
		// on (roles, tasks, action invocations…): acknowledged unread.
		ev.OccurredAt, _ = e.time("occurred_at")
		return ev, r.ignored, nil
	}
	// The service orders an incident's events by their time and keeps a
	// record of each until a time after it: without one it can do neither.
	var valid bool
	if ev.OccurredAt, valid = e.time("occurred_at"); !valid {
		return nil, nil, fmt.Errorf("%w: %s needs event.occurred_at, an RFC 3339 time", ErrMalformed, ev.Type)
	}
	d, ok := r.decode(e.fields["data"])
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s needs event.data, an object", ErrMalformed, ev.Type)
	}
	d.path = "data"
	if err := fillIncident(ev, d); err != nil {
		return nil, nil, err
	}
	if !validID(ev.IncidentID) {
		return nil, nil, fmt.Errorf("%w: incident id %.40q is not an id", ErrMalformed, ev.IncidentID)
	}
	return ev, r.ignored, nil
}

// fillIncident reads the incident of a handled event from its data: the
// incident itself (data.type "incident"), or a sub-resource of one (note,
// responder, status update, conference bridge, custom field values, a
// workflow run) that references it.
func fillIncident(ev *incident.Event, d object) error {
	if d.str("type") == "incident" {
		ev.IncidentID = d.required("id")
		if ev.IncidentID == "" {
			return fmt.Errorf("%w: %s: data.id must be a string", ErrMalformed, ev.Type)
		}
		inc := incident.Snapshot{
			ID:               ev.IncidentID,
			Number:           d.integer("number"),
			Title:            d.str("title"),
			Status:           incident.Status(d.str("status")),
			Urgency:          incident.Urgency(d.str("urgency")),
			HTMLURL:          d.str("html_url"),
			Service:          d.object("service").ref(),
			EscalationPolicy: d.object("escalation_policy").ref(),
			Assignees:        d.refs("assignees"),
			Teams:            d.refs("teams"),
			Priority:         d.object("priority").str("summary"),
			Complete:         true,
		}
		if t := d.object("incident_type"); !t.empty() {
			inc.IncidentType = cmp.Or(t.str("summary"), t.str("name"))
		}
		bridge := d.object("conference_bridge")
		inc.ConferenceURL, inc.ConferenceNumber = bridge.str("conference_url"), bridge.text("conference_number")
		inc.CreatedAt, _ = d.time("created_at")
		if rr := d.object("resolve_reason"); rr.str("type") == "merge_resolve_reason" {
			inc.MergedInto = rr.object("incident").ref()
		}
		ev.Incident = inc
		return nil
	}
	if ev.Type == incident.EventRoleAssigned {
		// The assignments each reference the incident; the first names it.
		assignments := d.objects("incident_role_assignments")
		if len(assignments) == 0 {
			return fmt.Errorf("%w: %s: data.incident_role_assignments must list the roles given", ErrMalformed, ev.Type)
		}
		for _, a := range assignments {
			ev.Roles = append(ev.Roles, incident.Role{Name: a.object("role").str("summary"), Assignee: a.object("assignee").ref()})
		}
		d = assignments[0]
	}
	ref := d.object("incident")
	ev.IncidentID = ref.required("id")
	if ev.IncidentID == "" {
		return fmt.Errorf("%w: %s: data.incident.id must be a string", ErrMalformed, ev.Type)
	}
	ev.Incident = incident.Snapshot{ID: ev.IncidentID, Title: ref.str("summary"), HTMLURL: ref.str("html_url")}
	ev.Note = d.str("content")
	ev.Message = d.str("message")
	ev.Responder = d.object("user").ref()
	ev.ResponderState = incident.ResponderState(d.str("state"))
	if ev.Type == incident.EventConferenceBridgeUpdated {
		ev.Incident.ConferenceURL, ev.Incident.ConferenceNumber = conferenceBridge(d)
	}
	for _, f := range d.objects("changed_custom_fields") {
		ev.Fields = append(ev.Fields, incident.FieldValue{Name: cmp.Or(f.str("display_name"), f.str("name")), Value: f.fieldValue("value")})
	}
	ev.Workflow = d.object("incident_workflow").ref()
	return nil
}

// fieldValue returns a custom field's value as text: a string, a number
// or a boolean as written, a list (a multi-value field) joined with
// commas.
func (o object) fieldValue(key string) string {
	raw := bytes.TrimSpace(o.fields[key])
	var list []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
		var vs []string
		for _, v := range list {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(bytes.TrimSpace(v))
			}
			vs = append(vs, s)
		}
		return strings.Join(vs, ", ")
	}
	if len(raw) > 0 && (raw[0] == 't' || raw[0] == 'f') {
		return string(raw)
	}
	return o.text(key)
}

// conferenceBridge reads the bridge of an incident_conference_bridge,
// which PagerDuty has sent flat (conference_url, conference_number or a
// conference_numbers list) and nested (conference_bridge).
func conferenceBridge(d object) (url, number string) {
	if b := d.object("conference_bridge"); !b.empty() {
		return b.str("conference_url"), b.text("conference_number")
	}
	url, number = d.str("conference_url"), d.text("conference_number")
	if number == "" {
		if numbers := d.objects("conference_numbers"); len(numbers) > 0 {
			number = numbers[0].text("number")
		}
	}
	return url, number
}

// reader collects the paths of the values Parse had to ignore.
type reader struct {
	ignored []string
}

func (r *reader) ignore(path string) {
	if !slices.Contains(r.ignored, path) {
		r.ignored = append(r.ignored, path)
	}
}

// decode reads raw as a JSON object; ok is false for null, a missing
// value or any other JSON type.
func (r *reader) decode(raw json.RawMessage) (o object, ok bool) {
	o.r = r
	if isNull(raw) || json.Unmarshal(raw, &o.fields) != nil {
		return o, false
	}
	return o, true
}

// object is one JSON object whose fields are read leniently. Its path
// ("data.conference_bridge") names what is ignored; the zero object (a
// missing or null value) has no fields, and reading it notes nothing.
type object struct {
	r      *reader
	path   string
	fields map[string]json.RawMessage
}

func (o object) empty() bool { return len(o.fields) == 0 }

func (o object) name(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// value decodes the field key into v. A missing or null field leaves v
// alone; one of another type is noted as ignored.
func (o object) value(key string, v any) bool {
	raw, ok := o.fields[key]
	if !ok || isNull(raw) {
		return false
	}
	if json.Unmarshal(raw, v) != nil {
		o.r.ignore(o.name(key))
		return false
	}
	return true
}

// str returns the field key if it is a string.
func (o object) str(key string) string {
	var s string
	o.value(key, &s)
	return s
}

// required returns the field key if it is a string, and notes nothing:
// the caller rejects the body without it.
func (o object) required(key string) string {
	var s string
	_ = json.Unmarshal(o.fields[key], &s)
	return s
}

// text returns the field key if it is a string, or the digits of a
// number: PagerDuty has sent conference numbers both ways.
func (o object) text(key string) string {
	var v json.Number
	raw := bytes.TrimSpace(o.fields[key])
	if len(raw) > 0 && raw[0] != '"' && json.Unmarshal(raw, &v) == nil {
		return v.String()
	}
	return o.str(key)
}

// integer returns the field key if it is a JSON number that is an int.
func (o object) integer(key string) int {
	var n int
	o.value(key, &n)
	return n
}

// time returns the field key as an RFC 3339 time in UTC, and whether it
// was one.
func (o object) time(key string) (time.Time, bool) {
	s := o.str(key)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.r.ignore(o.name(key))
		return time.Time{}, false
	}
	return t.UTC(), true
}

// object returns the field key if it is an object.
func (o object) object(key string) object {
	raw := o.fields[key]
	sub, ok := o.r.decode(raw)
	if !ok && !isNull(raw) {
		o.r.ignore(o.name(key))
	}
	sub.path = o.name(key)
	return sub
}

// objects returns the elements of the field key, a list of objects; an
// element of another type is skipped and noted.
func (o object) objects(key string) []object {
	var raws []json.RawMessage
	if !o.value(key, &raws) {
		return nil
	}
	out := make([]object, 0, len(raws))
	for _, raw := range raws {
		sub, ok := o.r.decode(raw)
		if !ok {
			if !isNull(raw) {
				o.r.ignore(o.name(key) + "[]")
			}
			continue
		}
		sub.path = o.name(key) + "[]"
		out = append(out, sub)
	}
	return out
}

// ref reads a PagerDuty reference (user, service, escalation policy,
// team, integration, incident…): whatever fields of one are there.
func (o object) ref() incident.Ref {
	if o.empty() {
		return incident.Ref{}
	}
	return incident.Ref{ID: o.str("id"), Type: o.str("type"), Summary: o.str("summary"), HTMLURL: o.str("html_url")}
}

// refs reads the field key, a list of references.
func (o object) refs(key string) []incident.Ref {
	var out []incident.Ref
	for _, sub := range o.objects(key) {
		out = append(out, sub.ref())
	}
	return out
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
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
		return fmt.Sprintf("expected a JSON object, got JSON %s", typ.Value)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return err.Error()
}
