package pagerduty

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// TestUpdateIncident: a priority is looked up by name and sent by id;
// urgency, title and assignee go in one PUT as the user of From.
func TestUpdateIncident(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	pd.AddPriority("PP1", "P1")
	pd.AddPriority("PP2", "P2")
	if err := c.UpdateIncident(ctx2s(t), "ada@example.com", "PINC", Update{Priority: "p2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateIncident(ctx2s(t), "ada@example.com", "PINC", Update{Urgency: "low", Title: "Checkout slow", Assignee: "PBOB"}); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, pd.Requests(), []pdfake.Request{
		{Method: "GET", Path: "/priorities?limit=100&offset=0"},
		{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com",
			Body: `{"incident":{"type":"incident_reference","priority":{"id":"PP2","type":"priority_reference"}}}`},
		{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com",
			Body: `{"incident":{"type":"incident_reference","urgency":"low","title":"Checkout slow","assignments":[{"assignee":{"id":"PBOB","type":"user_reference"}}]}}`},
	})
	inc, _ := pd.Incident("PINC")
	if inc.Priority != "PP2" || inc.Urgency != "low" || inc.Title != "Checkout slow" || !cmp.Equal(inc.Assignees, []string{"PBOB"}) {
		t.Errorf("incident = %+v, want P2, low, renamed and assigned to Bob", inc)
	}
}

// TestUpdateRefused: an unknown priority, an account without
// priorities, a plan without them (402) and an unknown assignee are
// explained plainly, and the incident is not written.
func TestUpdateRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prepare     func(*pdfake.Server)
		u           Update
		wantErr     error
		wantExplain string
	}{
		{"unknown priority", func(pd *pdfake.Server) { pd.AddPriority("PP1", "P1"); pd.AddPriority("PP2", "P2") }, Update{Priority: "P9"},
			ErrUnknownPriority, "PagerDuty has no priority P9; its priorities are P1, P2."},
		{"no priorities", nil, Update{Priority: "P1"},
			ErrNoPriorities, "This PagerDuty account has no priorities (an admin turns them on in PagerDuty), so none can be set."},
		{"priorities not in the plan", func(pd *pdfake.Server) { pd.FailOn("GET", "/priorities", pdfake.Fault{Status: 402}) }, Update{Priority: "P1"},
			nil, "PagerDuty refused to read the account's priorities: the account's plan does not include it (HTTP 402)."},
		{"unknown assignee", nil, Update{Assignee: "PNONE"},
			nil, "PagerDuty refused to change this incident (HTTP 400: Invalid Input Provided (code 2001): Assignee not found)."},
		{"nothing", nil, Update{}, nil, "Could not change this incident in PagerDuty: pagerduty.update PINC: nothing to change."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			if tt.prepare != nil {
				tt.prepare(pd)
			}
			err := c.UpdateIncident(ctx2s(t), "ada@example.com", "PINC", tt.u)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || incident.KindOf(err) != incident.KindRefused {
				t.Fatalf("UpdateIncident = %v, want a refusal matching %v", err, tt.wantErr)
			}
			if got := Explain(err); got != tt.wantExplain {
				t.Errorf("Explain =\n%q\nwant\n%q", got, tt.wantExplain)
			}
			if inc, _ := pd.Incident("PINC"); inc.Title != "Checkout down" || inc.Priority != "" || !cmp.Equal(inc.Assignees, []string{"PADA"}) {
				t.Errorf("incident = %+v, want it unchanged", inc)
			}
		})
	}
}

// TestRequestResponders: the request names the requester and targets;
// an account without coordinated responding (402) is told so.
func TestRequestResponders(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	targets := []Target{{ID: "PBOB"}, {ID: "PPOL", Policy: true}}
	if err := c.RequestResponders(ctx2s(t), "ada@example.com", "PADA", "PINC", "join the bridge", targets); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, pd.Requests(), []pdfake.Request{{Method: "POST", Path: "/incidents/PINC/responder_requests", From: "ada@example.com",
		Body: `{"requester_id":"PADA","message":"join the bridge","responder_request_targets":[` +
			`{"responder_request_target":{"id":"PBOB","type":"user_reference"}},{"responder_request_target":{"id":"PPOL","type":"escalation_policy_reference"}}]}`}})

	pd.FailOn("POST", "/incidents/PINC/responder_requests", pdfake.Fault{Status: 402})
	err := c.RequestResponders(ctx2s(t), "ada@example.com", "PADA", "PINC", "x", targets)
	if want := "PagerDuty refused to page more responders: the account's plan does not include it (HTTP 402)."; Explain(err) != want {
		t.Errorf("Explain = %q, want %q", Explain(err), want)
	}
}

// TestOnCallsAndPolicies: who is on call comes by level; policies and
// services (with their policy) are found by part of their name.
func TestOnCallsAndPolicies(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	pd.NamePolicy("PPOL", "Checkout Ops")
	pd.AddOnCall("PPOL", "PADA", 2)
	ocs, err := c.OnCalls(ctx2s(t), "PPOL")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range ocs {
		got = append(got, o.User)
		if o.Level == 0 || o.UserID == "" {
			t.Errorf("on-call %+v lacks its level or user id", o)
		}
	}
	if want := []string{"Ada Lovelace", "Bob Builder", "Ada Lovelace", "Cy Young"}; !cmp.Equal(got, want) {
		t.Errorf("on call = %v, want %v (by level)", got, want)
	}
	ps, err := c.Policies(context.Background(), "checkout")
	if err != nil || !cmp.Equal(ps, []Policy{{ID: "PPOL", Name: "Checkout Ops"}}) {
		t.Errorf("Policies(checkout) = %v, %v; want Checkout Ops", ps, err)
	}
	pd.AddService("PSVC001", "Checkout API", "PPOL")
	ss, err := c.Services(context.Background(), "api")
	if want := []ServiceRef{{ID: "PSVC001", Name: "Checkout API", Policy: Policy{ID: "PPOL", Name: "Checkout Ops"}}}; err != nil || !cmp.Equal(ss, want) {
		t.Errorf("Services(api) = %v, %v; want %v", ss, err, want)
	}
}
