package incident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

const testSecret = "whsec-test-0123456789"

func newHandler(t *testing.T, slack incident.Slack) (*incident.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{}, log)
	return incident.NewHandler([][]byte{[]byte("old-secret"), []byte(testSecret)}, svc, log, 2*time.Second), &logs
}

func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(incident.HeaderSignature, sig)
	}
	req.Header.Set(incident.HeaderWebhookID, "wh-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func signed(body []byte) string { return incident.Sign(body, []byte(testSecret)) }

func TestHandlerAnswers(t *testing.T) {
	triggered := readFile(t, "triggered.json")
	v2 := readFile(t, "v2.json")
	ping := readFile(t, "ping.json")
	tests := []struct {
		name     string
		body     []byte
		sig      string
		want     int
		wantBody string
		calls    int
	}{
		{"processed", triggered, signed(triggered), 200, "processed", 5},
		{"ping", ping, signed(ping), 200, "ignored", 0},
		{"missing signature", triggered, "", 401, "missing", 0},
		{"garbled signature", triggered, "v1=nothex", 401, "missing", 0},
		{"wrong secret", triggered, incident.Sign(triggered, []byte("nope")), 401, "invalid", 0},
		{"signature of another body", triggered, signed(ping), 401, "invalid", 0},
		{"not json", []byte("hello"), signed([]byte("hello")), 400, "malformed", 0},
		{"empty body", []byte{}, signed([]byte{}), 400, "malformed", 0},
		{"wrong shape", []byte(`{"event":[1]}`), signed([]byte(`{"event":[1]}`)), 400, "malformed", 0},
		{"v2 payload", v2, signed(v2), 400, "V3", 0},
		{"unknown event type", []byte(`{"event":{"id":"e1","event_type":"incident.workflow.completed","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"x"}}}`), "", 200, "ignored", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slack := newFakeSlack()
			h, _ := newHandler(t, slack)
			sig := tt.sig
			if sig == "" && tt.want == 200 {
				sig = signed(tt.body)
			}
			rec := post(h, tt.body, sig)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("POST %s = %d %q, want %d containing %q", tt.name, rec.Code, rec.Body.String(), tt.want, tt.wantBody)
			}
			if got := slack.total(); got != tt.calls {
				t.Errorf("Slack calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerMethodAndSize(t *testing.T) {
	slack := newFakeSlack()
	h, _ := newHandler(t, slack)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s = %d Allow %q, want 405 Allow POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	big := bytes.Repeat([]byte("x"), incident.MaxBodyBytes+1)
	if rec := post(h, big, signed(big)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST %d bytes = %d, want 413", len(big), rec.Code)
	}
	// Without Content-Length (chunked) the limit holds while reading, and
	// the body is not read to its end.
	r := &countingReader{r: io.LimitReader(zeros{}, 10<<20)}
	req := httptest.NewRequest(http.MethodPost, "/", r)
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || r.n > 2*incident.MaxBodyBytes {
		t.Errorf("chunked 10 MiB = %d after reading %d bytes, want 413 after about 256 KiB", rec.Code, r.n)
	}
	if slack.total() != 0 {
		t.Errorf("Slack calls = %d, want 0", slack.total())
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestHandlerRetryable(t *testing.T) {
	slack := newFakeSlack()
	h, logs := newHandler(t, slack)
	slack.failNext("create", &incident.Error{Kind: incident.KindTransient, Op: "create channel", RetryAfter: time.Minute, Err: errors.New("ratelimited")})
	body := readFile(t, "triggered.json")
	if rec := post(h, body, signed(body)); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("POST with Slack rate limited = %d, want 503", rec.Code)
	}
	if rec := post(h, body, signed(body)); rec.Code != http.StatusOK {
		t.Fatalf("redelivery = %d %q, want 200", rec.Code, rec.Body.String())
	}
	if c := slack.only(); c == nil || c.root == "" {
		t.Errorf("after redelivery: want one channel with a root message")
	}
	// One JSON line per request with the fields on-call filters on, and
	// never the secret.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines = %d, want 2:\n%s", len(lines), logs.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"event_id", "event_type", "incident_id", "status", "duration_ms", "error", "webhook_id", "failed_call"} {
		if _, ok := first[k]; !ok {
			t.Errorf("log line lacks %q: %s", k, lines[0])
		}
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("logs contain the webhook secret")
	}
}

// panicOnce panics in the first CreateChannel (run on the request's
// goroutine) or PostRoot (run on a reconcile goroutine) call.
type panicOnce struct {
	*fakeSlack
	inCreate bool
	done     bool
}

func (p *panicOnce) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	if p.inCreate && !p.done {
		p.done = true
		panic("boom in create")
	}
	return p.fakeSlack.CreateChannel(ctx, name, private)
}

func (p *panicOnce) PostRoot(ctx context.Context, id string, inc incident.Root) (string, error) {
	if !p.inCreate && !p.done {
		p.done = true
		panic("boom in root")
	}
	return p.fakeSlack.PostRoot(ctx, id, inc)
}

func TestHandlerPanicIs500(t *testing.T) {
	for _, inCreate := range []bool{true, false} {
		slack := newFakeSlack()
		h, _ := newHandler(t, &panicOnce{fakeSlack: slack, inCreate: inCreate})
		body := readFile(t, "triggered.json")
		if rec := post(h, body, signed(body)); rec.Code != http.StatusInternalServerError {
			t.Errorf("POST with Slack panicking (in create: %v) = %d, want 500", inCreate, rec.Code)
		}
		if rec := post(h, body, signed(body)); rec.Code != http.StatusOK {
			t.Errorf("next POST = %d %q, want 200", rec.Code, rec.Body.String())
		}
		if c := slack.only(); c == nil || c.root == "" {
			t.Errorf("after the redelivery: want one channel with a root")
		}
	}
}

// FuzzHandler posts arbitrary bodies and signature headers, and validly
// signed arbitrary bodies, to the handler: no panic may escape, the status
// must be one the contract allows, and a rejected request makes no Slack
// call.
func FuzzHandler(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0), "")
		f.Add(b, uint8(2), "v1=00, v1=zz")
	}
	f.Add([]byte(`{"event":{"id":"a/b","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"..","type":"incident"}}}`), uint8(0), "")
	f.Add([]byte(`{"messages":[{}]}`), uint8(0), "")
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, header string) {
		slack := newFakeSlack()
		svc := incident.NewService(store.NewMemory(), slack, incident.Config{}, nil)
		h := incident.NewHandler([][]byte{[]byte(testSecret)}, svc, nil, time.Second)
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
		case http.StatusOK, http.StatusServiceUnavailable:
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			if n := slack.total(); n != 0 {
				t.Fatalf("rejected with %d, but made %d Slack calls", rec.Code, n)
			}
		default:
			t.Fatalf("status %d %q is not in the contract", rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusServiceUnavailable {
			// A signed, well-formed event may only fail for retryable
			// reasons; with a healthy fake Slack and store there are none.
			t.Fatalf("503 %q with a healthy Slack and store", rec.Body.String())
		}
	})
}

