package pagerduty

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChangeIncidentFields: PUT /incidents/{id} sets priority, urgency,
// title and assignee, reports each change, and refuses an unknown
// priority or assignee, or a bad urgency, changing nothing.
func TestChangeIncidentFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantStatus int
		wantChange []Change
		want       Incident
	}{
		{"priority", `{"incident":{"type":"incident_reference","priority":{"id":"PP2","type":"priority_reference"}}}`, 200,
			[]Change{{IncidentID: "PINC", Kind: ChangePriority, UserID: "PADA", Value: "PP2"}},
			Incident{Priority: "PP2", Title: "Checkout down", Assignees: []string{"PADA"}}},
		{"urgency, title and assignee", `{"incident":{"type":"incident_reference","urgency":"low","title":"Checkout slow",` +
			`"assignments":[{"assignee":{"id":"PBOB","type":"user_reference"}}]}}`, 200,
			[]Change{{IncidentID: "PINC", Kind: ChangeUrgency, UserID: "PADA", Value: "low"},
				{IncidentID: "PINC", Kind: ChangeTitle, UserID: "PADA", Value: "Checkout slow"},
				{IncidentID: "PINC", Kind: ChangeReassigned, UserID: "PADA", Value: "PBOB"}},
			Incident{Urgency: "low", Title: "Checkout slow", Assignees: []string{"PBOB"}}},
		{"unknown priority", `{"incident":{"type":"incident_reference","priority":{"id":"PP9","type":"priority_reference"}}}`, 400, nil,
			Incident{Title: "Checkout down", Assignees: []string{"PADA"}}},
		{"unknown assignee, with a title", `{"incident":{"type":"incident_reference","title":"x","assignments":[{"assignee":{"id":"PNONE","type":"user_reference"}}]}}`, 400, nil,
			Incident{Title: "Checkout down", Assignees: []string{"PADA"}}},
		{"bad urgency", `{"incident":{"type":"incident_reference","urgency":"medium"}}`, 400, nil,
			Incident{Title: "Checkout down", Assignees: []string{"PADA"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newIncidentServer(t)
			s.AddPriority("PP1", "P1")
			s.AddPriority("PP2", "P2")
			var changes []Change
			s.SetOnChange(func(c Change) { changes = append(changes, c) })
			if status, v := send(t, s, "PUT", "/incidents/PINC", "ada@example.com", tt.body); status != tt.wantStatus {
				t.Fatalf("PUT = %d %v, want %d", status, v, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantChange, changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			got, _ := s.Incident("PINC")
			tt.want.ID, tt.want.Number, tt.want.Status, tt.want.PolicyID = "PINC", 7, "triggered", "PPOL"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("incident (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequestResponders: a responder request names known users and
// policies as a known requester; the hook hears its targets.
func TestRequestResponders(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	var changes []Change
	s.SetOnChange(func(c Change) { changes = append(changes, c) })
	status, _ := send(t, s, "POST", "/incidents/PINC/responder_requests", "ada@example.com", pageBody)
	if status != 200 {
		t.Fatalf("POST = %d, want 200", status)
	}
	want := []Change{{IncidentID: "PINC", Kind: ChangeResponder, UserID: "PADA", Value: "join the bridge", Targets: []string{"user:PBOB", "policy:PPOL"}}}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if status, _ := send(t, s, "POST", "/incidents/PINC/responder_requests", "ada@example.com", `{"requester_id":"PADA","message":"x","responder_request_targets":[]}`); status != 400 {
		t.Errorf("POST without targets = %d, want 400", status)
	}
}

// TestListPolicies: GET /escalation_policies?query= matches part of a
// policy's name, ignoring case.
func TestListPolicies(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	s.AddPolicy("PDB", 1, 0)
	s.NamePolicy("PDB", "Database Ops")
	_, v := send(t, s, "GET", "/escalation_policies?query=base", "", "")
	ps, _ := v["escalation_policies"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["name"] != "Database Ops" {
		t.Errorf("policies matching base = %v, want Database Ops", ps)
	}
}
