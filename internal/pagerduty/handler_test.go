package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/endpoint"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

const testSecret = "whsec-test-0123456789"

// fakeService records the events it is given and answers with handle, or
// "processed" when handle is nil.
type fakeService struct {
	handle func(ctx context.Context, ev *incident.Event) (incident.Result, error)

	mu     sync.Mutex
	events []*incident.Event
}

func (s *fakeService) Handle(ctx context.Context, ev *incident.Event) (incident.Result, error) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	if s.handle != nil {
		return s.handle(ctx, ev)
	}
	if !ev.Handled() {
		return incident.Result{Outcome: incident.OutcomeIgnored}, nil
	}
	return incident.Result{Outcome: incident.OutcomeProcessed, ChannelID: "C0CHANNEL"}, nil
}

func (s *fakeService) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// newHandler returns a handler around svc, served behind the function's
// middleware chain as the function serves it, that accepts testSecret and
// an older secret, as during a rotation, and logs JSON into the buffer.
func newHandler(svc pagerduty.Service) (http.Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	chain := endpoint.Chain{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	return chain.Serve(pagerduty.Endpoint, pagerduty.NewHandler(pagerduty.HandlerConfig{
		Secrets: [][]byte{[]byte("old-secret"), []byte(testSecret)},
		Service: svc,
		Budget:  time.Second,
	})), &logs
}

func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(pagerduty.HeaderSignature, sig)
	}
	req.Header.Set(pagerduty.HeaderWebhookID, "wh-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func signed(body []byte) string { return pagerduty.Sign(body, []byte(testSecret)) }

func TestHandlerAnswers(t *testing.T) {
	t.Parallel()
	triggered := readFile(t, "triggered.json")
	v2 := readFile(t, "v2.json")
	ping := readFile(t, "ping.json")
	unknown := []byte(`{"event":{"id":"e1","event_type":"incident.made_up","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"x"}}}`)
	tests := []struct {
		name     string
		body     []byte
		sig      string
		want     int
		wantBody string
		calls    int
	}{
		{"processed", triggered, signed(triggered), 200, "processed", 1},
		{"signed with the old secret during rotation", triggered, pagerduty.Sign(triggered, []byte("old-secret")), 200, "processed", 1},
		{"ping", ping, signed(ping), 200, "ignored", 1},
		{"unknown event type", unknown, signed(unknown), 200, "ignored", 1},
		{"missing signature", triggered, "", 401, "missing", 0},
		{"garbled signature", triggered, "v1=nothex", 401, "missing", 0},
		{"wrong secret", triggered, pagerduty.Sign(triggered, []byte("nope")), 401, "invalid", 0},
		{"signature of another body", triggered, signed(ping), 401, "invalid", 0},
		{"not json", []byte("hello"), signed([]byte("hello")), 400, "malformed", 0},
		{"empty body", []byte{}, signed([]byte{}), 400, "malformed", 0},
		{"wrong shape", []byte(`{"event":[1]}`), signed([]byte(`{"event":[1]}`)), 400, "malformed", 0},
		{"v2 payload", v2, signed(v2), 400, "V3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{}
			h, _ := newHandler(svc)
			rec := post(h, tt.body, tt.sig)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("POST %s = %d %q, want %d containing %q", tt.name, rec.Code, rec.Body.String(), tt.want, tt.wantBody)
			}
			if got := svc.calls(); got != tt.calls {
				t.Errorf("service calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestHandlerMethodAndSize: served as the function serves it, the webhook
// answers 405 to anything but POST and 413 to a body over 256 KiB, and
// the service sees neither (the chain's own tests cover the rest).
func TestHandlerMethodAndSize(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	h, _ := newHandler(svc)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s = %d Allow %q, want 405 Allow POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	big := bytes.Repeat([]byte("x"), pagerduty.MaxBodyBytes+1)
	if rec := post(h, big, signed(big)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST %d bytes = %d, want 413", len(big), rec.Code)
	}
	if n := svc.calls(); n != 0 {
		t.Errorf("service calls = %d, want 0", n)
	}
}

// TestHandlerServiceFailures: a failure after a valid, signed body is
// never a 4xx; a bug is 500, anything else 503, with the wait Slack asked
// for passed on as Retry-After.
func TestHandlerServiceFailures(t *testing.T) {
	t.Parallel()
	rateLimited := func(d time.Duration) error {
		return &incident.Error{Kind: incident.KindTransient, Op: "conversations.create inc-1", RetryAfter: d, Err: errors.New("ratelimited")}
	}
	tests := []struct {
		name           string
		err            error
		panics         bool
		wantStatus     int
		wantRetryAfter string
	}{
		{"rate limited for a minute", rateLimited(time.Minute), false, 503, "60"},
		{"rate limited, partial seconds round up", rateLimited(1500 * time.Millisecond), false, 503, "2"},
		{"rate limited under a second", rateLimited(10 * time.Millisecond), false, 503, "1"},
		{"retryable without a wait", rateLimited(0), false, 503, ""},
		{"wrapped retryable", fmt.Errorf("post root: %w", rateLimited(3*time.Second)), false, 503, "3"},
		{"other failure", errors.New("store unavailable"), false, 503, ""},
		{"recovered panic in the service", fmt.Errorf("%w: boom", incident.ErrPanic), false, 500, ""},
		{"service panics", nil, true, 500, ""},
	}
	body := readFile(t, "triggered.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{handle: func(context.Context, *incident.Event) (incident.Result, error) {
				if tt.panics {
					panic("boom")
				}
				return incident.Result{}, tt.err
			}}
			h, _ := newHandler(svc)
			rec := post(h, body, signed(body))
			if rec.Code != tt.wantStatus {
				t.Errorf("POST = %d %q, want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			// The handler keeps serving after a panic.
			svc.handle = nil
			if rec := post(h, body, signed(body)); rec.Code != http.StatusOK {
				t.Errorf("next POST = %d %q, want 200", rec.Code, rec.Body.String())
			}
		})
	}
}

// checkFunc is a Checker made of a function; it counts its calls.
type checkFunc struct {
	check func(ctx context.Context) error
	mu    sync.Mutex
	n     int
}

func (c *checkFunc) Check(ctx context.Context) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.check(ctx)
}

func (c *checkFunc) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestHandlerPing: pagey.ping is answered by the checks, 2xx only when
// they pass, so a ping proves a deploy end to end; other events never run
// them.
func TestHandlerPing(t *testing.T) {
	t.Parallel()
	ping := readFile(t, "ping.json")
	triggered := readFile(t, "triggered.json")
	tests := []struct {
		name           string
		checkErr       error
		body           []byte
		wantStatus     int
		wantBody       string
		wantRetryAfter string
		wantChecks     int
		wantService    int
	}{
		{"checks pass", nil, ping, 200, "ping ok", "", 1, 0},
		{"token refused", errors.New("slack: auth.test: invalid_auth"), ping, 503, "ping failed: slack: auth.test: invalid_auth", "", 1, 0},
		{"store down", errors.New("store: read health/check: unavailable"), ping, 503, "ping failed: store: read health/check", "", 1, 0},
		{"slack rate limited", &incident.Error{Kind: incident.KindTransient, Op: "auth.test", RetryAfter: 30 * time.Second, Err: errors.New("ratelimited")}, ping, 503, "ping failed: auth.test", "30", 1, 0},
		{"not a ping", errors.New("unused"), triggered, 200, "processed", "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var deadline bool
			check := &checkFunc{check: func(ctx context.Context) error {
				_, deadline = ctx.Deadline()
				return tt.checkErr
			}}
			svc := &fakeService{}
			h := pagerduty.NewHandler(pagerduty.HandlerConfig{Secrets: [][]byte{[]byte(testSecret)}, Service: svc, Checker: check})
			rec := post(h, tt.body, signed(tt.body))
			if rec.Code != tt.wantStatus || !strings.HasPrefix(rec.Body.String(), tt.wantBody) {
				t.Errorf("POST = %d %q, want %d starting %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if got := check.calls(); got != tt.wantChecks {
				t.Errorf("checks = %d, want %d", got, tt.wantChecks)
			}
			if got := svc.calls(); got != tt.wantService {
				t.Errorf("service calls = %d, want %d", got, tt.wantService)
			}
			if tt.wantChecks > 0 && !deadline {
				t.Errorf("the check ran without the request's budget")
			}
		})
	}
	// Without a checker a ping is an event like any other: ignored, 200.
	svc := &fakeService{}
	h, _ := newHandler(svc)
	if rec := post(h, ping, signed(ping)); rec.Code != http.StatusOK || svc.calls() != 1 {
		t.Errorf("ping without a checker = %d after %d service calls, want 200 from the service", rec.Code, svc.calls())
	}
}

// TestHandlerBudget: the service works under the handler's budget, and
// PagerDuty hanging up does not cancel it.
func TestHandlerBudget(t *testing.T) {
	t.Parallel()
	var (
		deadline  time.Time
		cancelled error
	)
	svc := &fakeService{handle: func(ctx context.Context, ev *incident.Event) (incident.Result, error) {
		deadline, _ = ctx.Deadline()
		cancelled = ctx.Err()
		return incident.Result{Outcome: incident.OutcomeProcessed}, nil
	}}
	h, _ := newHandler(svc) // budget 1 s
	body := readFile(t, "triggered.json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller has already gone
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(pagerduty.HeaderSignature, signed(body))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), req)
	end := time.Now()
	if cancelled != nil {
		t.Errorf("service context error = %v, want none when the caller hung up", cancelled)
	}
	if deadline.Before(start.Add(time.Second)) || deadline.After(end.Add(time.Second)) {
		t.Errorf("service deadline = %v after the request started, want the 1 s budget", deadline.Sub(start))
	}
}

// TestHandlerLogLine: one JSON line per request with the fields on-call
// filters on, and never the secret or the payload.
func TestHandlerLogLine(t *testing.T) {
	t.Parallel()
	svc := &fakeService{handle: func(context.Context, *incident.Event) (incident.Result, error) {
		return incident.Result{}, &incident.Error{Kind: incident.KindTransient, Op: "conversations.create inc-1234", Err: errors.New("ratelimited")}
	}}
	h, logs := newHandler(svc)
	body := readFile(t, "triggered.json")
	if rec := post(h, body, signed(body)); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("POST = %d, want 503", rec.Code)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"event_id": "01HT0TRIGGERED0000000000001", "event_type": "incident.triggered", "incident_id": "Q1CHECKOUT",
		"status": float64(503), "webhook_id": "wh-1", "failed_call": "conversations.create", "level": "WARN",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"duration_ms", "error"} {
		if _, ok := line[k]; !ok {
			t.Errorf("log line lacks %q: %s", k, lines[0])
		}
	}
	for _, secret := range []string{testSecret, "Checkout latency above 2s"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// TestHandlerLogsIgnoredFields: a body with fields of unexpected types is
// processed, and its log line counts and names those fields, never their
// values.
func TestHandlerLogsIgnoredFields(t *testing.T) {
	t.Parallel()
	body := bytes.Replace(readFile(t, "triggered.json"), []byte(`"conference_number": "+1 555-0100,,4242#"`),
		[]byte(`"conference_number": {"pin": "secret-pin-42"}`), 1)
	body = bytes.Replace(body, []byte(`"title": "Checkout latency above 2s (p99)"`), []byte(`"title": 1234567`), 1)
	svc := &fakeService{}
	h, logs := newHandler(svc)
	if rec := post(h, body, signed(body)); rec.Code != http.StatusOK {
		t.Fatalf("POST = %d %q, want 200", rec.Code, rec.Body.String())
	}
	var line struct {
		Ignored struct {
			Count int      `json:"count"`
			Names []string `json:"names"`
		} `json:"ignored_fields"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"data.title", "data.conference_bridge.conference_number"}
	if line.Ignored.Count != 2 || !slices.Equal(line.Ignored.Names, wantNames) {
		t.Errorf("ignored_fields = %+v, want count 2 and names %q", line.Ignored, wantNames)
	}
	for _, value := range []string{"secret-pin-42", "1234567"} {
		if strings.Contains(logs.String(), value) {
			t.Errorf("log line contains the ignored value %q: %s", value, logs.String())
		}
	}
	// A body read in full logs no ignored_fields at all.
	logs.Reset()
	ok := readFile(t, "triggered.json")
	post(h, ok, signed(ok))
	if strings.Contains(logs.String(), "ignored_fields") {
		t.Errorf("log line of a clean body has ignored_fields: %s", logs.String())
	}
}

// FuzzHandler posts arbitrary bodies and signature headers, and validly
// signed arbitrary bodies, to the handler: no panic may escape, the status
// must be one the contract allows, and only a signed, well-formed event
// reaches the service.
func FuzzHandler(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b, uint8(0), "")
		f.Add(b, uint8(2), "v1=00, v1=zz")
	}
	f.Add([]byte(`{"event":{"id":"a/b","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"..","type":"incident"}}}`), uint8(0), "")
	f.Add([]byte(`{"messages":[{}]}`), uint8(0), "")
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, header string) {
		svc := &fakeService{}
		h, _ := newHandler(svc)
		var sig string
		switch mode % 3 {
		case 0:
			sig = signed(body)
		case 1:
			sig = ""
		default:
			sig = header
		}
		rec := post(h, body, sig)
		switch rec.Code {
		case http.StatusOK:
			if n := svc.calls(); n != 1 {
				t.Fatalf("answered 200 after %d service calls, want 1", n)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			if n := svc.calls(); n != 0 {
				t.Fatalf("rejected with %d, but made %d service calls", rec.Code, n)
			}
		default:
			t.Fatalf("status %d %q is not in the contract", rec.Code, rec.Body.String())
		}
	})
}