func TestHandlerTraceAndHealth(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	svc := incident.NewService(store.NewMemory(), newFakeSlack(), incident.Config{}, log)
	h := incident.NewHandler([][]byte{[]byte(testSecret)}, svc, log, time.Second)
	h.SetTraceProject("my-project")
	ping := readFile(t, "ping.json")
	tests := []struct {
		header, value, want string
	}{
		{"X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1", "projects/my-project/traces/105445aa7843bc8bf206b12000100000"},
		{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"X-Cloud-Trace-Context", "not hex/1", ""},
	}
	for _, tt := range tests {
		logs.Reset()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(ping))
		req.Header.Set(incident.HeaderSignature, signed(ping))
		req.Header.Set(tt.header, tt.value)
		h.ServeHTTP(httptest.NewRecorder(), req)
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if got, _ := line["logging.googleapis.com/trace"].(string); got != tt.want {
			t.Errorf("%s: %s: trace = %q, want %q", tt.header, tt.value, got, tt.want)
		}
	}
	logs.Reset()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, incident.HealthPath, nil))
	if rec.Code != http.StatusOK || logs.Len() != 0 {
		t.Errorf("GET /healthz = %d with %d bytes logged, want 200 and no log line", rec.Code, logs.Len())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", rec.Code)
	}
}
