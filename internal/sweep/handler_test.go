package sweep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/internal/endpoint"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/internal/sweep/sweeptest"
)

// fakeSweeper counts its calls and answers report and err; with panics
// set it panics instead.
type fakeSweeper struct {
	calls    atomic.Int32
	report   sweep.Report
	err      error
	panics   bool
	deadline time.Duration // how far ahead the context's deadline was
}

func (f *fakeSweeper) Sweep(ctx context.Context) (sweep.Report, error) {
	f.calls.Add(1)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	if f.panics {
		panic("sweep bug")
	}
	return f.report, f.err
}

// newHandler returns the handler with Google's test keys, the sweeper
// and a buffer of its logs, served behind the function's middleware chain
// as the function serves it.
func newHandler(t *testing.T, s sweep.Sweeper, budget time.Duration) (http.Handler, *bytes.Buffer) {
	t.Helper()
	google, _ := issuers(t)
	var logs bytes.Buffer
	chain := endpoint.Chain{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	return chain.Serve(sweep.Endpoint, sweep.NewHandler(sweep.HandlerConfig{
		Verifier: newVerifier(t, google.Client()), Sweeper: s, Budget: budget,
	})), &logs
}

func TestHandlerAuthenticates(t *testing.T) {
	t.Parallel()
	google, impostor := issuers(t)
	pdBody := []byte(`{"event":{"id":"01","event_type":"pagey.ping"}}`)
	tests := []struct {
		name       string
		method     string
		token      string
		pdSigned   bool // signed as PagerDuty signs a webhook
		wantStatus int
	}{
		{"valid token", http.MethodPost, google.Sign(with(nil)), false, http.StatusOK},
		{"wrong audience", http.MethodPost, google.Sign(with(map[string]any{"aud": "https://elsewhere.example"})), false, http.StatusForbidden},
		{"wrong email", http.MethodPost, google.Sign(with(map[string]any{"email": "eve@my-project.iam.gserviceaccount.com"})), false, http.StatusForbidden},
		{"unverified email", http.MethodPost, google.Sign(with(map[string]any{"email_verified": false})), false, http.StatusForbidden},
		{"expired", http.MethodPost, google.Sign(with(map[string]any{"exp": now.Add(-time.Hour).Unix()})), false, http.StatusUnauthorized},
		{"other issuer", http.MethodPost, google.Sign(with(map[string]any{"iss": "https://evil.example"})), false, http.StatusUnauthorized},
		{"bad signature", http.MethodPost, impostor.Sign(with(nil)), false, http.StatusUnauthorized},
		{"missing header", http.MethodPost, "", false, http.StatusUnauthorized},
		{"signed by PagerDuty", http.MethodPost, "", true, http.StatusUnauthorized},
		{"not a POST", http.MethodGet, google.Sign(with(nil)), false, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeSweeper{}
			h, logs := newHandler(t, fake, 0)
			req := request(tt.method, tt.token)
			if tt.pdSigned {
				req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(pdBody, []byte("secret")))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("%s %s = %d %q, want %d", tt.method, sweep.Path, rec.Code, rec.Body.String(), tt.wantStatus)
			}
			want := int32(0)
			if tt.wantStatus == http.StatusOK {
				want = 1
			}
			if calls := fake.calls.Load(); calls != want {
				t.Errorf("Sweep called %d times, want %d", calls, want)
			}
			switch tt.wantStatus {
			case http.StatusUnauthorized:
				if rec.Header().Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
			case http.StatusMethodNotAllowed:
				if rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("405 Allow = %q, want POST", rec.Header().Get("Allow"))
				}
			}
			line := oneLogLine(t, logs)
			if line["status"] != float64(tt.wantStatus) {
				t.Errorf("log status = %v, want %d", line["status"], tt.wantStatus)
			}
			if tt.token != "" && strings.Contains(logs.String(), tt.token) {
				t.Errorf("log reveals the token: %s", logs.String())
			}
		})
	}
}

