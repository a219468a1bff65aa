package pagerduty_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/pagerduty"
)

func TestParseTriggered(t *testing.T) {
	ev, err := pagerduty.Parse(readFile(t, "triggered.json"))
	if err != nil {
		t.Fatalf("pagerduty.Parse(triggered.json) error = %v", err)
	}
	want := &incident.Event{
		ID:         "01HT0TRIGGERED0000000000001",
		Type:       incident.EventTriggered,
		OccurredAt: time.Date(2026, 11, 23, 3, 0, 0, 120e6, time.UTC),
		Agent:      incident.Ref{ID: "PSVC001", Type: "service_reference", Summary: "Checkout API", HTMLURL: "https://acme.pagerduty.com/services/PSVC001"},
		IncidentID: "Q1CHECKOUT",
		Incident: incident.Snapshot{
			ID: "Q1CHECKOUT", Number: 1234, Title: "Checkout latency above 2s (p99)",
			Status: "triggered", Urgency: "high", Priority: "P2",
			HTMLURL:          "https://acme.pagerduty.com/incidents/Q1CHECKOUT",
			Service:          incident.Ref{ID: "PSVC001", Type: "service_reference", Summary: "Checkout API", HTMLURL: "https://acme.pagerduty.com/services/PSVC001"},
			EscalationPolicy: incident.Ref{ID: "PEP0001", Type: "escalation_policy_reference", Summary: "Checkout on-call", HTMLURL: "https://acme.pagerduty.com/escalation_policies/PEP0001"},
			Assignees:        []incident.Ref{{ID: "PUSER00", Type: "user_reference", Summary: "Ada Lovelace", HTMLURL: "https://acme.pagerduty.com/users/PUSER00"}},
			Teams:            []incident.Ref{{ID: "PTEAM01", Type: "team_reference", Summary: "Payments", HTMLURL: "https://acme.pagerduty.com/teams/PTEAM01"}},
			ConferenceURL:    "https://meet.example.com/checkout",
			ConferenceNumber: "+1 555-0100,,4242#",
			CreatedAt:        time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC),
			Complete:         true,
		},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("pagerduty.Parse(triggered.json) mismatch (-want +got):\n%s", diff)
	}
	if !ev.Handled() {
		t.Errorf("Handled() = false, want true")
	}
}

func TestParseTestdata(t *testing.T) {
	tests := []struct {
		file       string
		typ        string
		incidentID string
		handled    bool
		check      func(t *testing.T, ev *incident.Event)
	}{
		{"acknowledged.json", incident.EventAcknowledged, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Status != "acknowledged" || !ev.Incident.Complete {
				t.Errorf("status = %q complete = %v, want acknowledged, true", ev.Incident.Status, ev.Incident.Complete)
			}
		}},
		{"annotated.json", incident.EventAnnotated, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if !strings.HasPrefix(ev.Note, "Rolled back deploy 7f3a") {
				t.Errorf("Note = %q", ev.Note)
			}
			if ev.Incident.Complete || ev.Incident.Title != "Checkout latency above 2s (p99)" || ev.Incident.HTMLURL == "" {
				t.Errorf("reference snapshot = %+v, want incomplete with title and URL", ev.Incident)
			}
		}},
		{"escalated.json", incident.EventEscalated, "Q1CHECKOUT", true, nil},
		{"reassigned.json", incident.EventReassigned, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if got := incident.Names(ev.Incident.Assignees); got != "Grace Hopper, Alan Turing" {
				t.Errorf("assignees = %q", got)
			}
		}},
		{"priority_updated.json", incident.EventPriorityUpdated, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Priority != "P1" {
				t.Errorf("priority = %q, want P1", ev.Incident.Priority)
			}
		}},
		{"responder_added.json", incident.EventResponderAdded, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if ev.Responder.Summary != "Katherine Johnson" || ev.ResponderState != "pending" || ev.Message == "" {
				t.Errorf("responder = %+v state %q message %q", ev.Responder, ev.ResponderState, ev.Message)
			}
		}},
		{"status_update_published.json", incident.EventStatusUpdatePublished, "Q1CHECKOUT", true, func(t *testing.T, ev *incident.Event) {
			if ev.Message != "Mitigated by rollback; monitoring." {
				t.Errorf("Message = %q", ev.Message)
			}
		}},
		{"resolved.json", incident.EventResolved, "Q1CHECKOUT", true, nil},
		{"ping.json", incident.EventPing, "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := pagerduty.Parse(readFile(t, tt.file))
			if err != nil {
				t.Fatalf("pagerduty.Parse error = %v", err)
			}
			if ev.Type != tt.typ || ev.IncidentID != tt.incidentID || ev.Handled() != tt.handled {
				t.Errorf("pagerduty.Parse = type %q incident %q handled %v, want %q %q %v", ev.Type, ev.IncidentID, ev.Handled(), tt.typ, tt.incidentID, tt.handled)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, pagerduty.ErrMalformed},
		{"not json", `hello`, pagerduty.ErrMalformed},
		{"json array", `[1,2]`, pagerduty.ErrMalformed},
		{"no event", `{"foo":1}`, pagerduty.ErrMalformed},
		{"v2 messages", string(readFile(t, "v2.json")), pagerduty.ErrV2Payload},
		{"event without id", `{"event":{"event_type":"incident.triggered"}}`, pagerduty.ErrMalformed},
		{"bad occurred_at", `{"event":{"id":"e","event_type":"pagey.ping","occurred_at":"yesterday"}}`, pagerduty.ErrMalformed},
		{"incident event without data", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z"}}`, pagerduty.ErrMalformed},
		{"data of wrong type", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":"x"}}`, pagerduty.ErrMalformed},
		{"number as string", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"P1","type":"incident","number":"12"}}}`, pagerduty.ErrMalformed},
		{"incident without id", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident"}}}`, pagerduty.ErrMalformed},
		{"note without incident", `{"event":{"id":"e","event_type":"incident.annotated","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_note","content":"x"}}}`, pagerduty.ErrMalformed},
		{"handled without occurred_at", `{"event":{"id":"e","event_type":"incident.acknowledged","data":{"id":"P1","type":"incident"}}}`, pagerduty.ErrMalformed},
		{"trailing data", `{"event":{"id":"e","event_type":"pagey.ping"}} {}`, pagerduty.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := pagerduty.Parse([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Errorf("pagerduty.Parse(%.40q) = %v, %v; want error %v", tt.body, ev, err, tt.want)
			}
		})
	}
}

