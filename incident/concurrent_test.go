package incident_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// Two instances handling an incident's events at once, with what fails
// redelivered, give one channel, a reply per event and the newest status,
// round after round.
func TestServiceConcurrentDeliveriesOneChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for i := range 20 {
			e := newEnv(t)
			e.slack.delay = time.Millisecond
			// Two instances: separate services over one store and one Slack.
			other := incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc"}, nil)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for j, job := range []struct {
				svc  *incident.Service
				file string
			}{{e.svc, "triggered.json"}, {other, "acknowledged.json"}, {other, "triggered.json"}, {e.svc, "annotated.json"}} {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					_, errs[j] = job.svc.Handle(ctx, loadEvent(t, job.file))
				})
			}
			wg.Wait()
			// Redeliver whatever failed, as PagerDuty would.
			for j, err := range errs {
				if err != nil {
					if !incident.IsRetryable(err) {
						t.Fatalf("round %d: delivery %d error %v is not retryable", i, j, err)
					}
					for _, f := range []string{"triggered.json", "acknowledged.json", "annotated.json"} {
						e.mustHandle(t, f)
					}
				}
			}
			c := e.slack.only()
			if c == nil {
				t.Fatalf("round %d: %d channels, want 1", i, len(e.slack.channels))
			}
			if len(c.replies) != 2 || c.rootInc.Status != "acknowledged" {
				t.Fatalf("round %d: %d replies, root %q; want 2 replies and acknowledged", i, len(c.replies), c.rootInc.Status)
			}
		}
	})
}

// TestServiceWaiterUsesHoldersChannel: while one attempt holds the creation
// lease, creates the channel and then fails to post the root, a concurrent
// attempt waits for the lease. When it gets it, it must use that channel,
// not create a second one from the plan it made before waiting.
func TestServiceWaiterUsesHoldersChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		st := store.NewMemory()
		a := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
		b := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
		slack.failNext("root", &incident.Error{Kind: incident.KindTransient, Op: "root", Err: errors.New("503")})
		slack.delay = 150 * time.Millisecond // A holds the lease a while

		var wg sync.WaitGroup
		wg.Go(func() { _ = handleWithin(t, a, "triggered.json", 3*time.Second) })
		time.Sleep(30 * time.Millisecond)
		wg.Go(func() { _ = handleWithin(t, b, "acknowledged.json", 3*time.Second) })
		wg.Wait()

		slack.mu.Lock()
		defer slack.mu.Unlock()
		if len(slack.channels) != 1 {
			t.Errorf("channels = %v, want one: the waiter must use the holder's channel", slack.names)
		}
	})
}

// A summary owed after a failed first attempt is posted once, even when
// two events that owe it are handled at once.
func TestServiceRouteSummaryOnceUnderConcurrentEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRoutedEnv(t, incident.Config{Router: p1Channels})
		e.slack.shared("CLOW")
		e.slack.shared("CANN")
		e.slack.groups["@sre"] = nil
		e.mustHandle(t, "triggered.json")
		e.mustHandle(t, "acknowledged.json")
		// The channel opens; the summary is rate limited.
		e.slack.failNext("reply", &incident.Error{Kind: incident.KindTransient, Op: "reply", Err: errors.New("ratelimited")})
		if _, err := e.handle(t, "priority_updated.json"); err == nil {
			t.Fatal("want retryable error")
		}
		e.concurrently(t, 150*time.Millisecond, "priority_updated.json", "resolved.json")
		n := 0
		for _, h := range headlines(e.slack.ownChannels()[0].replies) {
			if h == "What happened before this channel opened" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d summaries posted; want 1 (replies %q)", n, headlines(e.slack.ownChannels()[0].replies))
		}
	})
}

// Two events handled at once that both find an invite unfinished post
// the "Could not add" note once.
func TestServiceRouteInviteNoteOnceUnderConcurrentEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := &fakeDirectory{missing: map[string]string{"PUSER00": "no Slack account"}}
		e := newRoutedEnv(t, incident.Config{Directory: dir})
		// First attempt: channel and root, then the directory is rate limited.
		dir.fail = []error{&incident.Error{Kind: incident.KindTransient, Op: "pd", Err: errors.New("429")}}
		if _, err := e.handle(t, "triggered.json"); err == nil {
			t.Fatal("want retryable")
		}
		e.concurrently(t, 150*time.Millisecond, "triggered.json", "acknowledged.json")
		n := 0
		for _, h := range headlines(e.slack.only().replies) {
			if strings.HasPrefix(h, "Could not add") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d notes; want 1 (replies %q)", n, headlines(e.slack.only().replies))
		}
	})
}

// concurrently delivers files at once, with every Slack call slowed by
// delay so that the attempts overlap; errors (503s) are logged.
func (e *env) concurrently(t *testing.T, delay time.Duration, files ...string) {
	t.Helper()
	e.slack.mu.Lock()
	e.slack.delay = delay
	e.slack.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Go(func() {
			if _, err := e.handle(t, f); err != nil {
				t.Logf("%s: %v", f, err)
			}
		})
	}
	wg.Wait()
}
