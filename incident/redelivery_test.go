package incident_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

func TestServiceResumesAfterFailure(t *testing.T) {
	rate := &incident.Error{Kind: incident.KindTransient, Op: "post reply", RetryAfter: 30 * time.Second, Err: errors.New("ratelimited")}
	tests := []struct {
		name   string
		method string
		file   string
	}{
		{"create rate limited", "create", "triggered.json"},
		{"root post fails", "root", "triggered.json"},
		{"invite fails", "invite", "triggered.json"},
		{"reply fails", "reply", "acknowledged.json"},
		{"update fails", "update", "acknowledged.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.file != "triggered.json" {
				e.mustHandle(t, "triggered.json")
			}
			e.slack.failNext(tt.method, rate)
			_, err := e.handle(t, tt.file)
			if !incident.IsRetryable(err) {
				t.Fatalf("Handle with %s failing = %v, want a retryable error", tt.method, err)
			}
			res := e.mustHandle(t, tt.file) // PagerDuty's redelivery
			if res.Outcome != incident.OutcomeProcessed {
				t.Errorf("redelivery outcome = %q", res.Outcome)
			}
			c := e.slack.only()
			if c == nil {
				t.Fatalf("want exactly one channel after the redelivery, got %d", len(e.slack.channels))
			}
			wantReplies := 0
			if tt.file == "acknowledged.json" {
				wantReplies = 1
			}
			if c.root == "" || len(c.replies) != wantReplies || len(c.members) != 1 || c.topic == "" {
				t.Errorf("after redelivery: root %q, %d replies (want %d), members %v, topic %q", c.root, len(c.replies), wantReplies, c.members, c.topic)
			}
			if c.rootInc.Status != loadEvent(t, tt.file).Incident.Status {
				t.Errorf("root status = %q", c.rootInc.Status)
			}
			e.slack.resetCalls()
			if res := e.mustHandle(t, tt.file); res.Outcome != incident.OutcomeDuplicate || e.slack.total() != 0 {
				t.Errorf("third delivery: %q with %d calls, want duplicate with 0", res.Outcome, e.slack.total())
			}
		})
	}
}

func TestServicePermanentInviteFailureDoesNotBlock(t *testing.T) {
	e := newEnv(t)
	e.slack.failNext("invite", errors.New("cant_invite"))
	res := e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeProcessed {
		t.Errorf("outcome = %q, want processed despite a permanent invite failure", res.Outcome)
	}
}

// TestServiceRateLimitedCreateLooksForNoOrphan: a create refused with a
// 429 made no channel, so the redelivery creates at once without scanning
// the workspace's channels for an orphan.
func TestServiceRateLimitedCreateLooksForNoOrphan(t *testing.T) {
	e := newEnv(t)
	e.slack.failNext("create", &incident.Error{Kind: incident.KindTransient, Op: "create", RetryAfter: time.Second, Err: errors.New("ratelimited")})
	if _, err := e.handle(t, "triggered.json"); !incident.IsRetryable(err) {
		t.Fatalf("first delivery = %v, want retryable", err)
	}
	e.mustHandle(t, "triggered.json")
	e.slack.mu.Lock()
	defer e.slack.mu.Unlock()
	if n := e.slack.calls["findChannel"]; n != 0 {
		t.Errorf("FindChannel called %d times after a refused create, want 0", n)
	}
}

// flakyStore fails one Update: the first one made after Slack received a
// call of method, as when the store goes away right after Slack answered.
type flakyStore struct {
	incident.Store
	slack  *fakeSlack
	method string
	mu     sync.Mutex
	failed bool
}

func (f *flakyStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	called := f.slack.callsOf(f.method) > 0
	f.mu.Lock()
	fail := called && !f.failed
	f.failed = f.failed || fail
	f.mu.Unlock()
	if fail {
		return errors.New("store unavailable")
	}
	return f.Store.Update(ctx, incidentID, eventID, fn)
}

// TestServiceSlackDoneStoreFailed covers the window between Slack doing a
// step and the store recording it: the redelivery finds what was done
// (root, reply, bookmarks) instead of doing it twice.
func TestServiceSlackDoneStoreFailed(t *testing.T) {
	tests := []struct {
		name   string
		method string // the Slack call after which the store fails
		setup  []string
		file   string
		find   string // the Find call the redelivery must make
	}{
		{"root posted, not recorded", "root", nil, "triggered.json", "findRoot"},
		{"bookmark added, not recorded", "bookmark", nil, "triggered.json", "bookmarks"},
		{"reply posted, not recorded", "reply", []string{"triggered.json"}, "acknowledged.json", "findReply"},
		{"note posted, not recorded", "reply", []string{"triggered.json"}, "annotated.json", "findReply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slack := newFakeSlack()
			st := &flakyStore{Store: store.NewMemory(), slack: slack, method: "never"}
			svc := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
			handle := func(name string) error { return handleWithin(t, svc, name, 3*time.Second) }
			for _, f := range tt.setup {
				if err := handle(f); err != nil {
					t.Fatal(err)
				}
			}
			slack.resetCalls()
			st.method = tt.method
			if err := handle(tt.file); err == nil {
				t.Fatalf("Handle(%s) with the store failing after %s = nil, want an error (503)", tt.file, tt.method)
			}
			if err := handle(tt.file); err != nil { // PagerDuty's redelivery
				t.Fatalf("redelivery error = %v", err)
			}
			c := slack.only()
			if c == nil {
				t.Fatalf("want exactly one channel, got %d", len(slack.channels))
			}
			wantReplies := 0
			if tt.file != "triggered.json" {
				wantReplies = 1
			}
			if len(c.replies) != wantReplies || len(c.bookmarks) != 2 {
				t.Errorf("after redelivery: %d replies (want %d), bookmarks %v (want 2, once each)", len(c.replies), wantReplies, c.bookmarks)
			}
			finds := slack.callsOf(tt.find)
			if finds == 0 {
				t.Errorf("the redelivery did not call %s", tt.find)
			}
			slack.resetCalls()
			if err := handle(tt.file); err != nil || slack.total() != 0 {
				t.Errorf("third delivery: %v with %d calls, want a duplicate with none", err, slack.total())
			}
		})
	}
}