func TestParseIgnoresUnknown(t *testing.T) {
	tests := []string{
		`{"event":{"id":"e","event_type":"service.updated","resource_type":"service","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"PSVC","type":"service"}}}`,
		`{"event":{"id":"e","event_type":"incident.workflow.started","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_workflow_instance","incident":{"id":"P1"}},"new_field":[1]}}`,
		`{"event":{"id":"e","event_type":"incident.custom_field_values.updated","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_field_values"}}}`,
	}
	for _, body := range tests {
		ev, err := pagerduty.Parse([]byte(body))
		if err != nil {
			t.Fatalf("pagerduty.Parse(%.60q) error = %v, want nil", body, err)
		}
		if ev.Handled() {
			t.Errorf("pagerduty.Parse(%.60q).Handled() = true, want false", body)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"event":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := pagerduty.Parse(body)
		if err != nil {
			if ev != nil {
				t.Fatalf("pagerduty.Parse returned an event with error %v", err)
			}
			if !errors.Is(err, pagerduty.ErrMalformed) && !errors.Is(err, pagerduty.ErrV2Payload) {
				t.Fatalf("pagerduty.Parse error %v is neither pagerduty.ErrMalformed nor pagerduty.ErrV2Payload", err)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("pagerduty.Parse accepted an event without id or type: %+v", ev)
		}
		if ev.Handled() && (ev.IncidentID == "" || ev.OccurredAt.IsZero()) {
			t.Fatalf("handled event without incident id or time: %+v", ev)
		}
	})
}

func TestParseIncidentTypeChanged(t *testing.T) {
	for _, typ := range []string{"incident.incident_type.changed", "incident_type.changed"} {
		body := strings.Replace(string(readFile(t, "priority_updated.json")), "incident.priority_updated", typ, 1)
		ev, err := pagerduty.Parse([]byte(body))
		if err != nil {
			t.Fatalf("pagerduty.Parse(%s) error = %v", typ, err)
		}
		if ev.Type != incident.EventIncidentTypeChanged || !ev.Handled() {
			t.Errorf("pagerduty.Parse(%s) type = %q handled = %v, want %q handled", typ, ev.Type, ev.Handled(), incident.EventIncidentTypeChanged)
		}
	}
}

func TestParseRejectsUnusableIDs(t *testing.T) {
	for _, id := range []string{"a/b", "..", "__x__", strings.Repeat("x", 300), "a\x00b"} {
		body := fmt.Sprintf(`{"event":{"id":"e1","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"id":%q,"type":"incident"}}}`, id)
		if _, err := pagerduty.Parse([]byte(body)); !errors.Is(err, pagerduty.ErrMalformed) {
			t.Errorf("pagerduty.Parse(incident id %.20q) error = %v, want pagerduty.ErrMalformed", id, err)
		}
		body = fmt.Sprintf(`{"event":{"id":%q,"event_type":"pagey.ping","occurred_at":"2026-01-01T00:00:00Z","data":{}}}`, id)
		if _, err := pagerduty.Parse([]byte(body)); !errors.Is(err, pagerduty.ErrMalformed) {
			t.Errorf("pagerduty.Parse(event id %.20q) error = %v, want pagerduty.ErrMalformed", id, err)
		}
	}
}

func TestParseUnhandledIncidentEventUnread(t *testing.T) {
	body := `{"event":{"id":"e1","event_type":"incident.custom_field_values.updated","occurred_at":"2026-01-01T00:00:00Z","data":{"id":5,"number":"x","incident":"y"}}}`
	ev, err := pagerduty.Parse([]byte(body))
	if err != nil {
		t.Fatalf("pagerduty.Parse(unhandled type, unknown data shape) error = %v, want none: it is acknowledged unread", err)
	}
	if ev.Handled() {
		t.Errorf("Handled() = true, want false")
	}
}
