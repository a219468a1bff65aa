package pagerduty

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// newIncidentServer is a fake with two users, a policy of 3 levels and a
// triggered incident on it.
func newIncidentServer(t *testing.T) *Server {
	t.Helper()
	s := NewServer("tok")
	t.Cleanup(s.Close)
	s.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	s.AddUser("PBOB", "Bob Builder", "bob@example.com")
	s.AddPolicy("PPOL", 3, 0)
	s.AddOnCall("PPOL", "PADA", 1)
	s.AddOnCall("PPOL", "PBOB", 2)
	s.AddIncident(Incident{ID: "PINC", Number: 7, Title: "Checkout down", PolicyID: "PPOL", Assignees: []string{"PADA"}})
	return s
}

// send makes one request and returns the status and the decoded body.
func send(t *testing.T, s *Server, method, path, from, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token token=tok")
	if from != "" {
		req.Header.Set("From", from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, b, err)
	}
	return resp.StatusCode, v
}

// errorOf is the error object of an answer ("" and 0 without one).
func errorOf(v map[string]any) (string, int) {
	e, _ := v["error"].(map[string]any)
	msg, _ := e["message"].(string)
	code, _ := e["code"].(float64)
	return msg, int(code)
}

func TestUpdateIncident(t *testing.T) {
	t.Parallel()
	const ack = `{"incident":{"type":"incident_reference","status":"acknowledged"}}`
	const resolve = `{"incident":{"type":"incident_reference","status":"resolved"}}`
	tests := []struct {
		name       string
		prepare    func(*Server)
		from, body string
		id         string
		wantStatus int
		wantError  string
		wantCode   int
		wantState  string
		wantChange []Change
	}{
		{name: "acknowledge", from: "ada@example.com", body: ack, wantStatus: 200, wantState: "acknowledged",
			wantChange: []Change{{IncidentID: "PINC", Kind: ChangeAcknowledged, UserID: "PADA"}}},
		{name: "acknowledge again is accepted without a change", prepare: func(s *Server) {
			s.AddIncident(Incident{ID: "PINC", Status: "acknowledged", PolicyID: "PPOL"})
		}, from: "ADA@example.com", body: ack, wantStatus: 200, wantState: "acknowledged"},
		{name: "acknowledging a resolved incident reopens it", prepare: func(s *Server) {
			s.AddIncident(Incident{ID: "PINC", Status: "resolved", PolicyID: "PPOL"})
		}, from: "ada@example.com", body: ack, wantStatus: 200, wantState: "acknowledged",
			wantChange: []Change{{IncidentID: "PINC", Kind: ChangeAcknowledged, UserID: "PADA", Reopened: true}}},
		{name: "resolve", from: "bob@example.com", body: resolve, wantStatus: 200, wantState: "resolved",
			wantChange: []Change{{IncidentID: "PINC", Kind: ChangeResolved, UserID: "PBOB"}}},
		{name: "resolve a resolved incident", prepare: func(s *Server) {
			s.AddIncident(Incident{ID: "PINC", Status: "resolved", PolicyID: "PPOL"})
		}, from: "ada@example.com", body: resolve, wantStatus: 400, wantError: "Incident Already Resolved", wantCode: 1001, wantState: "resolved"},
		{name: "escalate", from: "ada@example.com", body: `{"incident":{"type":"incident_reference","escalation_level":2}}`,
			wantStatus: 200, wantState: "triggered",
			wantChange: []Change{{IncidentID: "PINC", Kind: ChangeEscalated, UserID: "PADA", EscalationLevel: 2}}},
		{name: "escalate beyond the policy", from: "ada@example.com", body: `{"incident":{"type":"incident_reference","escalation_level":4}}`,
			wantStatus: 400, wantError: "Invalid Input Provided", wantCode: 2001, wantState: "triggered"},
		{name: "no From", body: ack, wantStatus: 400, wantError: msgMissingFrom, wantCode: 2016, wantState: "triggered"},
		{name: "From of no user", from: "eve@example.com", body: ack, wantStatus: 400, wantError: "Requester User Not Found", wantCode: 1008, wantState: "triggered"},
		{name: "forbidden user", prepare: func(s *Server) { s.Forbid("PBOB") }, from: "bob@example.com", body: resolve,
			wantStatus: 403, wantError: "Access Denied", wantCode: 2010, wantState: "triggered"},
		{name: "unknown incident", id: "PNONE", from: "ada@example.com", body: ack, wantStatus: 404, wantError: "Not Found", wantCode: 2100, wantState: "triggered"},
		{name: "bad type", from: "ada@example.com", body: `{"incident":{"type":"nope","status":"resolved"}}`,
			wantStatus: 400, wantError: "Invalid Input Provided", wantCode: 2001, wantState: "triggered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newIncidentServer(t)
			if tt.prepare != nil {
				tt.prepare(s)
			}
			var mu sync.Mutex
			var changes []Change
			s.SetOnChange(func(c Change) {
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, c)
			})
			id := tt.id
			if id == "" {
				id = "PINC"
			}
			status, v := send(t, s, "PUT", "/incidents/"+id, tt.from, tt.body)
			msg, code := errorOf(v)
			if status != tt.wantStatus || msg != tt.wantError || code != tt.wantCode {
				t.Errorf("PUT = %d %q (code %d), want %d %q (code %d)", status, msg, code, tt.wantStatus, tt.wantError, tt.wantCode)
			}
			if inc, _ := s.Incident("PINC"); inc.Status != tt.wantState {
				t.Errorf("status after = %q, want %q", inc.Status, tt.wantState)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantChange, changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEscalationReassigns: escalating to a level assigns the incident to
// the users on call there, so the next escalation starts from them.
func TestEscalationReassigns(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	if status, _ := send(t, s, "PUT", "/incidents/PINC", "ada@example.com", `{"incident":{"type":"incident_reference","escalation_level":2}}`); status != 200 {
		t.Fatalf("escalate = %d", status)
	}
	inc, _ := s.Incident("PINC")
	if diff := cmp.Diff(Incident{ID: "PINC", Number: 7, Title: "Checkout down", Status: "triggered", PolicyID: "PPOL", Assignees: []string{"PBOB"}, EscalationLevel: 2}, inc); diff != "" {
		t.Errorf("incident (-want +got):\n%s", diff)
	}
}

func TestNotes(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	var (
		mu  sync.Mutex
		got []Change
	)
	s.SetOnChange(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
	})
	status, v := send(t, s, "POST", "/incidents/PINC/notes", "ada@example.com", `{"note":{"content":"Slack channel: #inc-7"}}`)
	note, _ := v["note"].(map[string]any)
	if status != 200 || note["content"] != "Slack channel: #inc-7" || note["id"] == "" {
		t.Fatalf("POST notes = %d %v", status, v)
	}
	if status, v := send(t, s, "POST", "/incidents/PINC/notes", "ada@example.com", `{"note":{"content":""}}`); status != 400 {
		t.Errorf("empty note = %d %v, want 400", status, v)
	}
	if status, _ := send(t, s, "POST", "/incidents/PNONE/notes", "ada@example.com", `{"note":{"content":"x"}}`); status != 404 {
		t.Errorf("note on an unknown incident = %d, want 404", status)
	}
	status, v = send(t, s, "GET", "/incidents/PINC/notes", "", "")
	notes, _ := v["notes"].([]any)
	if status != 200 || len(notes) != 1 {
		t.Fatalf("GET notes = %d %v", status, v)
	}
	n := notes[0].(map[string]any)
	if n["content"] != "Slack channel: #inc-7" || n["user"].(map[string]any)["id"] != "PADA" {
		t.Errorf("note = %v", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]Change{{IncidentID: "PINC", Kind: ChangeAnnotated, UserID: "PADA", Note: "Slack channel: #inc-7"}}, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestListUsersMatchesPartOfNameOrEmail(t *testing.T) {
	t.Parallel()
	s := NewServer("tok")
	t.Cleanup(s.Close)
	s.AddUser("PANN", "Ann", "ann@x.com")
	s.AddUser("PJOANN", "Joann", "joann@x.com")
	s.AddUser("PBOB", "Bob", "bob@x.com")
	_, v := send(t, s, "GET", "/users?query=ANN%40x.com", "", "")
	var ids []string
	for _, u := range v["users"].([]any) {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	if diff := cmp.Diff([]string{"PANN", "PJOANN"}, ids); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

func TestPolicyAndOnCalls(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	s.AddPolicy("POTHER", 1, 2)
	s.AddOnCall("POTHER", "PBOB", 1)
	_, v := send(t, s, "GET", "/escalation_policies/PPOL", "", "")
	p := v["escalation_policy"].(map[string]any)
	if len(p["escalation_rules"].([]any)) != 3 || p["num_loops"] != float64(0) {
		t.Errorf("policy = %v", p)
	}
	if status, _ := send(t, s, "GET", "/escalation_policies/PNONE", "", ""); status != 404 {
		t.Errorf("unknown policy = %d, want 404", status)
	}
	_, v = send(t, s, "GET", "/oncalls?escalation_policy_ids%5B%5D=PPOL", "", "")
	var got []string
	for _, o := range v["oncalls"].([]any) {
		m := o.(map[string]any)
		got = append(got, m["user"].(map[string]any)["id"].(string)+"@"+string(rune('0'+int(m["escalation_level"].(float64)))))
	}
	if diff := cmp.Diff([]string{"PADA@1", "PBOB@2"}, got); diff != "" {
		t.Errorf("on-calls (-want +got):\n%s", diff)
	}
}

func TestRequestsAndFailOn(t *testing.T) {
	t.Parallel()
	s := newIncidentServer(t)
	s.FailOn("GET", "/oncalls", Fault{Status: 503})
	if status, _ := send(t, s, "GET", "/escalation_policies/PPOL", "", ""); status != 200 {
		t.Errorf("policy = %d, want 200: FailOn is for /oncalls only", status)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/oncalls?escalation_policy_ids%5B%5D=PPOL", nil)
	req.Header.Set("Authorization", "Token token=tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("oncalls = %d, want 503", resp.StatusCode)
	}
	send(t, s, "PUT", "/incidents/PINC", "ada@example.com", `{"incident":{"type":"incident_reference","status":"acknowledged"}}`)
	want := []Request{
		{Method: "GET", Path: "/escalation_policies/PPOL"},
		{Method: "GET", Path: "/oncalls?escalation_policy_ids%5B%5D=PPOL"},
		{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com", Body: `{"incident":{"type":"incident_reference","status":"acknowledged"}}`},
	}
	if diff := cmp.Diff(want, s.Requests()); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/escalation_policies/PPOL", "/oncalls", "/incidents/PINC"}, s.Paths()); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
}

// TestNoteFaultsBeforeAndAfterTheWork: a fault fails a note's POST
// before the note is saved, unless it is Apply: then the note is saved
// and only the answer is lost (a gateway's 502 or 504, a dropped
// connection).
func TestNoteFaultsBeforeAndAfterTheWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int // 0: no answer
		wantNotes  int
	}{
		{"refused", Fault{Status: 503}, 503, 0},
		{"reset before the work", Fault{Reset: true}, 0, 0},
		{"saved, 502", Fault{Status: 502, Apply: true}, 502, 1},
		{"saved, 504", Fault{Status: 504, Apply: true}, 504, 1},
		{"saved, reset", Fault{Reset: true, Apply: true}, 0, 1},
		{"apply alone answers normally", Fault{Apply: true}, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newIncidentServer(t)
			s.FailOn("POST", "/incidents/PINC/notes", tt.fault)
			req, err := http.NewRequest("POST", s.URL()+"/incidents/PINC/notes", strings.NewReader(`{"note":{"content":"Slack channel: #inc-7"}}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Token token=tok")
			req.Header.Set("From", "ada@example.com")
			status := 0
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			if status != tt.wantStatus {
				t.Errorf("POST notes with %+v = %d, want %d (0: no answer)", tt.fault, status, tt.wantStatus)
			}
			if got := len(s.Notes("PINC")); got != tt.wantNotes {
				t.Errorf("notes after %+v = %d, want %d", tt.fault, got, tt.wantNotes)
			}
			// The fault is used up: the next POST is answered.
			if status, _ := send(t, s, "POST", "/incidents/PINC/notes", "ada@example.com", `{"note":{"content":"again"}}`); status != 200 {
				t.Errorf("next POST notes = %d, want 200", status)
			}
		})
	}
}
