package people

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/testclock"
)

// fakeSlackUsers is users.info by Slack user id: a user of emails is one
// of the workspace's own with a confirmed address; users holds others.
type fakeSlackUsers struct {
	mu     sync.Mutex
	emails map[string]string
	users  map[string]incident.SlackUser
	err    error // returned by every call when set
	calls  int
}

func (s *fakeSlackUsers) SlackUser(_ context.Context, slackUserID string) (incident.SlackUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return incident.SlackUser{}, s.err
	}
	if u, ok := s.users[slackUserID]; ok {
		return u, nil
	}
	email, ok := s.emails[slackUserID]
	if !ok {
		return incident.SlackUser{}, incident.ErrUserNotFound
	}
	return incident.SlackUser{Email: email, EmailConfirmed: true}, nil
}

func (s *fakeSlackUsers) set(id string, u incident.SlackUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[string]incident.SlackUser{}
	}
	s.users[id] = u
}

func (s *fakeSlackUsers) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// actorEnv is Actors wired to the real PagerDuty client, a fake PagerDuty
// and a fake Slack.
type actorEnv struct {
	pd    *pdfake.Server
	slack *fakeSlackUsers
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
	slack := &fakeSlackUsers{emails: map[string]string{
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newActorEnv(t)
			a := NewActors(e.opts)
			for i := range 2 { // the second answer comes from the cache
				got, err := a.Lookup(context.Background(), tt.slackUser)
				want := tt.want
				want.FromCache = i == 1 && err == nil
				if !cmp.Equal(got, want) || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Lookup(%s) #%d = %+v, %v; want %+v, %v", tt.slackUser, i+1, got, err, want, tt.wantErr)
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

// TestActorsOnlyOurPeople: only the workspace's own people act. A user of
// another organisation, a deactivated account, a bot, an address Slack
// has not confirmed and (unless allowed) a guest fail with ErrNotOurs,
// whose text is the plain answer, without asking PagerDuty; nothing of it
// is cached.
func TestActorsOnlyOurPeople(t *testing.T) {
	t.Parallel()
	ada := incident.SlackUser{Email: "ada@example.com", EmailConfirmed: true}
	with := func(f func(*incident.SlackUser)) incident.SlackUser { u := ada; f(&u); return u }
	tests := []struct {
		name        string
		user        incident.SlackUser
		notFound    bool
		allowGuests bool
		wantText    string // "" acts
	}{
		{name: "a member", user: ada},
		{name: "of another organisation", user: with(func(u *incident.SlackUser) { u.External = true }), wantText: "another organisation"},
		{name: "unknown to the workspace", notFound: true, wantText: "another organisation"},
		{name: "deactivated", user: with(func(u *incident.SlackUser) { u.Deleted = true }), wantText: "deactivated"},
		{name: "a bot or app user", user: with(func(u *incident.SlackUser) { u.Bot = true }), wantText: "Bots and apps"},
		{name: "address not confirmed", user: with(func(u *incident.SlackUser) { u.EmailConfirmed = false }), wantText: "not confirmed your email"},
		{name: "a guest", user: with(func(u *incident.SlackUser) { u.Guest = true }), wantText: "ALLOW_GUESTS"},
		{name: "a guest, guests allowed", user: with(func(u *incident.SlackUser) { u.Guest = true }), allowGuests: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newActorEnv(t)
			e.opts.AllowGuests = tt.allowGuests
			if tt.notFound {
				delete(e.slack.emails, "UADA")
			} else {
				e.slack.set("UADA", tt.user)
			}
			got, err := NewActors(e.opts).Lookup(context.Background(), "UADA")
			if tt.wantText == "" {
				if err != nil || got.PagerDutyID != "PADA" {
					t.Fatalf("Lookup = %+v, %v; want PADA", got, err)
				}
				return
			}
			if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Lookup error = %v, want ErrNotOurs saying %q", err, tt.wantText)
			}
			if n := e.pd.Calls(); n != 0 {
				t.Errorf("PagerDuty calls = %d, want none", n)
			}
			if _, ok, _ := e.opts.Cache.Actor(context.Background(), "UADA"); ok {
				t.Error("a refusal was cached")
			}
		})
	}
}

// TestActorsCachedGuest: a guest found while guests could act is refused
// from the cache once they may not.
func TestActorsCachedGuest(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	e.slack.set("UADA", incident.SlackUser{Email: "ada@example.com", EmailConfirmed: true, Guest: true})
	e.opts.AllowGuests = true
	if _, err := NewActors(e.opts).Lookup(context.Background(), "UADA"); err != nil {
		t.Fatalf("Lookup with guests allowed: %v", err)
	}
	e.opts.AllowGuests = false
	if _, err := NewActors(e.opts).Lookup(context.Background(), "UADA"); !errors.Is(err, ErrNotOurs) {
		t.Errorf("cached guest, guests not allowed: error = %v, want ErrNotOurs", err)
	}
}

// TestActorsRoleAndTeamsFresh: the role and teams are cached for at most
// an hour (even when TTL asks for more, or an older version wrote a
// longer-lived entry), and Reload reads them afresh at once.
func TestActorsRoleAndTeamsFresh(t *testing.T) {
	t.Parallel()
	e := newActorEnv(t)
	e.opts.TTL = 24 * time.Hour
	e.pd.SetRole("PADA", "limited_user")
	e.pd.SetTeams("PADA", "PTEAM01")
	a := NewActors(e.opts)
	ctx := context.Background()
	if got, err := a.Lookup(ctx, "UADA"); err != nil || got.Role != "limited_user" || !cmp.Equal(got.Teams, []string{"PTEAM01"}) {
		t.Fatalf("Lookup = %+v, %v; want limited_user of PTEAM01", got, err)
	}
	e.pd.SetRole("PADA", "user")
	e.pd.SetTeams("PADA", "PTEAM01", "PTEAM02")
	if got, _ := a.Lookup(ctx, "UADA"); got.Role != "limited_user" || !got.FromCache {
		t.Errorf("Lookup within the hour = %+v, want the cached limited_user", got)
	}
	if got, err := a.Reload(ctx, "UADA"); err != nil || got.Role != "user" || got.FromCache || len(got.Teams) != 2 {
		t.Errorf("Reload = %+v, %v; want the new role and teams", got, err)
	}
	e.pd.SetRole("PADA", "admin")
	e.clock.Add(time.Hour + time.Second)
	if got, _ := a.Lookup(ctx, "UADA"); got.Role != "admin" || got.FromCache {
		t.Errorf("Lookup after an hour = %+v, want admin, looked up", got)
	}
	// An entry written to last a day (by an older version) is not trusted.
	entry := ActorEntry{PagerDutyID: "PADA", Name: "Ada", Email: "ada@example.com", Role: "observer", ExpireAt: e.clock.Now().Add(24 * time.Hour)}
	if err := e.opts.Cache.PutActor(ctx, "UADA", entry); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Lookup(ctx, "UADA"); got.Role != "admin" {
		t.Errorf("Lookup over a day-long entry = %+v, want admin, looked up", got)
	}
}
