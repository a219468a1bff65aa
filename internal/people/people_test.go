package people

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

const token = "pd-secret-token-123"

// fakeSlack is users.lookupByEmail over a map of addresses.
type fakeSlack struct {
	mu          sync.Mutex
	users       map[string]string // lower-case email → Slack user id
	deactivated map[string]bool
	errs        []error // returned by the next calls, one each
	calls       []string
}

func newFakeSlack() *fakeSlack {
	return &fakeSlack{users: map[string]string{}, deactivated: map[string]bool{}}
}

func (s *fakeSlack) LookupByEmail(ctx context.Context, email string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, email)
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return "", err
	}
	email = strings.ToLower(email)
	if s.deactivated[email] {
		return "", fmt.Errorf("users.lookupByEmail: %w", incident.ErrUserDeactivated)
	}
	id, ok := s.users[email]
	if !ok {
		return "", fmt.Errorf("users.lookupByEmail: %w", incident.ErrUserNotFound)
	}
	return id, nil
}

func (s *fakeSlack) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// env is a Resolver wired to a fake PagerDuty and a fake Slack.
type env struct {
	pd    *pdfake.Server
	slack *fakeSlack
	cache *memoryCache
	clock *testclock.Clock
	log   *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pd := pdfake.NewServer(token)
	t.Cleanup(pd.Close)
	pd.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	pd.AddUser("PBOB", "Bob Builder", "Bob@Example.com")
	pd.AddUser("PCARL", "Carl Gone", "carl@example.com")
	pd.AddUser("PDORA", "Dora NoSlack", "dora@example.com")
	slack := newFakeSlack()
	slack.users["ada@example.com"] = "UADA"
	slack.users["bob@example.com"] = "UBOB"
	slack.deactivated["carl@example.com"] = true
	return &env{
		pd:    pd,
		slack: slack,
		cache: newMemoryCache(),
		clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		log:   &bytes.Buffer{},
	}
}

// options are the env's Options; tests change them before New.
func (e *env) options() Options {
	return Options{
		PagerDuty: client(token, e.pd.URL()),
		Slack:     e.slack,
		Cache:     e.cache,
		Log:       slog.New(slog.NewTextHandler(e.log, nil)),
		Now:       e.clock.Now,
	}
}

// client is the PagerDuty REST client of token at url.
func client(token, url string) *pagerduty.Client {
	return pagerduty.NewClient(pagerduty.ClientOptions{Token: token, URL: url})
}

func (e *env) resolver() *Resolver { return New(e.options()) }

func ref(id string) incident.Ref {
	return incident.Ref{ID: id, Type: "user_reference", Summary: "Someone " + id}
}

func refs(ids ...string) []incident.Ref {
	var out []incident.Ref
	for _, id := range ids {
		out = append(out, ref(id))
	}
	return out
}

// resolve calls SlackUsers and fails the test on an error.
func resolve(t *testing.T, r *Resolver, ids ...string) (map[string]string, map[string]string) {
	t.Helper()
	found, missing, err := r.SlackUsers(context.Background(), refs(ids...))
	if err != nil {
		t.Fatalf("SlackUsers(%v) error = %v", ids, err)
	}
	return found, reasons(missing)
}

// reasons maps the ids of missing to their reasons.
func reasons(missing []incident.Unmatched) map[string]string {
	out := map[string]string{}
	for _, m := range missing {
		out[m.User.ID] = m.Reason
	}
	return out
}

