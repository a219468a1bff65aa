package pagerduty_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

func TestParseTriggered(t *testing.T) {
	t.Parallel()
	ev, ignored, err := pagerduty.Parse(readFile(t, "triggered.json"))
	if err != nil {
		t.Fatalf("Parse(triggered.json) error = %v", err)
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
		t.Errorf("Parse(triggered.json) mismatch (-want +got):\n%s", diff)
	}
	if len(ignored) != 0 {
		t.Errorf("Parse(triggered.json) ignored %q, want nothing", ignored)
	}
	if !ev.Handled() {
		t.Errorf("Handled() = false, want true")
	}
}

// TestParseFixtures parses every body in testdata (PROVENANCE says where
// each comes from): PagerDuty's published samples and public captures of
// every incident event type must parse, with their key fields read.
func TestParseFixtures(t *testing.T) {
	t.Parallel()
	type row struct {
		id, typ, incident string
		number            int
		title             string
		status            incident.Status
		handled           bool
		check             func(t *testing.T, ev *incident.Event)
	}
	const (
		docsID     = "5ac64822-4adc-4fda-ade0-410becf0de4f"
		docsTitle  = "A little bump in the road"
		zulipTitle = "Critical: Checkout API High Latency"
		ours       = "Checkout latency above 2s (p99)"
	)
	tests := map[string]row{
		// Written for this project.
		"triggered.json":    {"01HT0TRIGGERED0000000000001", incident.EventTriggered, "Q1CHECKOUT", 1234, ours, "triggered", true, nil},
		"acknowledged.json": {"01HT0ACK000000000000000002", incident.EventAcknowledged, "Q1CHECKOUT", 1234, ours, "acknowledged", true, nil},
		"annotated.json": {"01HT0NOTE00000000000000003", incident.EventAnnotated, "Q1CHECKOUT", 0, ours, "", true, func(t *testing.T, ev *incident.Event) {
			if !strings.HasPrefix(ev.Note, "Rolled back deploy 7f3a") || ev.Incident.Complete || ev.Incident.HTMLURL == "" {
				t.Errorf("note %q, reference %+v: want the note and an incomplete snapshot with a URL", ev.Note, ev.Incident)
			}
		}},
		"escalated.json": {"01HT0ESC000000000000000004", incident.EventEscalated, "Q1CHECKOUT", 1234, ours, "acknowledged", true, nil},
		"reassigned.json": {"01HT0REASSIGN0000000000005", incident.EventReassigned, "Q1CHECKOUT", 1234, ours, "acknowledged", true, func(t *testing.T, ev *incident.Event) {
			if got := incident.Names(ev.Incident.Assignees); got != "Grace Hopper, Alan Turing" {
				t.Errorf("assignees = %q, want Grace Hopper, Alan Turing", got)
			}
		}},
		"priority_updated.json": {"01HT0PRIO0000000000000006", incident.EventPriorityUpdated, "Q1CHECKOUT", 1234, ours, "acknowledged", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Priority != "P1" {
				t.Errorf("priority = %q, want P1", ev.Incident.Priority)
			}
		}},
		"responder_added.json": {"01HT0RESP0000000000000007", incident.EventResponderAdded, "Q1CHECKOUT", 0, ours, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Responder.Summary != "Katherine Johnson" || ev.ResponderState != "pending" || ev.Message == "" {
				t.Errorf("responder = %+v state %q message %q", ev.Responder, ev.ResponderState, ev.Message)
			}
		}},
		"status_update_published.json": {"01HT0STATUS00000000000008", incident.EventStatusUpdatePublished, "Q1CHECKOUT", 0, ours, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Message != "Mitigated by rollback; monitoring." {
				t.Errorf("message = %q", ev.Message)
			}
		}},
		"resolved.json": {"01HT0RESOLVED000000000009", incident.EventResolved, "Q1CHECKOUT", 1234, ours, "resolved", true, nil},
		"ping.json":     {"01HT0PING0000000000000000", incident.EventPing, "", 0, "", "", false, nil},

		// Published by PagerDuty.
		"samples/docs_priority_updated.json": {docsID, incident.EventPriorityUpdated, "PGR0VU2", 2, docsTitle, "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Priority != "P1" || ev.Incident.ConferenceNumber != "+1 1234123412,,987654321#" || ev.Agent.Summary != "Tenex Engineer" {
				t.Errorf("priority %q, conference number %q, agent %+v", ev.Incident.Priority, ev.Incident.ConferenceNumber, ev.Agent)
			}
		}},
		"samples/docs_service_updated.json": {"01BRB6ZP4M6T8ZG4X6BP63ZB9O", "service.updated", "", 0, "", "", false, nil},
		"samples/docs_triggered.json":       {"01J0D0CS0TR1GGERED00000001", incident.EventTriggered, "PGR0VU2", 2, docsTitle, "triggered", true, nil},
		"samples/docs_incident_type_changed.json": {"01J0D0CS0TYPECHANGED000002", incident.EventIncidentTypeChanged, "PGR0VU2", 2, docsTitle, "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.IncidentType != "major" {
				t.Errorf("incident type = %q, want major", ev.Incident.IncidentType)
			}
		}},
		"samples/docs_resolved_merged.json": {"01J0D0CS0RES0LVED000000003", incident.EventResolved, "PGR0VU2", 2, docsTitle, "resolved", true, func(t *testing.T, ev *incident.Event) {
			if m := ev.Incident.MergedInto; m.ID != "PSURV1V" || m.Summary != "The surviving incident" || m.HTMLURL == "" {
				t.Errorf("merged into %+v, want the surviving incident PSURV1V", m)
			}
		}},
		"samples/docs_conference_bridge_updated.json": {"01J0D0CS0BR1DGE00000000004", incident.EventConferenceBridgeUpdated, "PGR0VU2", 0, "Major incident - customer shopping cart screen", "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.ConferenceURL != "https://example.com" || ev.Incident.ConferenceNumber != "+1-555-555-5555" {
				t.Errorf("bridge = %q %q, want the URL and the first of conference_numbers", ev.Incident.ConferenceURL, ev.Incident.ConferenceNumber)
			}
		}},
		"samples/docs_annotated.json": {"01J0D0CS0N0TE0000000000005", incident.EventAnnotated, "PGR0VU2", 0, docsTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Note != "I sure am glad we are using PagerDuty!" {
				t.Errorf("note = %q", ev.Note)
			}
		}},
		"samples/docs_status_update_published.json": {"01J0D0CS0STATUS00000000006", incident.EventStatusUpdatePublished, "PGR0VU2", 0, docsTitle, "", true, nil},
		"samples/docs_responder_added.json": {"01J0D0CS0RESP0NDER00000007", incident.EventResponderAdded, "PGR0VU2", 0, docsTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Responder.Summary != "Maeve" || ev.ResponderState != "pending" {
				t.Errorf("responder %+v state %q, want Maeve pending", ev.Responder, ev.ResponderState)
			}
		}},
		"samples/docs_custom_field_values_updated.json": {"01J0D0CS0F1ELDS0000000008", incident.EventCustomFieldsUpdated, "PBAZLIU", 0, "", "", true, func(t *testing.T, ev *incident.Event) {
			if want := []incident.FieldValue{{Name: "environment", Value: "staging"}}; !slices.Equal(ev.Fields, want) {
				t.Errorf("fields = %v, want only the changed one, %v", ev.Fields, want)
			}
		}},
		"samples/docs_role_assigned.json": {"01J0D0CS0R0LE0000000000009", incident.EventRoleAssigned, "PBAZLIU", 0, "", "", true, func(t *testing.T, ev *incident.Event) {
			want := []incident.Role{{Name: "Role Display Name", Assignee: incident.Ref{ID: "P75B6QD", Type: "user_reference", Summary: "User 1810194", HTMLURL: "https://acme.pagerduty.com/users/P75B6QD"}}}
			if !slices.Equal(ev.Roles, want) {
				t.Errorf("roles = %+v, want %+v", ev.Roles, want)
			}
		}},
		"samples/docs_task_created.json": {"01J0D0CS0TASK000000000010", "incident.task.created", "", 0, "", "", false, nil},
		"samples/docs_workflow_started.json": {"01J0D0CS0W0RKFL0W00000011", incident.EventWorkflowStarted, "PBAZLIU", 0, docsTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Workflow.Summary != "A Workflow Name" {
				t.Errorf("workflow = %+v, want A Workflow Name", ev.Workflow)
			}
		}},
		"samples/docs_action_invocation_created.json": {"01J0D0CS0ACT10N0000000012", "incident.action_invocation.created", "", 0, "", "", false, nil},
		"samples/go-pagerduty_priority_updated.json": {"01BWDWL3NYY7LUFPZCC28QUCMK", incident.EventPriorityUpdated, "PGR0VU2", 2, docsTitle, "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.ConferenceNumber != "1000" || ev.Incident.ConferenceURL != "https://example.com" {
				t.Errorf("bridge = %q %q, want the number 1000 kept as text", ev.Incident.ConferenceURL, ev.Incident.ConferenceNumber)
			}
		}},

		// Public captures.
		"captures/zulip_triggered.json": {"01BZYIL05THJDFF2Y08X9SVMTU", incident.EventTriggered, "PFQZPSY", 9, "Test Incident 3", "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Priority != "" || ev.Incident.ConferenceURL != "" || len(ev.Incident.Teams) != 0 {
				t.Errorf("snapshot %+v: want no priority, bridge or teams (all null or empty)", ev.Incident)
			}
		}},
		"captures/zulip_acknowledged.json":   {"01BZYK8N47N5JG55J1EEEHPEJI", incident.EventAcknowledged, "PQ1K5C8", 10, "Test Incident", "acknowledged", true, nil},
		"captures/zulip_unacknowledged.json": {"01BZYK5B3WC0QI62S87MJX7FCD", incident.EventUnacknowledged, "PQ1K5C8", 10, "Test Incident", "triggered", true, nil},
		"captures/zulip_resolved.json": {"01BZYH1JJY09P9LEIST8HG2PMN", incident.EventResolved, "PCPZE64", 6, "Test Incident", "resolved", true, func(t *testing.T, ev *incident.Event) {
			if len(ev.Incident.Assignees) != 0 {
				t.Errorf("assignees = %v, want none", ev.Incident.Assignees)
			}
		}},
		"captures/zulip_reopened.json": {"01GI0KHLHVH4YZ44BJY1VLT6F2", incident.EventReopened, "Q05XJA8GDXGOB3", 4, "Test Incident 2", "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.IncidentType != "security_default" || ev.Incident.Priority != "P3" {
				t.Errorf("type %q priority %q, want security_default P3", ev.Incident.IncidentType, ev.Incident.Priority)
			}
		}},
		"captures/zulip_escalated.json":        {"01GI0JWUU28G8XE5M6IIT4BZ39", incident.EventEscalated, "Q3B15VLMF3ASBD", 5, zulipTitle, "triggered", true, nil},
		"captures/zulip_reassigned.json":       {"01BZY282OVDQMFPDC3VB98DR1L", incident.EventReassigned, "PIQUG8X", 3, "Test Incident", "triggered", true, nil},
		"captures/zulip_delegated.json":        {"01GI0KCK1VJGU2A90B814E1RF0", incident.EventDelegated, "Q3B15VLMF3ASBD", 5, zulipTitle, "triggered", true, nil},
		"captures/zulip_priority_updated.json": {"01GI0KJAEAC3CFEOFSC8BIJF3O", incident.EventPriorityUpdated, "Q3B15VLMF3ASBD", 5, zulipTitle, "triggered", true, nil},
		"captures/zulip_annotated.json":        {"01GI0KTE33V5QXBVIJDEVJFUNE", incident.EventAnnotated, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, nil},
		"captures/zulip_responder_added.json":  {"01GI0KX4BFZXPEDNCS4USCAH22", incident.EventResponderAdded, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, nil},
		"captures/zulip_responder_replied.json": {"01GI0L22UIJYVH9Y2II3TNPVER", incident.EventResponderReplied, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.ResponderState != "accepted" || ev.Responder.ID != "PXRUEF2" {
				t.Errorf("responder %+v state %q, want PXRUEF2 accepted", ev.Responder, ev.ResponderState)
			}
		}},
		"captures/zulip_status_update_published.json": {"01GI0KPHX6I892N2PFKDLH25XK", incident.EventStatusUpdatePublished, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, nil},
		"captures/zulip_conference_bridge_updated.json": {"01GI0KX5GCRKLDQFLNMGZ30JV2", incident.EventConferenceBridgeUpdated, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.ConferenceURL != "https://example.com/123-456-789" || ev.Incident.ConferenceNumber != "" {
				t.Errorf("bridge = %q %q, want the URL and no number", ev.Incident.ConferenceURL, ev.Incident.ConferenceNumber)
			}
		}},
		"captures/zulip_service_updated.json": {"01GI0LMGIAVNHQJISNPO1RZRT5", incident.EventServiceUpdated, "Q3B15VLMF3ASBD", 5, zulipTitle, "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.Service.Summary != "APIs" {
				t.Errorf("service = %+v, want APIs", ev.Incident.Service)
			}
		}},
		"captures/zulip_workflow_started.json": {"32743190385439511823355034091750713370", incident.EventWorkflowStarted, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, nil},
		"captures/zulip_workflow_completed.json": {"32743191412443541367815146404898342710", incident.EventWorkflowCompleted, "Q3B15VLMF3ASBD", 0, zulipTitle, "", true, func(t *testing.T, ev *incident.Event) {
			if ev.Workflow.Summary != "Incident WorkFlow" {
				t.Errorf("workflow = %+v, want Incident WorkFlow (the instance has no summary)", ev.Workflow)
			}
		}},
		"captures/zulip_service_created.json": {"01DFJKL2Q3MNOP4RSTUV5WXYZ1", "service.created", "", 0, "", "", false, nil},
		"captures/aldaviva_ping.json": {"01FKZOXA868SHYEE4DVNWB5P9W", incident.EventPing, "", 0, "", "", false, func(t *testing.T, ev *incident.Event) {
			if ev.Agent != (incident.Ref{ID: "PVE0ZR9", Type: "user_reference"}) {
				t.Errorf("agent = %+v, want the bare reference", ev.Agent)
			}
		}},
		"captures/aldaviva_triggered.json": {"01FKZSRAPTMF55RE69G8BQHGC6", incident.EventTriggered, "Q2CKYRLH85UNN4", 37, "Test", "triggered", true, func(t *testing.T, ev *incident.Event) {
			if ev.Incident.IncidentType != "incident_default" || ev.Incident.Urgency != "low" {
				t.Errorf("type %q urgency %q, want incident_default low", ev.Incident.IncidentType, ev.Incident.Urgency)
			}
		}},
	}
	all := fixtures(t)
	for name := range all {
		if _, ok := tests[name]; !ok && name != "v2.json" {
			t.Errorf("testdata/%s has no row in TestParseFixtures", name)
		}
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, ok := all[name]
			if !ok {
				t.Fatalf("testdata/%s is missing", name)
			}
			ev, ignored, err := pagerduty.Parse(body)
			if err != nil {
				t.Fatalf("Parse error = %v", err)
			}
			if len(ignored) != 0 {
				t.Errorf("ignored = %q, want every field PagerDuty publishes read", ignored)
			}
			got := [...]any{ev.ID, ev.Type, ev.IncidentID, ev.Incident.Number, ev.Incident.Title, ev.Incident.Status, ev.Handled()}
			want := [...]any{w.id, w.typ, w.incident, w.number, w.title, w.status, w.handled}
			if got != want {
				t.Errorf("Parse = id, type, incident, number, title, status, handled %v,\nwant %v", got, want)
			}
			if ev.Handled() && ev.OccurredAt.IsZero() {
				t.Errorf("OccurredAt is zero")
			}
			if w.check != nil {
				w.check(t, ev)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, pagerduty.ErrMalformed},
		{"not json", `hello`, pagerduty.ErrMalformed},
		{"json array", `[1,2]`, pagerduty.ErrMalformed},
		{"json null", `null`, pagerduty.ErrMalformed},
		{"no event", `{"foo":1}`, pagerduty.ErrMalformed},
		{"event null", `{"event":null}`, pagerduty.ErrMalformed},
		{"event not an object", `{"event":[1]}`, pagerduty.ErrMalformed},
		{"v2 messages", string(readFile(t, "v2.json")), pagerduty.ErrV2Payload},
		{"event without id", `{"event":{"event_type":"incident.triggered"}}`, pagerduty.ErrMalformed},
		{"event id a number", `{"event":{"id":12,"event_type":"pagey.ping"}}`, pagerduty.ErrMalformed},
		{"event without type", `{"event":{"id":"e"}}`, pagerduty.ErrMalformed},
		{"event type an object", `{"event":{"id":"e","event_type":{"name":"pagey.ping"}}}`, pagerduty.ErrMalformed},
		{"incident event without data", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z"}}`, pagerduty.ErrMalformed},
		{"data of wrong type", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":"x"}}`, pagerduty.ErrMalformed},
		{"incident without id", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident"}}}`, pagerduty.ErrMalformed},
		{"incident id a number", `{"event":{"id":"e","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident","id":7}}}`, pagerduty.ErrMalformed},
		{"note without incident", `{"event":{"id":"e","event_type":"incident.annotated","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_note","content":"x"}}}`, pagerduty.ErrMalformed},
		{"note with an incident string", `{"event":{"id":"e","event_type":"incident.annotated","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_note","incident":"P1"}}}`, pagerduty.ErrMalformed},
		{"handled without occurred_at", `{"event":{"id":"e","event_type":"incident.acknowledged","data":{"id":"P1","type":"incident"}}}`, pagerduty.ErrMalformed},
		{"handled with a bad occurred_at", `{"event":{"id":"e","event_type":"incident.acknowledged","occurred_at":"yesterday","data":{"id":"P1","type":"incident"}}}`, pagerduty.ErrMalformed},
		{"trailing data", `{"event":{"id":"e","event_type":"pagey.ping"}} {}`, pagerduty.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, _, err := pagerduty.Parse([]byte(tt.body))
			if !errors.Is(err, tt.want) || ev != nil {
				t.Errorf("Parse(%.40q) = %v, %v; want error %v", tt.body, ev, err, tt.want)
			}
		})
	}
}

// edit returns testdata/name with its event changed by change, which gets
// the decoded event object and its data object.
func edit(t *testing.T, name string, change func(event, data map[string]any)) []byte {
	t.Helper()
	var doc map[string]map[string]any
	if err := json.Unmarshal(readFile(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	data, _ := doc["event"]["data"].(map[string]any)
	change(doc["event"], data)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseTolerates: what real deliveries vary in is read as far as it
// goes; a field of an unexpected type is ignored and named, never a 400.
func TestParseTolerates(t *testing.T) {
	t.Parallel()
	bridge := func(v any) func(event, data map[string]any) {
		return func(_, data map[string]any) {
			data["conference_bridge"] = map[string]any{"conference_url": "https://meet.example.com/x", "conference_number": v}
		}
	}
	agent := func(v any) func(event, data map[string]any) {
		return func(event, _ map[string]any) { event["agent"] = v }
	}
	tests := []struct {
		name        string
		file        string
		change      func(event, data map[string]any)
		check       func(ev *incident.Event) string
		wantIgnored []string
	}{
		{"conference number a string", "triggered.json", bridge("+1 555-0100"), func(ev *incident.Event) string {
			return want(ev.Incident.ConferenceNumber, "+1 555-0100")
		}, nil},
		{"conference number a JSON number", "triggered.json", bridge(5550100), func(ev *incident.Event) string {
			return want(ev.Incident.ConferenceNumber, "5550100") + want(ev.Incident.ConferenceURL, "https://meet.example.com/x")
		}, nil},
		{"conference number null", "triggered.json", bridge(nil), func(ev *incident.Event) string {
			return want(ev.Incident.ConferenceNumber, "") + want(ev.Incident.ConferenceURL, "https://meet.example.com/x")
		}, nil},
		{"conference number an object", "triggered.json", bridge(map[string]any{"pin": "secret-pin-42"}), func(ev *incident.Event) string {
			return want(ev.Incident.ConferenceNumber, "") + want(ev.Incident.ConferenceURL, "https://meet.example.com/x")
		}, []string{"data.conference_bridge.conference_number"}},
		{"agent null", "acknowledged.json", agent(nil), func(ev *incident.Event) string {
			return want(ev.Agent, incident.Ref{})
		}, nil},
		{"agent a user", "acknowledged.json", agent(map[string]any{"id": "PUSER01", "type": "user_reference", "summary": "Ada", "html_url": "https://acme.pagerduty.com/users/PUSER01"}), func(ev *incident.Event) string {
			return want(ev.Agent, incident.Ref{ID: "PUSER01", Type: "user_reference", Summary: "Ada", HTMLURL: "https://acme.pagerduty.com/users/PUSER01"})
		}, nil},
		{"agent an integration", "triggered.json", agent(map[string]any{"id": "PXMQRWJ", "type": "inbound_integration_reference", "summary": "Events API V2", "self": "https://api.pagerduty.com/services/P5PP4N4/integrations/PXMQRWJ"}), func(ev *incident.Event) string {
			return want(ev.Agent, incident.Ref{ID: "PXMQRWJ", Type: "inbound_integration_reference", Summary: "Events API V2"})
		}, nil},
		{"agent a bare reference", "acknowledged.json", agent(map[string]any{"id": "PVE0ZR9", "type": "user_reference"}), func(ev *incident.Event) string {
			return want(ev.Agent, incident.Ref{ID: "PVE0ZR9", Type: "user_reference"})
		}, nil},
		{"agent a string", "acknowledged.json", agent("PUSER01"), func(ev *incident.Event) string {
			return want(ev.Agent, incident.Ref{}) + want(ev.Incident.Status, "acknowledged")
		}, []string{"agent"}},
		{"client missing", "triggered.json", func(event, _ map[string]any) { delete(event, "client") }, nil, nil},
		{"client null", "triggered.json", func(event, _ map[string]any) { event["client"] = nil }, nil, nil},
		{"client an object", "triggered.json", func(event, _ map[string]any) {
			event["client"] = map[string]any{"name": "Last9 Dashboard", "url": "https://app.example.com/alert?x=1"}
		}, nil, nil},
		{"escalation policy null", "triggered.json", func(_, data map[string]any) { data["escalation_policy"] = nil }, func(ev *incident.Event) string {
			return want(ev.Incident.EscalationPolicy, incident.Ref{}) + want(ev.Incident.Service.Summary, "Checkout API")
		}, nil},
		{"priority null", "triggered.json", func(_, data map[string]any) { data["priority"] = nil }, func(ev *incident.Event) string {
			return want(ev.Incident.Priority, "")
		}, nil},
		{"priority a string", "triggered.json", func(_, data map[string]any) { data["priority"] = "P1" }, func(ev *incident.Event) string {
			return want(ev.Incident.Priority, "") + want(ev.Incident.Title, "Checkout latency above 2s (p99)")
		}, []string{"data.priority"}},
		{"assignees empty", "triggered.json", func(_, data map[string]any) { data["assignees"] = []any{} }, func(ev *incident.Event) string {
			return want(len(ev.Incident.Assignees), 0)
		}, nil},
		{"an assignee not an object", "reassigned.json", func(_, data map[string]any) {
			data["assignees"] = append([]any{"PUSER09", nil}, data["assignees"].([]any)...)
		}, func(ev *incident.Event) string {
			return want(incident.Names(ev.Incident.Assignees), "Grace Hopper, Alan Turing")
		}, []string{"data.assignees[]"}},
		{"teams null", "triggered.json", func(_, data map[string]any) { data["teams"] = nil }, func(ev *incident.Event) string {
			return want(len(ev.Incident.Teams), 0)
		}, nil},
		{"teams an object", "triggered.json", func(_, data map[string]any) { data["teams"] = map[string]any{"id": "PTEAM01"} }, func(ev *incident.Event) string {
			return want(len(ev.Incident.Teams), 0)
		}, []string{"data.teams"}},
		{"number a string", "triggered.json", func(_, data map[string]any) { data["number"] = "1234" }, func(ev *incident.Event) string {
			return want(ev.Incident.Number, 0) + want(ev.IncidentID, "Q1CHECKOUT")
		}, []string{"data.number"}},
		{"title a number and created_at not a time", "triggered.json", func(_, data map[string]any) {
			data["title"], data["created_at"] = 42, "last tuesday"
		}, func(ev *incident.Event) string {
			return want(ev.Incident.Title, "") + want(ev.Incident.CreatedAt, time.Time{}) + want(ev.Incident.Number, 1234)
		}, []string{"data.title", "data.created_at"}},
		{"a service summary null", "triggered.json", func(_, data map[string]any) {
			data["service"].(map[string]any)["summary"] = nil
		}, func(ev *incident.Event) string {
			return want(ev.Incident.Service, incident.Ref{ID: "PSVC001", Type: "service_reference", HTMLURL: "https://acme.pagerduty.com/services/PSVC001"})
		}, nil},
		{"a ping whose time is not a time", "ping.json", func(event, _ map[string]any) { event["occurred_at"] = "soon" }, func(ev *incident.Event) string {
			return want(ev.Type, incident.EventPing)
		}, []string{"occurred_at"}},
		{"event id a ULID", "triggered.json", func(event, _ map[string]any) { event["id"] = "01BZYIL05THJDFF2Y08X9SVMTU" }, func(ev *incident.Event) string {
			return want(ev.ID, "01BZYIL05THJDFF2Y08X9SVMTU")
		}, nil},
		{"event id a UUID", "triggered.json", func(event, _ map[string]any) { event["id"] = "5ac64822-4adc-4fda-ade0-410becf0de4f" }, func(ev *incident.Event) string {
			return want(ev.ID, "5ac64822-4adc-4fda-ade0-410becf0de4f")
		}, nil},
		{"event id 38 decimal digits", "triggered.json", func(event, _ map[string]any) { event["id"] = "32743190385439511823355034091750713370" }, func(ev *incident.Event) string {
			return want(ev.ID, "32743190385439511823355034091750713370")
		}, nil},
		{"note with an incident summary null", "annotated.json", func(_, data map[string]any) {
			data["incident"].(map[string]any)["summary"] = nil
		}, func(ev *incident.Event) string {
			return want(ev.Incident.Title, "") + want(ev.IncidentID, "Q1CHECKOUT")
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := edit(t, tt.file, tt.change)
			ev, ignored, err := pagerduty.Parse(body)
			if err != nil {
				t.Fatalf("Parse error = %v", err)
			}
			if !slices.Equal(ignored, tt.wantIgnored) {
				t.Errorf("ignored = %q, want %q", ignored, tt.wantIgnored)
			}
			if tt.check != nil {
				if msg := tt.check(ev); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

// want returns "" when got equals w, else a got/want message.
func want[T comparable](got, w T) string {
	if got == w {
		return ""
	}
	return fmt.Sprintf("got %#v, want %#v; ", got, w)
}

func TestParseIgnoresUnknown(t *testing.T) {
	t.Parallel()
	tests := []string{
		`{"event":{"id":"e","event_type":"service.updated","resource_type":"service","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"PSVC","type":"service"}}}`,
		`{"event":{"id":"e","event_type":"incident.task.created","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_task","incident":{"id":"P1"}},"new_field":[1]}}`,
		`{"event":{"id":"e","event_type":"incident.action_invocation.created","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_action_invocation"}}}`,
		`{"event":{"id":"e","event_type":"incident.task.updated","occurred_at":"2026-01-01T00:00:00Z","data":{"id":5,"number":"x","incident":"y"}}}`,
		`{"event":{"id":"e","event_type":"pagey.ping"}}`,
	}
	for _, body := range tests {
		ev, ignored, err := pagerduty.Parse([]byte(body))
		if err != nil {
			t.Fatalf("Parse(%.60q) error = %v, want nil", body, err)
		}
		if ev.Handled() || len(ignored) != 0 {
			t.Errorf("Parse(%.60q) handled %v ignored %q, want acknowledged unread", body, ev.Handled(), ignored)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"event":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, ignored, err := pagerduty.Parse(body)
		if err != nil {
			if ev != nil || ignored != nil {
				t.Fatalf("Parse returned an event or ignored fields with error %v", err)
			}
			if !errors.Is(err, pagerduty.ErrMalformed) && !errors.Is(err, pagerduty.ErrV2Payload) {
				t.Fatalf("Parse error %v is neither ErrMalformed nor ErrV2Payload", err)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("Parse accepted an event without id or type: %+v", ev)
		}
		if ev.Handled() && (ev.IncidentID == "" || ev.OccurredAt.IsZero()) {
			t.Fatalf("handled event without incident id or time: %+v", ev)
		}
		for _, name := range ignored {
			if name == "" || strings.ContainsAny(name, "\"\n") {
				t.Fatalf("ignored field name %q is not a path", name)
			}
		}
	})
}

func TestParseIncidentTypeChanged(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"incident.incident_type.changed", "incident_type.changed"} {
		body := strings.Replace(string(readFile(t, "priority_updated.json")), "incident.priority_updated", typ, 1)
		ev, _, err := pagerduty.Parse([]byte(body))
		if err != nil {
			t.Fatalf("Parse(%s) error = %v", typ, err)
		}
		if ev.Type != incident.EventIncidentTypeChanged || !ev.Handled() {
			t.Errorf("Parse(%s) type = %q handled = %v, want %q handled", typ, ev.Type, ev.Handled(), incident.EventIncidentTypeChanged)
		}
	}
}

func TestParseRejectsUnusableIDs(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a/b", "..", "__x__", strings.Repeat("x", 300), "a\x00b"} {
		body := fmt.Sprintf(`{"event":{"id":"e1","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"id":%q,"type":"incident"}}}`, id)
		if _, _, err := pagerduty.Parse([]byte(body)); !errors.Is(err, pagerduty.ErrMalformed) {
			t.Errorf("Parse(incident id %.20q) error = %v, want ErrMalformed", id, err)
		}
		body = fmt.Sprintf(`{"event":{"id":%q,"event_type":"pagey.ping","occurred_at":"2026-01-01T00:00:00Z","data":{}}}`, id)
		if _, _, err := pagerduty.Parse([]byte(body)); !errors.Is(err, pagerduty.ErrMalformed) {
			t.Errorf("Parse(event id %.20q) error = %v, want ErrMalformed", id, err)
		}
	}
}