// The answer to a 401 or 403 does not say what was expected; the log does.
func TestHandlerRefusalSaysLittle(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	h, logs := newHandler(t, &fakeSweeper{}, 0)
	req := request(http.MethodPost, google.Sign(with(map[string]any{"aud": "https://elsewhere.example"})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if body := rec.Body.String(); strings.Contains(body, audience) || !strings.Contains(body, sweep.ErrAudience.Error()) {
		t.Errorf("403 body = %q, want the error without the expected audience", body)
	}
	line := oneLogLine(t, logs)
	if e, _ := line["error"].(string); !strings.Contains(e, audience) || line["invoker"] != invoker {
		t.Errorf("log line = %v, want the error naming the expected audience, and the invoker", line)
	}
}

func TestHandlerAnswersTheReport(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	tests := []struct {
		name       string
		fake       *fakeSweeper
		wantStatus int
		wantBody   map[string]any
		wantLevel  string
	}{
		{"done", &fakeSweeper{report: sweep.Report{Due: 4, Archived: 2, Failed: 1, Left: 1}}, http.StatusOK,
			map[string]any{"due": 4.0, "archived": 2.0, "failed": 1.0, "left": 1.0, "reminded": 0.0}, "INFO"},
		{"reminded", &fakeSweeper{report: sweep.Report{Reminded: 3}}, http.StatusOK,
			map[string]any{"due": 0.0, "archived": 0.0, "failed": 0.0, "left": 0.0, "reminded": 3.0}, "INFO"},
		{"failed", &fakeSweeper{report: sweep.Report{Due: 2, Archived: 1, Left: 1}, err: errors.New("list incidents due for archiving: unavailable")},
			http.StatusServiceUnavailable,
			map[string]any{"due": 2.0, "archived": 1.0, "failed": 0.0, "left": 1.0, "reminded": 0.0, "error": "list incidents due for archiving: unavailable"}, "WARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := newHandler(t, tt.fake, 2*time.Second)
			req := request(http.MethodPost, google.Token(audience, invoker, now))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d %q, want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			if _, ok := body["duration_ms"].(float64); !ok {
				t.Errorf("body %v has no duration_ms", body)
			}
			delete(body, "duration_ms")
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			if tt.fake.deadline <= 0 || tt.fake.deadline > 2*time.Second {
				t.Errorf("sweep deadline %v ahead, want within the 2 s budget", tt.fake.deadline)
			}
			line := oneLogLine(t, logs)
			if line["level"] != tt.wantLevel || line["invoker"] != invoker || line["archived"] != tt.wantBody["archived"] {
				t.Errorf("log line = %v, want level %s, the invoker and the counts", line, tt.wantLevel)
			}
		})
	}
}

// A panic in the sweep is a 500 and an ERROR line; the process goes on.
func TestHandlerRecoversPanic(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	h, logs := newHandler(t, &fakeSweeper{panics: true}, 0)
	req := request(http.MethodPost, google.Token(audience, invoker, now))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if line := oneLogLine(t, logs); line["level"] != "ERROR" || !strings.Contains(line["error"].(string), "sweep bug") {
		t.Errorf("log line = %v, want an ERROR naming the panic", line)
	}
}

// Keys Google's server could not give are a 503: nothing could be checked.
func TestHandlerKeysUnavailable(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	ks := newKeyServer([]byte("unavailable"), nil)
	ks.status.Store(http.StatusBadGateway)
	fake := &fakeSweeper{}
	h := sweep.NewHandler(sweep.HandlerConfig{Verifier: newVerifier(t, sweeptest.Client(ks)), Sweeper: fake})
	req := request(http.MethodPost, google.Token(audience, invoker, now))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || fake.calls.Load() != 0 {
		t.Errorf("status = %d after %d sweeps, want 503 and none", rec.Code, fake.calls.Load())
	}
}

func TestRunSetsDuration(t *testing.T) {
	t.Parallel()
	slow := sweep.Func(func(ctx context.Context) (sweep.Report, error) {
		time.Sleep(10 * time.Millisecond)
		return sweep.Report{Due: 1, Duration: time.Hour}, nil
	})
	r, err := sweep.Run(context.Background(), slow, time.Second)
	if err != nil || r.Due != 1 || r.Duration < 10*time.Millisecond || r.Duration > time.Minute {
		t.Errorf("Run = %+v, %v; want the sweeper's counts and the time it took", r, err)
	}
}

// request returns a request to the sweep with token, when not empty, as
// its bearer token.
func request(method, token string) *http.Request {
	req := httptest.NewRequest(method, sweep.Path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}
func oneLogLine(t *testing.T, logs *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	return line
}
