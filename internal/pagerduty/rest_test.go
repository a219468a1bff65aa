package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

const token = "pd-secret-token"

// newFake is a fake PagerDuty with Ada (on call at level 1), Bob (level
// 2), Cy (level 3) on a 3-level policy that does not repeat, and a
// triggered incident PINC assigned to Ada.
func newFake(t *testing.T) (*pdfake.Server, *Client) {
	t.Helper()
	pd := pdfake.NewServer(token)
	t.Cleanup(pd.Close)
	pd.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	pd.AddUser("PBOB", "Bob Builder", "bob@example.com")
	pd.AddUser("PCY", "Cy Young", "cy@example.com")
	pd.AddPolicy("PPOL", 3, 0)
	pd.AddOnCall("PPOL", "PADA", 1)
	pd.AddOnCall("PPOL", "PBOB", 2)
	pd.AddOnCall("PPOL", "PCY", 3)
	pd.AddIncident(pdfake.Incident{ID: "PINC", Number: 42, Title: "Checkout down", PolicyID: "PPOL", Assignees: []string{"PADA"}})
	return pd, NewClient(ClientOptions{Token: token, URL: pd.URL()})
}

// ctx2s is the deadline callers give.
func ctx2s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	return cmp.Equal(g, w)
}

// checkRequests compares the requests the fake received, bodies as JSON.
func checkRequests(t *testing.T, got, want []pdfake.Request) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("requests = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Method != w.Method || g.Path != w.Path || g.From != w.From {
			t.Errorf("request %d = %s %s From %q, want %s %s From %q", i, g.Method, g.Path, g.From, w.Method, w.Path, w.From)
		}
		if (w.Body == "") != (g.Body == "") || (w.Body != "" && !jsonEqual(t, g.Body, w.Body)) {
			t.Errorf("request %d body = %s, want %s", i, g.Body, w.Body)
		}
	}
}

