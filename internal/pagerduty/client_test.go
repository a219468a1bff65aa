package pagerduty

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// recorded is one request a recordingServer received.
type recorded struct {
	method, path string
	header       http.Header
}

// recordingServer answers every REST call with a minimal valid body and
// records the requests.
type recordingServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	s := &recordingServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone()})
		s.mu.Unlock()
		path := strings.TrimPrefix(r.URL.Path, "/api")
		var body string
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/users/"):
			body = `{"user":{"id":"PADA","email":"ada@example.com"}}`
		case path == "/users":
			body = `{"users":[{"id":"PADA","email":"ada@example.com"}],"more":false}`
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/incidents/") && strings.HasSuffix(path, "/notes"):
			body = `{"notes":[]}`
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/incidents/"):
			body = `{"incident":{"status":"triggered"}}`
		case strings.HasPrefix(path, "/escalation_policies/"):
			body = `{"escalation_policy":{"num_loops":1,"escalation_rules":[{},{}]}}`
		case path == "/oncalls":
			body = `{"oncalls":[],"more":false}`
		case path == "/priorities":
			body = `{"priorities":[{"id":"PP2","name":"P2"}],"more":false}`
		case path == "/escalation_policies":
			body = `{"escalation_policies":[],"more":false}`
		case path == "/services":
			body = `{"services":[],"more":false}`
		case path == "/webhook_subscriptions" && r.Method == http.MethodGet:
			body = `{"webhook_subscriptions":[],"more":false}`
		case strings.HasSuffix(path, "/ping"):
			w.WriteHeader(http.StatusAccepted)
			return
		case strings.HasPrefix(path, "/webhook_subscriptions"):
			body = `{"webhook_subscription":{"id":"PSUB"}}`
		default:
			body = `{"incident":{},"note":{}}`
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *recordingServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// TestEveryCallSendsTheSameHeaders: every method of Client reaches the
// base URL with the token, version 2 of the API and the User-Agent, and
// From exactly on the writes made as a PagerDuty user.
func TestEveryCallSendsTheSameHeaders(t *testing.T) {
	t.Parallel()
	const from = "ada@example.com"
	sub := WebhookSubscription{Type: "webhook_subscription", Filter: SubscriptionFilter{Type: "account_reference"}}
	calls := map[string]struct {
		do       func(context.Context, *Client) error
		wantFrom bool
	}{
		"User":        {do: func(ctx context.Context, c *Client) error { _, err := c.User(ctx, "PADA"); return err }},
		"UserByEmail": {do: func(ctx context.Context, c *Client) error { _, err := c.UserByEmail(ctx, from); return err }},
		"Acknowledge": {do: func(ctx context.Context, c *Client) error { return c.Acknowledge(ctx, from, "PINC") }, wantFrom: true},
		"Resolve":     {do: func(ctx context.Context, c *Client) error { return c.Resolve(ctx, from, "PINC") }, wantFrom: true},
		"Escalate": {do: func(ctx context.Context, c *Client) error {
			_, err := c.Escalate(ctx, from, "PINC", "PPOL", nil)
			return err
		}, wantFrom: true},
		"AddNote": {do: func(ctx context.Context, c *Client) error { _, err := c.AddNote(ctx, from, "PINC", "x"); return err }, wantFrom: true},
		"PostStatusUpdate": {do: func(ctx context.Context, c *Client) error {
			_, err := c.PostStatusUpdate(ctx, from, "PINC", "x")
			return err
		}, wantFrom: true},
		"UpdateIncident": {do: func(ctx context.Context, c *Client) error {
			return c.UpdateIncident(ctx, from, "PINC", Update{Priority: "P2", Title: "x"})
		}, wantFrom: true},
		"RequestResponders": {do: func(ctx context.Context, c *Client) error {
			return c.RequestResponders(ctx, from, "PADA", "PINC", "help", []Target{{ID: "PBOB"}})
		}, wantFrom: true},
		"Policies": {do: func(ctx context.Context, c *Client) error { _, err := c.Policies(ctx, "Checkout"); return err }},
		"Services": {do: func(ctx context.Context, c *Client) error { _, err := c.Services(ctx, "Checkout"); return err }},
		"OnCalls":  {do: func(ctx context.Context, c *Client) error { _, err := c.OnCalls(ctx, "PPOL"); return err }},
		"Notes":    {do: func(ctx context.Context, c *Client) error { _, err := c.Notes(ctx, "PINC"); return err }},
		"PastIncidents": {do: func(ctx context.Context, c *Client) error {
			_, err := c.PastIncidents(ctx, "PINC", 5)
			return err
		}},
		"WebhookSubscriptions": {do: func(ctx context.Context, c *Client) error {
			_, err := c.WebhookSubscriptions(ctx)
			return err
		}},
		"WebhookSubscription": {do: func(ctx context.Context, c *Client) error {
			_, err := c.WebhookSubscription(ctx, "PSUB")
			return err
		}},
		"CreateWebhookSubscription": {do: func(ctx context.Context, c *Client) error {
			_, err := c.CreateWebhookSubscription(ctx, sub)
			return err
		}},
		"PingWebhookSubscription": {do: func(ctx context.Context, c *Client) error { return c.PingWebhookSubscription(ctx, "PSUB") }},
	}
	// A method added to Client is added here too.
	typ := reflect.TypeFor[*Client]()
	for i := range typ.NumMethod() {
		if _, ok := calls[typ.Method(i).Name]; !ok {
			t.Errorf("Client.%s is not checked here", typ.Method(i).Name)
		}
	}

	for name, tt := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newRecordingServer(t)
			c := NewClient(ClientOptions{Token: token, URL: s.srv.URL + "/api/"})
			if err := tt.do(ctx2s(t), c); err != nil {
				t.Fatalf("%s error = %v", name, err)
			}
			reqs := s.requests()
			if len(reqs) == 0 {
				t.Fatalf("%s sent no request", name)
			}
			writes := 0
			for _, r := range reqs {
				if !strings.HasPrefix(r.path, "/api/") {
					t.Errorf("%s %s is not under the base URL's path /api/", r.method, r.path)
				}
				for h, want := range map[string]string{
					"Authorization": "Token token=" + token,
					"Accept":        "application/vnd.pagerduty+json;version=2",
					"User-Agent":    "incident-channels",
				} {
					if got := r.header.Get(h); got != want {
						t.Errorf("%s %s header %s = %q, want %q", r.method, r.path, h, got, want)
					}
				}
				write := r.method != http.MethodGet
				if got, want := r.header.Get("Content-Type"), "application/json"; write && !strings.HasSuffix(r.path, "/ping") && got != want {
					t.Errorf("%s %s Content-Type = %q, want %q", r.method, r.path, got, want)
				}
				wantFrom := ""
				if write && tt.wantFrom {
					writes++
					wantFrom = from
				}
				if got := r.header.Get("From"); got != wantFrom {
					t.Errorf("%s %s From = %q, want %q", r.method, r.path, got, wantFrom)
				}
			}
			if tt.wantFrom && writes != 1 {
				t.Errorf("%s made %d writes as a user, want 1", name, writes)
			}
		})
	}
}