func TestSlackUsers(t *testing.T) {
	e := newEnv(t)
	found, missing, err := e.resolver().SlackUsers(context.Background(), refs("PADA", "PNOPE", "PBOB", "PCARL", "PDORA"))
	if err != nil {
		t.Fatalf("SlackUsers error = %v", err)
	}
	if diff := cmp.Diff(map[string]string{"PADA": "UADA", "PBOB": "UBOB"}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	// missing keeps the order of the input and the whole Ref.
	want := []incident.Unmatched{
		{User: ref("PNOPE"), Reason: "not found in PagerDuty"},
		{User: ref("PCARL"), Reason: "deactivated in Slack"},
		{User: ref("PDORA"), Reason: "no Slack account"},
	}
	if diff := cmp.Diff(want, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if got := e.pd.Calls(); got != 5 {
		t.Errorf("PagerDuty calls = %d, want 5", got)
	}
	// No Slack look-up for the user PagerDuty does not know.
	if got := e.slack.Calls(); got != 4 {
		t.Errorf("Slack calls = %d, want 4", got)
	}
}

func TestEmailOverride(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Overrides = map[string]string{"DORA@example.COM": "UDORA"}
	found, missing := resolve(t, New(o), "PDORA")
	if diff := cmp.Diff(map[string]string{"PDORA": "UDORA"}, found); diff != "" || len(missing) != 0 {
		t.Errorf("found (-want +got):\n%s\nmissing = %v", diff, missing)
	}
	if got := e.slack.Calls(); got != 0 {
		t.Errorf("Slack calls = %d, want 0: the override wins", got)
	}
	if got := e.pd.Calls(); got != 1 {
		t.Errorf("PagerDuty calls = %d, want 1 (for the address)", got)
	}
}

func TestIDOverride(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Overrides = map[string]string{"PDORA": "UDORA"}
	// The override wins over the cache too.
	e.cache.PutSlackUsers(context.Background(), map[string]Entry{"PDORA": {Reason: "deactivated in Slack", ExpireAt: e.clock.Now().Add(time.Hour)}})
	found, missing := resolve(t, New(o), "PDORA")
	if diff := cmp.Diff(map[string]string{"PDORA": "UDORA"}, found); diff != "" || len(missing) != 0 {
		t.Errorf("found (-want +got):\n%s\nmissing = %v", diff, missing)
	}
	if got := e.pd.Calls() + e.slack.Calls(); got != 0 {
		t.Errorf("PagerDuty + Slack calls = %d, want 0", got)
	}
}

func TestCacheHit(t *testing.T) {
	e := newEnv(t)
	r := e.resolver()
	found1, missing1 := resolve(t, r, "PADA", "PDORA", "PNOPE")
	pdCalls, slackCalls := e.pd.Calls(), e.slack.Calls()

	// Another Resolver on the same cache, like another instance.
	found2, missing2 := resolve(t, e.resolver(), "PADA", "PDORA", "PNOPE")
	if diff := cmp.Diff(found1, found2); diff != "" {
		t.Errorf("found from cache differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(missing1, missing2); diff != "" {
		t.Errorf("missing from cache differs (-first +second):\n%s", diff)
	}
	if got := e.pd.Calls(); got != pdCalls {
		t.Errorf("PagerDuty calls = %d after the second call, want still %d", got, pdCalls)
	}
	if got := e.slack.Calls(); got != slackCalls {
		t.Errorf("Slack calls = %d after the second call, want still %d", got, slackCalls)
	}
}

func TestCacheTTL(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.TTL = 24 * time.Hour
	o.MissTTL = time.Hour
	r := New(o)
	resolve(t, r, "PADA", "PDORA")
	entries, _ := e.cache.SlackUsers(context.Background(), []string{"PADA", "PDORA"})
	want := map[string]Entry{
		"PADA":  {SlackUserID: "UADA", ExpireAt: e.clock.Now().Add(24 * time.Hour)},
		"PDORA": {Reason: "no Slack account", ExpireAt: e.clock.Now().Add(time.Hour)},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("cached (-want +got):\n%s", diff)
	}

	// Within MissTTL, the miss is reused; the found user too.
	e.clock.Add(59 * time.Minute)
	e.pd.ResetCalls()
	_, missing := resolve(t, r, "PADA", "PDORA")
	if got := e.pd.Calls(); got != 0 {
		t.Errorf("PagerDuty calls within MissTTL = %d, want 0", got)
	}
	if missing["PDORA"] != "no Slack account" {
		t.Errorf("missing = %v, want the cached reason for PDORA", missing)
	}

	// Past MissTTL the miss is looked up again, and Dora has joined Slack.
	e.clock.Add(2 * time.Minute)
	e.slack.mu.Lock()
	e.slack.users["dora@example.com"] = "UDORA"
	e.slack.mu.Unlock()
	found, _ := resolve(t, r, "PADA", "PDORA")
	if diff := cmp.Diff([]string{"/users/PDORA"}, e.pd.Paths()); diff != "" {
		t.Errorf("PagerDuty requests past MissTTL (-want +got):\n%s", diff)
	}
	if found["PDORA"] != "UDORA" {
		t.Errorf("found = %v, want PDORA: UDORA", found)
	}

	// Past TTL the found user is looked up again.
	e.clock.Add(24 * time.Hour)
	e.pd.ResetCalls()
	resolve(t, r, "PADA")
	if diff := cmp.Diff([]string{"/users/PADA"}, e.pd.Paths()); diff != "" {
		t.Errorf("PagerDuty requests past TTL (-want +got):\n%s", diff)
	}
}

// retryable returns err as a *incident.Error or fails the test.
func retryable(t *testing.T, err error) *incident.Error {
	t.Helper()
	var re *incident.Error
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want a *incident.Error", err, err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q contains the token", err)
	}
	return re
}

func TestPagerDutyRateLimited(t *testing.T) {
	e := newEnv(t)
	e.pd.Fail(pdfake.Fault{Status: 429, RetryAfter: "7"})
	found, missing, err := e.resolver().SlackUsers(context.Background(), refs("PADA"))
	re := retryable(t, err)
	if re.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", re.RetryAfter)
	}
	if re.Kind == incident.KindMaybeDone {
		t.Error("MaybeDone = true for a read")
	}
	if !strings.Contains(re.Op, "PADA") {
		t.Errorf("Op = %q, want the user id in it", re.Op)
	}
	if found != nil || missing != nil {
		t.Errorf("found, missing = %v, %v with an error; want nil", found, missing)
	}
	// Nothing cached: the next call asks again and succeeds.
	found, _ = resolve(t, e.resolver(), "PADA")
	if found["PADA"] != "UADA" {
		t.Errorf("after the rate limit, found = %v", found)
	}
}

