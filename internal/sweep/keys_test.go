package sweep_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/internal/sweep/sweeptest"
)

// keyServer serves a key set as Google does, with header, and counts the
// fetches.
type keyServer struct {
	fetches atomic.Int32
	body    atomic.Value // []byte
	status  atomic.Int32
	header  http.Header
}

func newKeyServer(body []byte, header http.Header) *keyServer {
	ks := &keyServer{header: header}
	ks.body.Store(body)
	ks.status.Store(http.StatusOK)
	return ks
}

func (ks *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.String() != sweeptest.CertsURL {
		http.NotFound(w, r)
		return
	}
	ks.fetches.Add(1)
	for k, v := range ks.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(int(ks.status.Load()))
	_, _ = w.Write(ks.body.Load().([]byte))
}

// The keys are kept as long as Cache-Control's max-age says: a stream of
// tokens, or of made-up key ids, is not a stream of fetches.
func TestVerifierKeepsKeys(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	ks := newKeyServer(google.KeySet(), http.Header{"Cache-Control": {"public, max-age=3600"}})
	v := newVerifier(t, sweeptest.Client(ks))
	ctx := context.Background()
	for range 3 {
		if _, err := v.Verify(ctx, "Bearer "+google.Token(audience, invoker, now)); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	}
	madeUp := google.SignHeader(map[string]any{"alg": "RS256", "kid": "made-up"}, with(nil))
	if _, err := v.Verify(ctx, "Bearer "+madeUp); !errors.Is(err, sweep.ErrBadSignature) {
		t.Errorf("Verify(made-up key id) = %v, want ErrBadSignature", err)
	}
	if got := ks.fetches.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

// Keys Google's server could not give are ErrKeysUnavailable, not a bad
// signature, and are fetched again by the next token.
func TestVerifierKeysUnavailable(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	tests := []struct {
		name   string
		status int
		body   []byte
	}{
		{"server error", http.StatusInternalServerError, []byte("oops")},
		{"not JSON", http.StatusOK, []byte("<html>")},
		{"no key", http.StatusOK, []byte(`{"keys":[]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ks := newKeyServer(tt.body, nil)
			ks.status.Store(int32(tt.status))
			v := newVerifier(t, sweeptest.Client(ks))
			token := "Bearer " + google.Token(audience, invoker, now)
			if _, err := v.Verify(context.Background(), token); !errors.Is(err, sweep.ErrKeysUnavailable) || errors.Is(err, sweep.ErrBadSignature) {
				t.Errorf("Verify = %v, want ErrKeysUnavailable", err)
			}
			// The keys come back: the next request uses them.
			ks.status.Store(http.StatusOK)
			ks.body.Store(google.KeySet())
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Errorf("Verify once the keys are served = %v", err)
			}
		})
	}
}
