package endpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

var testSpec = Spec{Name: "webhook", Method: http.MethodPost, MethodHint: "webhooks are POSTed", MaxBody: 16}

// serve runs one request through the chain around h and returns the
// answer and the one log line it wrote.
func serve(t *testing.T, c Chain, h http.HandlerFunc, req *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	var logs bytes.Buffer
	c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	rec := httptest.NewRecorder()
	c.Serve(testSpec, h).ServeHTTP(rec, req)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var line map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil {
		t.Fatalf("log = %q, want one JSON line", logs.String())
	}
	return rec, line
}

// echo answers the body it read, and annotates the request's line.
func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	Annotate(r.Context(), "processed", err, slog.String("event_id", "E1"))
	_, _ = w.Write(body)
}

func TestServeAnswers(t *testing.T) {
	tests := []struct {
		name       string
		req        *http.Request
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
		wantLine   map[string]any
	}{
		{"served", httptest.NewRequest(http.MethodPost, "/", strings.NewReader("hello")), echo,
			200, "hello", map[string]any{"msg": "webhook processed", "level": "INFO", "status": 200.0, "event_id": "E1"}},
		{"other method", httptest.NewRequest(http.MethodGet, "/", nil), echo,
			405, "method not allowed: webhooks are POSTed\n", map[string]any{"msg": "webhook method not allowed: webhooks are POSTed", "level": "INFO", "status": 405.0}},
		{"body over the limit", httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 17))), echo,
			413, "body over 16 bytes\n", map[string]any{"msg": "webhook body over 16 bytes", "status": 413.0}},
		{"body that cannot be read", httptest.NewRequest(http.MethodPost, "/", iotest.ErrReader(errors.New("reset"))), echo,
			400, "could not read body\n", map[string]any{"msg": "webhook could not read body", "level": "WARN", "status": 400.0, "error": "read body: reset"}},
		{"panic", httptest.NewRequest(http.MethodPost, "/", nil), func(http.ResponseWriter, *http.Request) { panic("boom") },
			500, "internal error\n", map[string]any{"msg": "webhook internal error", "level": "ERROR", "status": 500.0, "error": "panic: boom"}},
		{"failure the handler names", httptest.NewRequest(http.MethodPost, "/", nil), func(w http.ResponseWriter, r *http.Request) {
			Annotate(r.Context(), "not finished", opError{}, slog.String("incident_id", "P1"))
			http.Error(w, "not finished", http.StatusServiceUnavailable)
		}, 503, "not finished\n", map[string]any{"msg": "webhook not finished", "level": "WARN", "status": 503.0, "failed_call": "chat.postMessage", "incident_id": "P1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, line := serve(t, Chain{}, tt.handler, tt.req)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("answer = %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("405 Allow = %q, want POST", rec.Header().Get("Allow"))
			}
			for k, want := range tt.wantLine {
				if line[k] != want {
					t.Errorf("log %s = %v, want %v (line %v)", k, line[k], want, line)
				}
			}
			if _, ok := line["duration_ms"]; !ok {
				t.Errorf("log line has no duration_ms: %v", line)
			}
		})
	}
}

type opError struct{}

func (opError) Error() string     { return "slack: timeout" }
func (opError) Operation() string { return "chat.postMessage" }

// A body without Content-Length is cut off at the limit, not read to its
// end.
func TestServeLimitsChunkedBody(t *testing.T) {
	r := &countingReader{r: io.LimitReader(zeros{}, 10<<20)}
	req := httptest.NewRequest(http.MethodPost, "/", r)
	req.ContentLength = -1
	called := false
	rec, _ := serve(t, Chain{}, func(http.ResponseWriter, *http.Request) { called = true }, req)
	if rec.Code != http.StatusRequestEntityTooLarge || called || r.n > 1<<20 {
		t.Errorf("chunked 10 MiB = %d after reading %d bytes, handler called %t; want 413 early, not called", rec.Code, r.n, called)
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

func TestServeTrace(t *testing.T) {
	tests := []struct {
		name, project, header, value, want string
	}{
		{"cloud trace context", "my-project", "X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1", "projects/my-project/traces/105445aa7843bc8bf206b12000100000"},
		{"traceparent", "my-project", "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"not hex", "my-project", "X-Cloud-Trace-Context", "not hex/1", ""},
		{"no project", "", "X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.Header.Set(tt.header, tt.value)
			_, line := serve(t, Chain{TraceProject: tt.project}, echo, req)
			if got, _ := line["logging.googleapis.com/trace"].(string); got != tt.want {
				t.Errorf("trace = %q, want %q", got, tt.want)
			}
		})
	}
}

// Annotate outside the chain does nothing (a handler used on its own).
func TestAnnotateOutsideChain(t *testing.T) {
	rec := httptest.NewRecorder()
	echo(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Body.String() != "x" {
		t.Errorf("handler outside the chain answered %q", rec.Body.String())
	}
}

// A panic after the handler answered keeps the answer and is logged.
func TestServePanicAfterAnswer(t *testing.T) {
	rec, line := serve(t, Chain{}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic(fmt.Sprint("late"))
	}, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusAccepted || line["error"] != "panic: late" {
		t.Errorf("answer %d, log %v; want 202 kept and the panic logged", rec.Code, line)
	}
}