func TestPagerDutyServerErrors(t *testing.T) {
	for _, status := range []int{500, 502, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			e.pd.Fail(pdfake.Fault{Status: status})
			_, _, err := e.resolver().SlackUsers(context.Background(), refs("PADA"))
			re := retryable(t, err)
			if !strings.Contains(err.Error(), fmt.Sprint(status)) {
				t.Errorf("error = %q, want the status in it", err)
			}
			if re.RetryAfter != 0 {
				t.Errorf("RetryAfter = %v, want 0", re.RetryAfter)
			}
		})
	}
}

func TestPagerDutyUnreachable(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	srv := httptest.NewServer(http.NotFoundHandler())
	o.PagerDuty = client(token, srv.URL)
	srv.Close() // nothing listens there any more
	_, _, err := New(o).SlackUsers(context.Background(), refs("PADA"))
	retryable(t, err)
}

func TestPagerDutySlow(t *testing.T) {
	e := newEnv(t)
	e.pd.Fail(pdfake.Fault{Delay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := e.resolver().SlackUsers(ctx, refs("PADA"))
	elapsed := time.Since(start)
	retryable(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("SlackUsers took %v, want it to return soon after the 200ms deadline", elapsed)
	}
}

func TestPagerDutyTokenRefused(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.PagerDuty = client("wrong-token-456", e.pd.URL())
	_, _, err := New(o).SlackUsers(context.Background(), refs("PADA"))
	if err == nil {
		t.Fatal("SlackUsers error = nil, want the token refused")
	}
	if incident.IsRetryable(err) {
		t.Errorf("error = %v is retryable; a refused token is not", err)
	}
	if !strings.Contains(err.Error(), "PAGERDUTY_API_TOKEN") {
		t.Errorf("error = %q, want it to name PAGERDUTY_API_TOKEN", err)
	}
	if strings.Contains(err.Error(), "wrong-token-456") {
		t.Errorf("error = %q contains the token", err)
	}
	if strings.Contains(e.log.String(), "wrong-token-456") {
		t.Errorf("log contains the token:\n%s", e.log)
	}
}

func TestNotPagerDutyURL(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	o := e.options()
	o.PagerDuty = client(token, srv.URL+"/")
	_, _, err := New(o).SlackUsers(context.Background(), refs("PADA"))
	if err == nil || incident.IsRetryable(err) {
		t.Fatalf("SlackUsers error = %v, want a permanent error", err)
	}
	if !strings.Contains(err.Error(), "PAGERDUTY_API_URL") {
		t.Errorf("error = %q, want it to name PAGERDUTY_API_URL", err)
	}
	if entries, _ := e.cache.SlackUsers(context.Background(), []string{"PADA"}); len(entries) != 0 {
		t.Errorf("cached %v; a bad URL must not cache misses", entries)
	}
}

func TestNoToken(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.PagerDuty = nil
	o.Overrides = map[string]string{"PDORA": "UDORA", "ada@example.com": "UADA"}
	e.cache.PutSlackUsers(context.Background(), map[string]Entry{"PCARL": {Reason: "deactivated in Slack", ExpireAt: e.clock.Now().Add(time.Hour)}})
	found, missing := resolve(t, New(o), "PADA", "PDORA", "PCARL", "PBOB")
	if diff := cmp.Diff(map[string]string{"PDORA": "UDORA"}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"PCARL": "deactivated in Slack"}, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if got := e.pd.Calls() + e.slack.Calls(); got != 0 {
		t.Errorf("PagerDuty + Slack calls = %d, want 0 without a PagerDuty client", got)
	}
}

func TestDuplicates(t *testing.T) {
	e := newEnv(t)
	users := append(refs("PADA", "PADA", "PDORA", "PADA", "PDORA"), incident.Ref{Summary: "no id"})
	found, missing, err := e.resolver().SlackUsers(context.Background(), users)
	if err != nil {
		t.Fatalf("SlackUsers error = %v", err)
	}
	if len(found) != 1 || len(missing) != 1 {
		t.Errorf("found, missing = %v, %v; want one each", found, missing)
	}
	if got := e.pd.Requests(); len(got) != 2 {
		t.Errorf("PagerDuty requests = %v, want one per user", got)
	}
	if got := e.slack.Calls(); got != 2 {
		t.Errorf("Slack calls = %d, want 2", got)
	}
}

func TestInvalidID(t *testing.T) {
	e := newEnv(t)
	_, missing := resolve(t, e.resolver(), "../abilities", "P ADA")
	if len(missing) != 2 {
		t.Errorf("missing = %v, want both ids refused", missing)
	}
	if got := e.pd.Calls(); got != 0 {
		t.Errorf("PagerDuty calls = %d, want 0 for ids that are not PagerDuty's", got)
	}
}

func TestConcurrency(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("PU%02d", i)
		e.pd.AddUser(id, "User "+id, id+"@example.com")
		e.slack.users[strings.ToLower(id)+"@example.com"] = "U" + id
		e.pd.Fail(pdfake.Fault{Delay: 30 * time.Millisecond})
		ids = append(ids, id)
	}
	found, _ := resolve(t, e.resolver(), ids...)
	if len(found) != 40 {
		t.Errorf("found %d users, want 40", len(found))
	}
	if got := e.pd.MaxInFlight(); got > maxConcurrent || got < 2 {
		t.Errorf("at most %d PagerDuty requests at a time, want 2 to %d", got, maxConcurrent)
	}
}

func TestSlackRetryable(t *testing.T) {
	e := newEnv(t)
	slackErr := &incident.Error{Kind: incident.KindTransient, Op: "users.lookupByEmail", RetryAfter: 3 * time.Second, Err: errors.New("ratelimited")}
	e.slack.errs = []error{slackErr}
	_, _, err := e.resolver().SlackUsers(context.Background(), refs("PADA"))
	if re := retryable(t, err); re.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %v, want Slack's 3s", re.RetryAfter)
	}
	if entries, _ := e.cache.SlackUsers(context.Background(), []string{"PADA"}); len(entries) != 0 {
		t.Errorf("cached %v after a failure", entries)
	}
}