func TestAcknowledgeAndResolve(t *testing.T) {
	t.Parallel()
	const (
		ackBody     = `{"incident":{"type":"incident_reference","status":"acknowledged"}}`
		resolveBody = `{"incident":{"type":"incident_reference","status":"resolved"}}`
	)
	tests := []struct {
		name         string
		status       string // of PINC before
		resolve      bool
		wantErr      error
		wantRequests []pdfake.Request
		wantStatus   string
	}{
		{name: "acknowledge", status: "triggered", wantStatus: "acknowledged", wantRequests: []pdfake.Request{
			{Method: "GET", Path: "/incidents/PINC"},
			{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com", Body: ackBody},
		}},
		{name: "acknowledge an acknowledged incident: not again", status: "acknowledged", wantErr: ErrAlreadyAcknowledged, wantStatus: "acknowledged", wantRequests: []pdfake.Request{
			{Method: "GET", Path: "/incidents/PINC"},
		}},
		{name: "acknowledge a resolved incident does not reopen it", status: "resolved", wantErr: ErrAlreadyResolved, wantStatus: "resolved", wantRequests: []pdfake.Request{
			{Method: "GET", Path: "/incidents/PINC"},
		}},
		{name: "resolve: one write, no read", status: "acknowledged", resolve: true, wantStatus: "resolved", wantRequests: []pdfake.Request{
			{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com", Body: resolveBody},
		}},
		{name: "resolve a resolved incident", status: "resolved", resolve: true, wantErr: ErrAlreadyResolved, wantStatus: "resolved", wantRequests: []pdfake.Request{
			{Method: "PUT", Path: "/incidents/PINC", From: "ada@example.com", Body: resolveBody},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			pd.AddIncident(pdfake.Incident{ID: "PINC", Status: tt.status, PolicyID: "PPOL"})
			var err error
			if tt.resolve {
				err = c.Resolve(ctx2s(t), "ada@example.com", "PINC")
			} else {
				err = c.Acknowledge(ctx2s(t), "ada@example.com", "PINC")
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && incident.KindOf(err) != incident.KindRefused {
				t.Errorf("kind = %v, want refused", incident.KindOf(err))
			}
			checkRequests(t, pd.Requests(), tt.wantRequests)
			if inc, _ := pd.Incident("PINC"); inc.Status != tt.wantStatus {
				t.Errorf("status after = %q, want %q", inc.Status, tt.wantStatus)
			}
		})
	}
}

// TestResolvedInBetween: PagerDuty's "Incident Already Resolved" answer
// to the write (someone resolved it after the read) is ErrAlreadyResolved.
func TestResolvedInBetween(t *testing.T) {
	t.Parallel()
	// The read says acknowledged; the write meets a resolved incident.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(`{"incident":{"id":"PINC","status":"acknowledged"}}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"message":"Incident Already Resolved","code":1001,"errors":["Incident Already Resolved"]}}`))
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{Token: token, URL: srv.URL})
	err := c.Resolve(ctx2s(t), "ada@example.com", "PINC")
	var apiErr *APIError
	if !errors.Is(err, ErrAlreadyResolved) || !errors.As(err, &apiErr) || apiErr.Code != 1001 {
		t.Errorf("Resolve error = %v, want ErrAlreadyResolved carrying PagerDuty's code 1001", err)
	}
	if got, want := Explain(err), "This incident is already resolved in PagerDuty."; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestUserByEmail(t *testing.T) {
	t.Parallel()
	pd := pdfake.NewServer(token)
	t.Cleanup(pd.Close)
	pd.AddUser("PJOANN", "Joann Smith", "joann@x.com")
	pd.AddUser("PANN", "Ann Jones", "Ann@X.com")
	pd.AddUser("PANNA", "Anna Bell", "ann@x.com.au")
	pd.AddUser("PKATE", "Kate Lee", "kate@x.com")
	pd.AddUser("PJOSE", "José Díaz", "jos\u00e9@x.com")
	c := NewClient(ClientOptions{Token: token, URL: pd.URL()})
	if _, err := c.UserByEmail(ctx2s(t), "ann@x.com"); err != nil {
		t.Fatalf("UserByEmail error = %v", err)
	}
	checkRequests(t, pd.Requests(), []pdfake.Request{{Method: "GET", Path: "/users?limit=100&offset=0&query=ann%40x.com"}})
	tests := []struct {
		email   string
		want    User
		wantErr error
	}{
		{email: "ann@x.com", want: User{ID: "PANN", Name: "Ann Jones", Email: "Ann@X.com", Role: "user"}},
		{email: "ANN@x.COM", want: User{ID: "PANN", Name: "Ann Jones", Email: "Ann@X.com", Role: "user"}},
		{email: "joann@x.com", want: User{ID: "PJOANN", Name: "Joann Smith", Email: "joann@x.com", Role: "user"}},
		{email: "nn@x.com", wantErr: ErrNoUser},
		{email: "bob@x.com", wantErr: ErrNoUser},
		// Only ASCII case is folded: a look-alike is nobody, and an
		// address beyond ASCII matches no one, not even its owner.
		{email: "\u212Aate@x.com", wantErr: ErrNoUser},
		{email: "jos\u00e9@x.com", wantErr: ErrNoUser},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			t.Parallel()
			got, err := c.UserByEmail(ctx2s(t), tt.email)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("UserByEmail(%q) error = %v, want %v", tt.email, err, tt.wantErr)
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("UserByEmail(%q) = %+v, want %+v", tt.email, got, tt.want)
			}
		})
	}
	_, err := c.UserByEmail(ctx2s(t), "bob@x.com")
	if strings.Contains(err.Error(), "bob") {
		t.Errorf("UserByEmail error = %q, names the address (errors are logged)", err)
	}
	if got, want := Explain(err), "PagerDuty has no user with the email address bob@x.com; ask a PagerDuty admin to add you or fix your address."; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestNextLevel(t *testing.T) {
	t.Parallel()
	onCalls := []onCall{{"PADA", 1}, {"PBOB", 2}, {"PCY", 3}, {"PDUO", 1}, {"PDUO", 2}}
	tests := []struct {
		name         string
		rules, loops int
		assignees    []string
		want         int
		wantErr      error
	}{
		{name: "assignee at level 2", rules: 3, assignees: []string{"PBOB"}, want: 3},
		{name: "assignee at level 1", rules: 3, assignees: []string{"PADA"}, want: 2},
		{name: "no assignee on call", rules: 3, assignees: []string{"PZED"}, want: 2},
		{name: "no assignees", rules: 3, want: 2},
		{name: "highest level of several assignees", rules: 3, assignees: []string{"PADA", "PBOB"}, want: 3},
		{name: "on call at two levels counts at the higher", rules: 3, assignees: []string{"PDUO"}, want: 3},
		{name: "last level of a repeating policy", rules: 3, loops: 2, assignees: []string{"PCY"}, want: 1},
		{name: "last level without repeats", rules: 3, assignees: []string{"PCY"}, wantErr: ErrLastLevel},
		{name: "one-level policy without repeats", rules: 1, assignees: []string{"PZED"}, wantErr: ErrLastLevel},
		{name: "one-level policy that repeats", rules: 1, loops: 1, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := nextLevel(tt.rules, tt.loops, onCalls, tt.assignees)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("nextLevel(%d, %d, %v) = %d, %v; want %d, %v", tt.rules, tt.loops, tt.assignees, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := nextLevel(0, 0, nil, nil); err == nil {
		t.Error("nextLevel of a policy without rules: no error")
	}
}

func TestEscalate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		loops     int
		assignees []string
		want      int
		wantErr   error
	}{
		{name: "from level 2 to 3", assignees: []string{"PBOB"}, want: 3},
		{name: "no assignee on call: to 2", assignees: []string{"PZED"}, want: 2},
		{name: "last level of a repeating policy: to 1", loops: 1, assignees: []string{"PCY"}, want: 1},
		{name: "last level without repeats", assignees: []string{"PCY"}, wantErr: ErrLastLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			pd.AddPolicy("PPOL", 3, tt.loops)
			got, err := c.Escalate(ctx2s(t), "bob@example.com", "PINC", "PPOL", tt.assignees)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Escalate = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
			reqs := pd.Requests()
			if len(reqs) < 2 {
				t.Fatalf("requests = %+v", reqs)
			}
			// The two reads run in parallel: either order.
			reads := map[string]bool{reqs[0].Method + " " + reqs[0].Path: true, reqs[1].Method + " " + reqs[1].Path: true}
			if !reads["GET /escalation_policies/PPOL"] || !reads["GET /oncalls?escalation_policy_ids%5B%5D=PPOL&limit=100&offset=0"] {
				t.Errorf("reads = %v", reads)
			}
			if tt.wantErr != nil {
				if len(reqs) != 2 {
					t.Errorf("requests = %+v, want no write", reqs)
				}
				want := "PagerDuty cannot escalate further: this incident is at the last of the 3 levels of its escalation policy, which does not repeat."
				if got := Explain(err); got != want {
					t.Errorf("Explain = %q, want %q", got, want)
				}
				return
			}
			checkRequests(t, reqs[2:], []pdfake.Request{{Method: "PUT", Path: "/incidents/PINC", From: "bob@example.com",
				Body: `{"incident":{"type":"incident_reference","escalation_level":` + string(rune('0'+tt.want)) + `}}`}})
			if inc, _ := pd.Incident("PINC"); inc.EscalationLevel != tt.want {
				t.Errorf("level after = %d, want %d", inc.EscalationLevel, tt.want)
			}
		})
	}
}

// TestEscalateReadFails: a failing read fails Escalate with that
// failure, not the cancellation of the other read, and writes nothing.
func TestEscalateReadFails(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	pd.FailOn("GET", "/oncalls", pdfake.Fault{Status: 502})
	pd.FailOn("GET", "/escalation_policies/PPOL", pdfake.Fault{Delay: time.Second})
	start := time.Now()
	_, err := c.Escalate(ctx2s(t), "bob@example.com", "PINC", "PPOL", []string{"PADA"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || incident.KindOf(err) != incident.KindTransient {
		t.Errorf("Escalate error = %v, want the transient 502", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Escalate took %v: the slow read was not cancelled", d)
	}
	for _, r := range pd.Requests() {
		if r.Method != "GET" {
			t.Errorf("write %s %s after a failed read", r.Method, r.Path)
		}
	}
}

func TestNotes(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	n, err := c.AddNote(ctx2s(t), "ada@example.com", "PINC", "Slack channel: #inc-42-checkout-down")
	if err != nil {
		t.Fatalf("AddNote error = %v", err)
	}
	if n.ID == "" || n.Content != "Slack channel: #inc-42-checkout-down" || n.UserID != "PADA" || time.Since(n.CreatedAt) > time.Minute {
		t.Errorf("AddNote = %+v", n)
	}
	notes, err := c.Notes(ctx2s(t), "PINC")
	if err != nil {
		t.Fatalf("Notes error = %v", err)
	}
	if diff := cmp.Diff([]Note{n}, notes); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	checkRequests(t, pd.Requests(), []pdfake.Request{
		{Method: "POST", Path: "/incidents/PINC/notes", From: "ada@example.com", Body: `{"note":{"content":"Slack channel: #inc-42-checkout-down"}}`},
		{Method: "GET", Path: "/incidents/PINC/notes"},
	})
}

// TestFailures: each way a call fails, its kind, RetryAfter, sentinel
// and the sentence a responder reads.
func TestFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prepare     func(*pdfake.Server)
		do          func(context.Context, *Client) error
		url         string // overrides the fake's
		wantKind    incident.Kind
		wantRetry   time.Duration
		wantStatus  int // of the *APIError; 0 for none
		wantExplain string
	}{
		{
			name:     "forbidden user",
			prepare:  func(pd *pdfake.Server) { pd.Forbid("PBOB") },
			do:       func(ctx context.Context, c *Client) error { return c.Resolve(ctx, "bob@example.com", "PINC") },
			wantKind: incident.KindRefused, wantStatus: 403,
			wantExplain: "PagerDuty refused: you do not have permission to resolve this incident (HTTP 403: Access Denied (code 2010)); if nobody can, PAGERDUTY_API_TOKEN may be a read-only key.",
		},
		{
			name: "unknown incident",
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "ada@example.com", "PNONE", "x")
				return err
			},
			wantKind: incident.KindRefused, wantStatus: 404,
			wantExplain: "PagerDuty refused to add a note to this incident: it does not exist or is not visible to PAGERDUTY_API_TOKEN (HTTP 404: Not Found (code 2100)).",
		},
		{
			name: "From of no PagerDuty user",
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "eve@example.com", "PINC", "x")
				return err
			},
			wantKind: incident.KindRefused, wantStatus: 400,
			wantExplain: "PagerDuty refused to add a note to this incident: it knows no user with your email address (HTTP 400: Requester User Not Found (code 1008)).",
		},
		{
			name:     "rate limited, Retry-After in seconds",
			prepare:  func(pd *pdfake.Server) { pd.Fail(pdfake.Fault{Status: 429, RetryAfter: "10"}) },
			do:       func(ctx context.Context, c *Client) error { return c.Acknowledge(ctx, "ada@example.com", "PINC") },
			wantKind: incident.KindTransient, wantRetry: 10 * time.Second, wantStatus: 429,
			wantExplain: "PagerDuty is rate limiting requests; try again in 10s.",
		},
		{
			name: "rate limited, Retry-After as a date",
			prepare: func(pd *pdfake.Server) {
				pd.Fail(pdfake.Fault{Status: 429, RetryAfter: time.Now().Truncate(time.Second).Add(31 * time.Second).UTC().Format(http.TimeFormat)})
			},
			do:       func(ctx context.Context, c *Client) error { _, err := c.Notes(ctx, "PINC"); return err },
			wantKind: incident.KindTransient, wantRetry: 31 * time.Second, wantStatus: 429,
			wantExplain: "PagerDuty is rate limiting requests; try again in 31s.",
		},
		{
			name:     "server error on a PUT",
			prepare:  func(pd *pdfake.Server) { pd.FailOn("PUT", "/incidents/PINC", pdfake.Fault{Status: 500}) },
			do:       func(ctx context.Context, c *Client) error { return c.Resolve(ctx, "ada@example.com", "PINC") },
			wantKind: incident.KindTransient, wantStatus: 500,
			wantExplain: "PagerDuty failed (HTTP 500: Internal Server Error); try again or use the PagerDuty app.",
		},
		{
			name:    "server error on a POST may have added the note",
			prepare: func(pd *pdfake.Server) { pd.Fail(pdfake.Fault{Status: 502}) },
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "ada@example.com", "PINC", "x")
				return err
			},
			wantKind: incident.KindMaybeDone, wantStatus: 502,
			wantExplain: "PagerDuty failed (HTTP 502: Bad Gateway), so it may or may not add a note to this incident; check the incident in the PagerDuty app before trying again.",
		},
		{
			name:    "503 on a POST: refused, not done",
			prepare: func(pd *pdfake.Server) { pd.Fail(pdfake.Fault{Status: 503}) },
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "ada@example.com", "PINC", "x")
				return err
			},
			wantKind: incident.KindTransient, wantStatus: 503,
			wantExplain: "PagerDuty failed (HTTP 503: Service Unavailable); try again or use the PagerDuty app.",
		},
		{
			name: "wrong token",
			do: func(ctx context.Context, c *Client) error {
				_, err := NewClient(ClientOptions{Token: "wrong", URL: c.url}).Notes(ctx, "PINC")
				return err
			},
			wantKind: incident.KindRefused, wantStatus: 401,
			wantExplain: "PagerDuty refused PAGERDUTY_API_TOKEN (HTTP 401); an admin must set a valid REST API key.",
		},
		{
			name:     "no answer at all",
			url:      "http://127.0.0.1:1",
			do:       func(ctx context.Context, c *Client) error { return c.Acknowledge(ctx, "ada@example.com", "PINC") },
			wantKind: incident.KindTransient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			if tt.prepare != nil {
				tt.prepare(pd)
			}
			if tt.url != "" {
				c = NewClient(ClientOptions{Token: token, URL: tt.url})
			}
			err := tt.do(ctx2s(t), c)
			var ie *incident.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v (%T), want a *incident.Error", err, err)
			}
			if ie.Kind != tt.wantKind || ie.RetryAfter != tt.wantRetry {
				t.Errorf("kind, RetryAfter = %v, %v; want %v, %v (error %v)", ie.Kind, ie.RetryAfter, tt.wantKind, tt.wantRetry, err)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) != (tt.wantStatus != 0) || (apiErr != nil && apiErr.Status != tt.wantStatus) {
				t.Errorf("APIError = %v, want status %d", apiErr, tt.wantStatus)
			}
			if tt.wantExplain != "" {
				if got := Explain(err); got != tt.wantExplain {
					t.Errorf("Explain =\n%q\nwant\n%q", got, tt.wantExplain)
				}
			} else if got := Explain(err); !strings.HasPrefix(got, "Could not reach PagerDuty to read this incident") {
				t.Errorf("Explain = %q, want it to say PagerDuty could not be reached", got)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(Explain(err), token) {
				t.Errorf("the error names the token: %v", err)
			}
		})
	}
}