// TestWriteWithoutFrom: a write to an incident without a From address is
// refused before anything is sent.
func TestWriteWithoutFrom(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	for name, do := range map[string]func() error{
		"Resolve": func() error { return c.Resolve(ctx2s(t), " ", "PINC") },
		"AddNote": func() error { _, err := c.AddNote(ctx2s(t), "", "PINC", "x"); return err },
	} {
		if err := do(); !errors.Is(err, errNoFrom) || incident.KindOf(err) != incident.KindRefused {
			t.Errorf("%s without From: error = %v, want a refusal naming From", name, err)
		}
	}
	if n := pd.Calls(); n != 0 {
		t.Errorf("writes without From sent %d requests, want none", n)
	}
}

// TestRateLimitWaitInError: a 429's Retry-After reaches the caller in the
// returned error, for a read (a people look-up) and a write (an action),
// and incident.RetryAfter finds it there for the webhook's 503.
func TestRateLimitWaitInError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		do     func(context.Context, *Client) error
	}{
		{name: "GET a user", method: "GET", path: "/users/PADA",
			do: func(ctx context.Context, c *Client) error { _, err := c.User(ctx, "PADA"); return err }},
		{name: "GET users by email", method: "GET", path: "/users",
			do: func(ctx context.Context, c *Client) error {
				_, err := c.UserByEmail(ctx, "ada@example.com")
				return err
			}},
		{name: "POST a note", method: "POST", path: "/incidents/PINC/notes",
			do: func(ctx context.Context, c *Client) error {
				_, err := c.AddNote(ctx, "ada@example.com", "PINC", "x")
				return err
			}},
		{name: "PUT a resolution", method: "PUT", path: "/incidents/PINC",
			do: func(ctx context.Context, c *Client) error { return c.Resolve(ctx, "ada@example.com", "PINC") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			pd.FailOn(tt.method, tt.path, pdfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "12"})
			err := tt.do(ctx2s(t), c)
			var ie *incident.Error
			if !errors.As(err, &ie) || ie.RetryAfter != 12*time.Second || ie.Kind != incident.KindTransient {
				t.Fatalf("error = %v, want a transient *incident.Error with RetryAfter 12s", err)
			}
			if got := incident.RetryAfter(fmtWrap(err)); got != 12*time.Second {
				t.Errorf("incident.RetryAfter(wrapped error) = %v, want 12s", got)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
				t.Errorf("error = %v, want PagerDuty's 429 inside", err)
			}
			if inc, _ := pd.Incident("PINC"); inc.Status != "triggered" || len(pd.Notes("PINC")) != 0 {
				t.Errorf("a rate-limited call changed the incident: %+v, notes %v", inc, pd.Notes("PINC"))
			}
		})
	}
}

// fmtWrap wraps err as a caller up the stack would.
func fmtWrap(err error) error { return errors.Join(errors.New("other"), err) }

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}, time.Minute},
		{http.Header{"Ratelimit-Reset": {"12"}}, 12 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestUser(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	pd.SetTeams("PADA", "PTEAM01")
	got, err := c.User(ctx2s(t), "PADA")
	if err != nil {
		t.Fatalf("User(PADA) error = %v", err)
	}
	if want := (User{ID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "user", Teams: []string{"PTEAM01"}}); !cmp.Equal(got, want) {
		t.Errorf("User(PADA) = %+v, want %+v", got, want)
	}
	_, err = c.User(ctx2s(t), "PNONE")
	if !errors.Is(err, ErrNoUser) || incident.KindOf(err) != incident.KindRefused {
		t.Errorf("User(PNONE) error = %v, want ErrNoUser", err)
	}
	if got, want := Explain(err), "PagerDuty has no user PNONE."; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"/users/PADA", "/users/PNONE"}, pd.Paths()); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}

	// A 404 that is not PagerDuty's is the wrong URL, not a missing user.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err = NewClient(ClientOptions{Token: token, URL: srv.URL}).User(ctx2s(t), "PADA")
	var wrongURL *WrongURLError
	if errors.Is(err, ErrNoUser) || !errors.As(err, &wrongURL) {
		t.Errorf("User on a wrong URL: error = %v, want a WrongURLError", err)
	}
}
