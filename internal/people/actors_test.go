package people

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/testclock"
)

// fakeSlackEmails is users.info's profile.email by Slack user id.
type fakeSlackEmails struct {
	mu     sync.Mutex
	emails map[string]string
	err    error // returned by every call when set
	calls  int
}

func (s *fakeSlackEmails) UserEmail(_ context.Context, slackUserID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return "", s.err
	}
	return s.emails[slackUserID], nil
}

func (s *fakeSlackEmails) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// actorEnv is Actors wired to the real PagerDuty client, a fake PagerDuty
// and a fake Slack.
type actorEnv struct {
	pd    *pdfake.Server
	slack *fakeSlackEmails
	clock *testclock.Clock
	opts  ActorOptions
}

func newActorEnv(t *testing.T) *actorEnv {
	t.Helper()
	pd := pdfake.NewServer(token)
	t.Cleanup(pd.Close)
	pd.AddUser("PADA", "Ada Lovelace", "Ada@Example.com")
	pd.AddUser("PJOANN", "Joann", "joann@example.com")
	pd.AddUser("PKATE", "Kate", "kate@example.com")
	pd.AddUser("PJOSE", "José", "jos\u00e9@example.com")
	slack := &fakeSlackEmails{emails: map[string]string{
		"UADA":    "ada@example.com",
		"UADAUP":  "ADA@Example.com",
		"UKELVIN": "\u212Aate@example.com", // the Kelvin sign folds to k
		"UJOSE":   "jos\u00e9@example.com",
		"UANN":    "ann@example.com", // only joann@ is in PagerDuty
		"UHIDE":   "",
	}}
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &actorEnv{pd: pd, slack: slack, clock: clock, opts: ActorOptions{
		PagerDuty: client(token, pd.URL()),
		Slack:     slack,
		Cache:     newMemoryCache(),
		Now:       clock.Now,
	}}
}

func TestActorsLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		slackUser string
		want      Actor
		wantErr   error
	}{
		{name: "found, address in another case", slackUser: "UADA", want: Actor{PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "Ada@Example.com", Role: "user"}},
		{name: "found, address in upper case", slackUser: "UADAUP", want: Actor{PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "Ada@Example.com", Role: "user"}},
		{name: "no PagerDuty user with the address", slackUser: "UANN", wantErr: ErrNoPagerDutyUser},
		{name: "a Kelvin-sign look-alike is not kate", slackUser: "UKELVIN", wantErr: ErrNoPagerDutyUser},
		{name: "an address beyond ASCII matches nobody, not even itself", slackUser: "UJOSE", wantErr: ErrNoPagerDutyUser},
		{name: "Slack shows no address", slackUser: "UHIDE", wantErr: ErrNoEmail},
		{name: "unknown to Slack: no address", slackUser: "UNONE", wantErr: ErrNoEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newActorEnv(t)
			a := NewActors(e.opts)
			for i := range 2 { // the second answer comes from the cache
				got, err := a.Lookup(context.Background(), tt.slackUser)
				if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Lookup(%s) #%d = %+v, %v; want %+v, %v", tt.slackUser, i+1, got, err, tt.want, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "@") {
					t.Errorf("error text = %q, names an address (errors are logged)", err)
				}
			}
			if e.slack.Calls() != 1 {
				t.Errorf("Slack calls = %d, want 1: the second Lookup is cached", e.slack.Calls())
			}
		})
	}
}

// TestActorsCacheExpiry: a found user is cached for TTL, a miss for the
// shorter MissTTL.
func TestActorsCacheExpiry(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	e.opts.TTL, e.opts.MissTTL = time.Hour, time.Minute
	a := NewActors(e.opts)
	ctx := context.Background()
	lookupBoth := func() {
		t.Helper()
		if _, err := a.Lookup(ctx, "UADA"); err != nil {
			t.Fatalf("Lookup(UADA) error = %v", err)
		}
		if _, err := a.Lookup(ctx, "UANN"); !errors.Is(err, ErrNoPagerDutyUser) {
			t.Fatalf("Lookup(UANN) error = %v, want ErrNoPagerDutyUser", err)
		}
	}
	lookupBoth()
	e.clock.Add(2 * time.Minute) // the miss expired, the hit did not
	lookupBoth()
	if got := e.slack.Calls(); got != 3 {
		t.Errorf("Slack calls = %d, want 3 (both, then the expired miss)", got)
	}
	// Ann is added to PagerDuty: found once the miss expires.
	e.pd.AddUser("PANN", "Ann", "ann@example.com")
	e.clock.Add(2 * time.Minute)
	if got, err := a.Lookup(ctx, "UANN"); err != nil || got.PagerDutyID != "PANN" {
		t.Errorf("Lookup(UANN) after the miss expired = %+v, %v; want PANN", got, err)
	}
}

// TestActorsTransientNotCached: a rate-limited or slow look-up passes the
// *incident.Error through and caches nothing.
func TestActorsTransientNotCached(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	a := NewActors(e.opts)
	ctx := context.Background()
	e.pd.Fail(pdfake.Fault{Status: 429, RetryAfter: "3"})
	_, err := a.Lookup(ctx, "UADA")
	var ie *incident.Error
	if !errors.As(err, &ie) || ie.Kind != incident.KindTransient || ie.RetryAfter != 3*time.Second {
		t.Fatalf("Lookup error = %v, want a transient *incident.Error with RetryAfter 3s", err)
	}
	if got, err := a.Lookup(ctx, "UADA"); err != nil || got.PagerDutyID != "PADA" {
		t.Errorf("Lookup after the rate limit = %+v, %v; want PADA", got, err)
	}

	slackErr := &incident.Error{Kind: incident.KindTransient, Op: "slack users.info", RetryAfter: time.Second}
	e.slack.mu.Lock()
	e.slack.err = slackErr
	e.slack.mu.Unlock()
	if _, err := a.Lookup(ctx, "UHIDE"); !errors.Is(err, slackErr) || incident.KindOf(err) != incident.KindTransient {
		t.Errorf("Lookup with Slack rate limited = %v, want Slack's error", err)
	}
	if _, ok, _ := e.opts.Cache.Actor(ctx, "UHIDE"); ok {
		t.Error("a failed Slack look-up was cached")
	}
}

func TestActorsInvalidID(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	if _, err := NewActors(e.opts).Lookup(context.Background(), "U1/../x"); err == nil {
		t.Error("Lookup of an invalid id: no error")
	}
	if e.slack.Calls() != 0 {
		t.Error("an invalid id was sent to Slack")
	}
}

// TestActorCacheShared: a second instance finds in the shared cache what
// the first looked up, hits and misses alike.
func TestActorCacheShared(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	ctx := context.Background()
	first := NewActors(e.opts)
	if _, err := first.Lookup(ctx, "UADA"); err != nil {
		t.Fatal(err)
	}
	first.Lookup(ctx, "UANN")
	second := NewActors(e.opts)
	got, err := second.Lookup(ctx, "UADA")
	if err != nil || got.PagerDutyID != "PADA" {
		t.Errorf("second Lookup(UADA) = %+v, %v", got, err)
	}
	if _, err := second.Lookup(ctx, "UANN"); !errors.Is(err, ErrNoPagerDutyUser) {
		t.Errorf("second Lookup(UANN) error = %v, want ErrNoPagerDutyUser", err)
	}
	if got := e.slack.Calls(); got != 2 {
		t.Errorf("Slack calls = %d, want 2 (the first instance's)", got)
	}
}
