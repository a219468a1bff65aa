package replay

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// endpoint is a webhook endpoint that answers each request with the next
// status of its script (200 when the script is used up) and records what
// it got.
type endpoint struct {
	t      *testing.T
	secret []byte

	mu       sync.Mutex
	script   []int
	webhooks []string // X-Webhook-Id of each request
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := pagerduty.VerifySignature(body, r.Header.Get(pagerduty.HeaderSignature), [][]byte{e.secret}); err != nil {
		e.t.Errorf("request signature: %v", err)
	}
	if got := r.Header.Get("User-Agent"); got != UserAgent {
		e.t.Errorf("User-Agent = %q, want %q", got, UserAgent)
	}
	e.mu.Lock()
	e.webhooks = append(e.webhooks, r.Header.Get(pagerduty.HeaderWebhookID))
	status := http.StatusOK
	if len(e.script) > 0 {
		status, e.script = e.script[0], e.script[1:]
	}
	e.mu.Unlock()
	http.Error(w, strings.ToLower(http.StatusText(status)), status)
}

func TestSend(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		wantTries []string
		wantOK    bool
	}{
		{"first try", nil, []string{"200 ok"}, true},
		{"503 then 200", []int{503, 503}, []string{"503 service unavailable", "503 service unavailable", "200 ok"}, true},
		{"429 and 500 are retried", []int{429, 500}, []string{"429 too many requests", "500 internal server error", "200 ok"}, true},
		{"gives up after retries", []int{503, 503, 503, 503, 503}, []string{"503 service unavailable", "503 service unavailable", "503 service unavailable", "503 service unavailable"}, false},
		{"401 is final", []int{401}, []string{"401 unauthorized"}, false},
		{"400 is final", []int{400}, []string{"400 bad request"}, false},
	}
	ds, err := Build(Builtin(), Options{Run: "S", FirstNumber: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &endpoint{t: t, secret: []byte("s3cret"), script: tt.script}
			srv := httptest.NewServer(ep)
			defer srv.Close()
			s := &Sender{URL: srv.URL, Secret: []byte("s3cret"), Backoff: time.Millisecond}
			res := s.Send(context.Background(), ds[0])
			var got []string
			for _, try := range res.Tries {
				got = append(got, try.String())
			}
			if !slices.Equal(got, tt.wantTries) {
				t.Errorf("tries = %q, want %q", got, tt.wantTries)
			}
			if res.OK() != tt.wantOK {
				t.Errorf("OK() = %v, want %v", res.OK(), tt.wantOK)
			}
			for i, id := range ep.webhooks {
				if id != ds[0].WebhookID {
					t.Errorf("try %d X-Webhook-Id = %q, want %q on every retry", i, id, ds[0].WebhookID)
				}
			}
			if !strings.Contains(res.String(), "#1 ") || !strings.Contains(res.String(), "incident.triggered") {
				t.Errorf("String() = %q, want the incident number and event type", res.String())
			}
		})
	}
}

func TestSendRetriesConnectionErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/"
	l.Close() // nothing listens: connection refused
	s := &Sender{URL: url, Secret: []byte("x"), Retries: 2, Backoff: time.Millisecond}
	res := s.Send(context.Background(), Delivery{EventType: "incident.triggered", Body: []byte("{}")})
	if len(res.Tries) != 3 || res.OK() {
		t.Errorf("Send to a closed port = %d tries, OK %v; want 3 tries, not OK", len(res.Tries), res.OK())
	}
	if res.Tries[0].Err == nil {
		t.Errorf("try 0 error = nil, want a connection error")
	}
}

func TestSendAll(t *testing.T) {
	ds, err := Build(Builtin(), Options{Incidents: 2, Run: "A", FirstNumber: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// The third delivery is refused for good; the others go through.
	ep := &endpoint{t: t, secret: []byte("k"), script: []int{200, 200, 403}}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	s := &Sender{URL: srv.URL, Secret: []byte("k"), Delay: time.Millisecond}
	var reported []string
	failed := s.SendAll(context.Background(), ds, func(r Result) { reported = append(reported, r.Delivery.EventID) })
	if failed != 1 {
		t.Errorf("SendAll failed = %d, want 1", failed)
	}
	if len(reported) != len(ds) || len(ep.webhooks) != len(ds) {
		t.Errorf("reported %d and delivered %d of %d, want all", len(reported), len(ep.webhooks), len(ds))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if failed := s.SendAll(ctx, ds, nil); failed != len(ds) {
		t.Errorf("SendAll(cancelled) failed = %d, want %d", failed, len(ds))
	}
}