func TestSlackPermanentError(t *testing.T) {
	e := newEnv(t)
	e.slack.errs = []error{errors.New("missing_scope")}
	_, _, err := e.resolver().SlackUsers(context.Background(), refs("PADA"))
	var re *incident.Error
	if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "missing_scope") {
		t.Errorf("error = %v, want Slack's permanent error", err)
	}
}

// failingCache fails every call.
type failingCache struct{}

func (failingCache) SlackUsers(context.Context, []string) (map[string]Entry, error) {
	return nil, errors.New("cache down")
}

func (failingCache) PutSlackUsers(context.Context, map[string]Entry) error {
	return errors.New("cache down")
}

func TestCacheFailures(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Cache = failingCache{}
	found, _ := resolve(t, New(o), "PADA")
	if found["PADA"] != "UADA" {
		t.Errorf("found = %v, want the look-up despite the cache", found)
	}
	// Under the key every other log line of the function uses.
	if got := strings.Count(e.log.String(), `error="cache down"`); got != 2 {
		t.Errorf("log has %d cache warnings with error=, want 2 (read and write):\n%s", got, e.log)
	}
}

// TestCacheShared: a second Resolver (another instance) finds in the
// shared cache what the first looked up.
func TestCacheShared(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	first, firstMissing := resolve(t, New(o), "PADA", "PDORA")
	second, secondMissing := resolve(t, New(o), "PADA", "PDORA")
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("found differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(firstMissing, secondMissing); diff != "" {
		t.Errorf("missing differs (-first +second):\n%s", diff)
	}
	if got := e.pd.Calls(); got != 2 {
		t.Errorf("PagerDuty calls = %d, want 2 (the first Resolver's)", got)
	}
}
