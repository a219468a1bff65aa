package netfake

import (
	"errors"
	"io"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestServeInBubble: a handler that takes a minute answers a client of the
// network in a synctest bubble a minute later on the bubble's clock (and
// at once in real time: over loopback the clock would never move, and
// the test would hang).
func TestServeInBubble(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := New()
		srv := nw.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Minute)
			_, _ = io.WriteString(w, "late")
		}))
		defer srv.Close()
		start := time.Now()
		resp, err := nw.Client().Get(srv.URL + "/x")
		if err != nil {
			t.Fatalf("GET error = %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "late" || time.Since(start) != time.Minute {
			t.Errorf("GET = %q after %v, want late after 1m", body, time.Since(start))
		}
	})
}

// TestDialRefused: an address nobody listens at, or no longer, is refused
// as over TCP.
func TestDialRefused(t *testing.T) {
	t.Parallel()
	nw := New()
	srv := nw.Serve(http.NotFoundHandler())
	client := nw.Client()
	resp, err := client.Get(srv.URL)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET while served = %v, %v; want 404", resp, err)
	}
	resp.Body.Close()
	srv.Close()
	client.CloseIdleConnections()
	for _, url := range []string{srv.URL, "http://127.0.0.1:9999"} {
		if _, err := client.Get(url); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET %s error = %v, want connection refused", url, err)
		}
	}
}