// TestSlowAnswer: a call PagerDuty does not answer before the caller's
// deadline returns soon after it; a GET or PUT is transient, a POST may
// have taken effect.
func TestSlowAnswer(t *testing.T) {
	t.Parallel()
	// A second, of which each case makes one call: the answer names what
	// was left of the deadline when the call started (to 10 ms below a
	// second), so a call after another (Acknowledge reads the incident
	// before its PUT) would name less on a loaded machine.
	const deadline = time.Second
	tests := []struct {
		name        string
		method      string
		path        string
		do          func(context.Context, *Client) error
		wantKind    incident.Kind
		wantExplain string
	}{
		{name: "GET", method: "GET", path: "/incidents/PINC/notes",
			do:       func(ctx context.Context, c *Client) error { _, err := c.Notes(ctx, "PINC"); return err },
			wantKind: incident.KindTransient, wantExplain: "PagerDuty did not answer within 1s; try again or use the PagerDuty app."},
		{name: "PUT", method: "PUT", path: "/incidents/PINC",
			do:       func(ctx context.Context, c *Client) error { return c.Resolve(ctx, "ada@example.com", "PINC") },
			wantKind: incident.KindTransient, wantExplain: "PagerDuty did not answer within 1s; try again or use the PagerDuty app."},
		{name: "POST", method: "POST", path: "/incidents/PINC/notes",
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "ada@example.com", "PINC", "x")
				return err
			},
			wantKind: incident.KindMaybeDone, wantExplain: "PagerDuty did not answer within 1s, so it may or may not add a note to this incident; check the incident in the PagerDuty app before trying again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			pd.FailOn(tt.method, tt.path, pdfake.Fault{Delay: 10 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := tt.do(ctx, c)
			if d := time.Since(start); d > deadline+400*time.Millisecond {
				t.Errorf("returned after %v, want soon after the %v deadline", d, deadline)
			}
			if k := incident.KindOf(err); k != tt.wantKind {
				t.Errorf("kind = %v, want %v (error %v)", k, tt.wantKind, err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if got := Explain(err); got != tt.wantExplain {
				t.Errorf("Explain =\n%q\nwant\n%q", got, tt.wantExplain)
			}
		})
	}
}

// TestWrongURL: a bare 404 says PAGERDUTY_API_URL is wrong.
func TestWrongURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := NewClient(ClientOptions{Token: token, URL: srv.URL})
	_, err := c.Notes(ctx2s(t), "PINC")
	if incident.KindOf(err) != incident.KindRefused || !strings.Contains(err.Error(), "check PAGERDUTY_API_URL") {
		t.Errorf("error = %v, want a refusal naming PAGERDUTY_API_URL", err)
	}
	want := srv.URL + " is not the PagerDuty REST API (HTTP 404); an admin must set PAGERDUTY_API_URL to https://api.pagerduty.com, or https://api.eu.pagerduty.com for EU accounts."
	if got := Explain(err); got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}
