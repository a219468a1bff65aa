package sweep_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/internal/testclock"
)

// keyServer serves a key set as Google does, with header, and counts the
// fetches.
type keyServer struct {
	*httptest.Server
	fetches atomic.Int32
	body    atomic.Value // []byte
	status  atomic.Int32
}

func newKeyServer(t *testing.T, body []byte, header http.Header) *keyServer {
	t.Helper()
	ks := &keyServer{}
	ks.body.Store(body)
	ks.status.Store(http.StatusOK)
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(int(ks.status.Load()))
		_, _ = w.Write(ks.body.Load().([]byte))
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) keys(clock *testclock.Clock) *sweep.GoogleKeys {
	return sweep.NewGoogleKeys(sweep.KeysConfig{URL: ks.URL, Client: ks.Client(), Now: clock.Now})
}

// The keys are kept as long as Cache-Control's max-age, less Age, says.
func TestGoogleKeysCachePerCacheControl(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	ks := newKeyServer(t, google.KeySet(), http.Header{
		"Cache-Control": {"public, max-age=600, must-revalidate, no-transform"},
		"Age":           {"120"},
	})
	clock := testclock.New(now)
	keys := ks.keys(clock)
	ctx := context.Background()
	steps := []struct {
		advance     time.Duration
		wantFetches int32
	}{
		{0, 1},                              // first use fetches
		{time.Minute, 1},                    // kept
		{6*time.Minute + 59*time.Second, 1}, // 7m59s: max-age 10 min less Age 2 min
		{2 * time.Second, 2},                // 8m01s: stale, fetched again
		{7 * time.Minute, 2},                // kept
	}
	for i, s := range steps {
		clock.Add(s.advance)
		if _, err := keys.Key(ctx, google.Kid); err != nil {
			t.Fatalf("step %d: Key = %v", i, err)
		}
		if got := ks.fetches.Load(); got != s.wantFetches {
			t.Errorf("step %d: fetches = %d, want %d", i, got, s.wantFetches)
		}
	}
}

// A key id the cached keys do not have fetches them again (Google may
// have added a key), but at most once a minute.
func TestGoogleKeysUnknownKeyID(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	ks := newKeyServer(t, google.KeySet(), http.Header{"Cache-Control": {"max-age=3600"}})
	clock := testclock.New(now)
	keys := ks.keys(clock)
	ctx := context.Background()
	if _, err := keys.Key(ctx, google.Kid); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := keys.Key(ctx, "made-up"); !errors.Is(err, sweep.ErrUnknownKey) {
			t.Errorf("Key(made-up) #%d = %v, want ErrUnknownKey", i, err)
		}
	}
	if got := ks.fetches.Load(); got != 1 {
		t.Errorf("fetches after unknown key ids within the minute = %d, want 1", got)
	}
	clock.Add(61 * time.Second)
	if _, err := keys.Key(ctx, "made-up"); !errors.Is(err, sweep.ErrUnknownKey) {
		t.Errorf("Key(made-up) = %v, want ErrUnknownKey", err)
	}
	if got := ks.fetches.Load(); got != 2 {
		t.Errorf("fetches a minute later = %d, want 2", got)
	}
}

func TestGoogleKeysUnavailable(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	tests := []struct {
		name   string
		status int
		body   []byte
	}{
		{"server error", http.StatusInternalServerError, []byte("oops")},
		{"not JSON", http.StatusOK, []byte("<html>")},
		{"no RSA key", http.StatusOK, []byte(`{"keys":[{"kty":"EC","kid":"k","crv":"P-256"}]}`)},
		{"key too small", http.StatusOK, []byte(`{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ks := newKeyServer(t, tt.body, nil)
			ks.status.Store(int32(tt.status))
			clock := testclock.New(now)
			keys := ks.keys(clock)
			if _, err := keys.Key(context.Background(), google.Kid); !errors.Is(err, sweep.ErrKeysUnavailable) {
				t.Errorf("Key = %v, want ErrKeysUnavailable", err)
			}
			// The keys come back: the next request uses them.
			ks.status.Store(http.StatusOK)
			ks.body.Store(google.KeySet())
			if _, err := keys.Key(context.Background(), google.Kid); err != nil {
				t.Errorf("Key once the keys are served = %v", err)
			}
		})
	}
}

// Without max-age the keys are kept a minute, so a burst of requests does
// not become a burst of fetches.
func TestGoogleKeysNoStore(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	ks := newKeyServer(t, google.KeySet(), http.Header{"Cache-Control": {"no-store"}})
	clock := testclock.New(now)
	keys := ks.keys(clock)
	for range 3 {
		if _, err := keys.Key(context.Background(), google.Kid); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(time.Minute)
	if _, err := keys.Key(context.Background(), google.Kid); err != nil {
		t.Fatal(err)
	}
	if got := ks.fetches.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2 (one per minute)", got)
	}
}

// The verifier with Google's keys fetched over HTTP accepts Google's
// token and refuses the impostor's.
func TestVerifyWithFetchedKeys(t *testing.T) {
	t.Parallel()
	google, impostor := issuers(t)
	ks := newKeyServer(t, google.KeySet(), http.Header{"Cache-Control": {"max-age=3600"}})
	clock := testclock.New(now)
	v := sweep.NewVerifier(sweep.VerifierConfig{Audience: audience, Invoker: invoker, Keys: ks.keys(clock), Now: clock.Now})
	if _, err := v.Verify(context.Background(), "Bearer "+google.Token(audience, invoker, now)); err != nil {
		t.Errorf("Verify(Google's token) = %v", err)
	}
	if _, err := v.Verify(context.Background(), "Bearer "+impostor.Token(audience, invoker, now)); !errors.Is(err, sweep.ErrBadSignature) {
		t.Errorf("Verify(impostor's token) = %v, want ErrBadSignature", err)
	}
}
