package incident_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// TestServiceOrphanChannel covers a conversations.create that created the
// channel but whose answer was lost: once the creation lease expires, the
// redelivery finds the name taken by that very channel and adopts it. A
// name taken by someone else's channel is never adopted.
func TestServiceOrphanChannel(t *testing.T) {
	const base = "inc-1234-checkout-latency-above-2s-p99"
	tests := []struct {
		name     string
		setup    func(f *fakeSlack)
		wantName string
	}{
		{"answer lost: adopt", func(f *fakeSlack) { f.loseCreate = 1 }, base},
		{"rate limited, then someone took the name: suffix", func(f *fakeSlack) {
			f.fail["create"] = []error{&incident.Error{Kind: incident.KindTransient, Op: "create", RetryAfter: time.Second, Err: errors.New("ratelimited")}}
			f.names[base] = "CFOREIGN" // taken meanwhile, by a person
		}, base + "-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slack := newFakeSlack()
				svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 150 * time.Millisecond}, nil)
				tt.setup(slack)
				handle := func() error { return handleWithin(t, svc, "triggered.json", 3*time.Second) }
				if err := handle(); !incident.IsRetryable(err) {
					t.Fatalf("first delivery error = %v, want a retryable one", err)
				}
				err := redeliver(20, 50*time.Millisecond, func() error { return handle() })
				if err != nil {
					t.Fatalf("redeliveries never succeeded: %v", err)
				}
				c := slack.only()
				if c == nil {
					t.Fatalf("channels = %v, want exactly one of ours", slack.names)
				}
				if c.name != tt.wantName || c.root == "" {
					t.Errorf("channel %q with root %q, want %q with a root", c.name, c.root, tt.wantName)
				}
			})
		})
	}
}

// TestServiceOrphanChannelRenamed: the lost creation came from a note (a
// reference: the channel is named from the incident id), and the next
// delivery is the full incident, which would be named from its number. The
// orphan is still found and adopted.
func TestServiceOrphanChannelRenamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		slack.loseCreate = 1
		svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 150 * time.Millisecond}, nil)
		handle := func(file string) error { return handleWithin(t, svc, file, 3*time.Second) }
		if err := handle("annotated.json"); !incident.IsRetryable(err) {
			t.Fatalf("note with the create answer lost = %v, want a retryable error", err)
		}
		err := redeliver(20, 50*time.Millisecond, func() error { return handle("triggered.json") })
		if err != nil {
			t.Fatalf("triggered never succeeded: %v", err)
		}
		c := slack.only()
		if c == nil {
			t.Fatalf("channels = %v, want the orphan adopted, not a second channel", slack.names)
		}
		if c.root == "" || c.rootInc.Number != 1234 {
			t.Errorf("adopted channel %q: root %q showing #%d, want the full incident", c.name, c.root, c.rootInc.Number)
		}
	})
}

// TestServiceRootMaybePostedKeepsLease: the root post timed out, but Slack
// posted it. The lease is kept until it expires, so a concurrent event
// does not post a second root meanwhile; afterwards the root is found and
// adopted.
func TestServiceRootMaybePostedKeepsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		st := store.NewMemory()
		cfg := incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}
		a := incident.NewService(st, slack, cfg, nil)
		b := incident.NewService(st, slack, cfg, nil)
		slack.loseRoot = 1
		if err := handleWithin(t, a, "triggered.json", 500*time.Millisecond); !incident.IsRetryable(err) {
			t.Fatalf("triggered with the root's answer lost = %v, want retryable", err)
		}
		// At once, another event: the lease is still held, so it must not post
		// a root (the fake fails the test on a second root).
		if err := handleWithin(t, b, "acknowledged.json", 1200*time.Millisecond); err == nil {
			t.Fatalf("acknowledged during the kept lease = nil, want busy (503)")
		}
		roots := slack.callsOf("root")
		if roots != 1 {
			t.Fatalf("root posted %d times before the lease expired, want once", roots)
		}
		for _, f := range []string{"acknowledged.json", "triggered.json"} {
			err := redeliver(40, 100*time.Millisecond, func() error { return handleWithin(t, b, f, time.Second) })
			if err != nil {
				t.Fatalf("%s after the lease expired = %v", f, err)
			}
		}
		c := slack.only()
		if c == nil || c.root == "" || c.rootInc.Status != "acknowledged" || len(c.replies) != 1 {
			t.Fatalf("channel %+v: want one root, edited to acknowledged, one reply", c)
		}
	})
}

// TestServiceRootMaybePostedCommitFailedKeepsLease: the root's answer is
// lost and then recording the round fails too. The lease must still be
// kept, so a concurrent event does not post a second root while Slack's
// history does not show the first yet.
func TestServiceRootMaybePostedCommitFailedKeepsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		st := &flakyStore{Store: store.NewMemory(), slack: slack, method: "root"}
		cfg := incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}
		a := incident.NewService(st, slack, cfg, nil)
		b := incident.NewService(st, slack, cfg, nil)
		slack.loseRoot = 1
		if err := handleWithin(t, a, "triggered.json", 500*time.Millisecond); err == nil {
			t.Fatal("triggered with the root's answer lost and the store failing = nil, want an error")
		}
		_ = handleWithin(t, b, "acknowledged.json", 1200*time.Millisecond)
		roots := slack.callsOf("root")
		if roots != 1 {
			t.Fatalf("root posted %d times while its first post was unclear, want once", roots)
		}
	})
}

// TestServiceReplyMaybePostedKeepsEventLease: the reply's answer is lost;
// the event's lease is kept, so the immediate redelivery does not post it
// again while Slack does not show it yet, and a later one finds it.
func TestServiceReplyMaybePostedKeepsEventLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}, nil)
		handle := func(file string, budget time.Duration) error { return handleWithin(t, svc, file, budget) }
		if err := handle("triggered.json", time.Second); err != nil {
			t.Fatal(err)
		}
		slack.loseReply = 1
		if err := handle("acknowledged.json", 500*time.Millisecond); !incident.IsRetryable(err) {
			t.Fatalf("acknowledged with the reply's answer lost = %v, want retryable", err)
		}
		if err := handle("acknowledged.json", 500*time.Millisecond); err == nil {
			t.Fatalf("immediate redelivery = nil, want busy while the event lease is kept")
		}
		err := redeliver(40, 100*time.Millisecond, func() error { return handle("acknowledged.json", time.Second) })
		if err != nil {
			t.Fatalf("redelivery after the lease expired = %v", err)
		}
		if c := slack.only(); c == nil || len(c.replies) != 1 {
			t.Fatalf("replies = %v, want exactly one", c)
		}
	})
}

// ledgerEnv is a service with routing rules and short leases, for tests
// that lose Slack's answer to a post and redeliver.
func ledgerEnv(t *testing.T) (*fakeSlack, func(file string, budget time.Duration) error) {
	t.Helper()
	slack := newFakeSlack()
	slack.shared("CLOW")
	slack.shared("CANN")
	slack.groups["@sre"] = nil
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{
		ChannelPrefix: "inc", Router: p1Channels, LeaseTTL: 100 * time.Millisecond,
		LeaseMargin: 50 * time.Millisecond, Poll: 10 * time.Millisecond,
	}, nil)
	return slack, func(file string, budget time.Duration) error { return handleWithin(t, svc, file, budget) }
}

// loseBoardAnswer delivers file while Slack loses its answer to the next
// shared-channel post, and wants the delivery answered 503.
func loseBoardAnswer(t *testing.T, slack *fakeSlack, handle func(string, time.Duration) error, file string) {
	t.Helper()
	slack.mu.Lock()
	slack.loseBoard = 1
	slack.mu.Unlock()
	if err := handle(file, 500*time.Millisecond); !incident.IsRetryable(err) {
		t.Fatalf("%s with a shared-channel post's answer lost = %v, want retryable", file, err)
	}
}

// A message in a shared channel whose answer was lost is found by the
// redelivery, not posted twice: the post-only message, then the announce
// message of the channel opened later.
func TestServiceBoardAnswerLostNotPostedTwice(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		slack, handle := ledgerEnv(t)
		for _, step := range []struct{ file, channel string }{
			{"triggered.json", "CLOW"},        // P2: the post-only message
			{"priority_updated.json", "CANN"}, // P1: a channel, announced
		} {
			loseBoardAnswer(t, slack, handle, step.file)
			if err := redeliver(40, 50*time.Millisecond, func() error { return handle(step.file, time.Second) }); err != nil {
				t.Fatalf("redelivery of %s = %v", step.file, err)
			}
			if _, _, n := slack.board(step.channel, "Q1CHECKOUT"); n != 1 {
				t.Errorf("%s: %d messages for the incident, want 1", step.channel, n)
			}
		}
		finds := slack.callsOf("findBoard")
		if finds != 2 {
			t.Errorf("FindBoard calls = %d, want one per lost answer (2)", finds)
		}
	})
}

// A channel that opens while the post-only message's post is unsettled
// (its answer lost) still owes, and posts, the summary of what happened
// before it opened.
func TestServiceChannelOpensWhilePostOnlyMessageUnsettled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		slack, handle := ledgerEnv(t)
		loseBoardAnswer(t, slack, handle, "triggered.json")
		if err := redeliver(40, 50*time.Millisecond, func() error { return handle("priority_updated.json", time.Second) }); err != nil {
			t.Fatalf("priority raised: %v", err)
		}
		if err := redeliver(40, 50*time.Millisecond, func() error { return handle("triggered.json", time.Second) }); err != nil {
			t.Fatalf("redelivery of triggered: %v", err)
		}
		own := slack.ownChannels()
		if len(own) != 1 {
			t.Fatalf("%d channels, want 1", len(own))
		}
		summaries := 0
		for _, r := range own[0].replies {
			if strings.HasPrefix(r.Headline, "What happened before") {
				summaries++
			}
		}
		if summaries != 1 {
			t.Errorf("channel replies %q: %d summaries, want 1", headlines(own[0].replies), summaries)
		}
		if _, _, n := slack.board("CLOW", "Q1CHECKOUT"); n != 1 {
			t.Errorf("CLOW: %d messages for the incident, want 1", n)
		}
	})
}

// A reply posted in the post-only thread whose answer was lost is found
// there by the redelivery, even though the incident's channel opened
// meanwhile: it is not posted a second time in the channel.
func TestServiceLostPostOnlyReplyFoundAfterChannelOpened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		slack.shared("CLOW")
		slack.shared("CANN")
		slack.groups["@sre"] = nil
		svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", Router: p1Channels, LeaseTTL: 300 * time.Millisecond}, nil)
		handle := func(file string, budget time.Duration) error { return handleWithin(t, svc, file, budget) }
		if err := handle("triggered.json", time.Second); err != nil {
			t.Fatal(err)
		}
		slack.mu.Lock()
		slack.loseReply = 1
		slack.mu.Unlock()
		if err := handle("acknowledged.json", 500*time.Millisecond); !incident.IsRetryable(err) {
			t.Fatalf("acknowledged with the reply's answer lost = %v, want retryable", err)
		}
		if err := handle("priority_updated.json", 2*time.Second); err != nil {
			t.Fatalf("priority raised: %v", err)
		}
		err := redeliver(40, 100*time.Millisecond, func() error { return handle("acknowledged.json", time.Second) })
		if err != nil {
			t.Fatalf("redelivery after the lease expired = %v", err)
		}
		n := 0
		for _, c := range append(slack.ownChannels(), slack.channel("CLOW")) {
			for _, r := range c.replies {
				if strings.HasPrefix(r.Headline, "Acknowledged") {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("acknowledgement posted %d times across the post-only thread and the channel, want 1", n)
		}
	})
}

// A shared-channel message found by a look-up shows what the attempt
// that lost its answer rendered; when the incident has moved on since,
// it is edited to the newest state.
func TestServiceBoardFoundShowsNewestState(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		slack, handle := ledgerEnv(t)
		loseBoardAnswer(t, slack, handle, "triggered.json")
		if err := redeliver(40, 50*time.Millisecond, func() error { return handle("acknowledged.json", time.Second) }); err != nil {
			t.Fatalf("acknowledged: %v", err)
		}
		if _, b, n := slack.board("CLOW", "Q1CHECKOUT"); n != 1 || b.entry.Incident.Status != "acknowledged" {
			t.Errorf("CLOW: %d messages showing %q, want one showing acknowledged", n, b.entry.Incident.Status)
		}
	})
}

// A message whose answer was lost is looked up before anything else
// happens to it: when the look-up itself is rate-limited, the delivery
// is answered 503 rather than the message put off, which would forget
// that it may have been posted.
func TestServiceBoardLookupRateLimitedNotPutOff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		slack, handle := ledgerEnv(t)
		if err := handle("triggered.json", time.Second); err != nil {
			t.Fatal(err)
		}
		// P1: a channel, announced in CANN; the announce post's answer is lost.
		loseBoardAnswer(t, slack, handle, "priority_updated.json")
		slack.failNext("findBoard", &incident.Error{Kind: incident.KindTransient, Op: "conversations.history", RetryAfter: time.Second, Err: errors.New("ratelimited")})
		err := redeliver(40, 50*time.Millisecond, func() error {
			err := handle("priority_updated.json", time.Second)
			if err != nil && incident.RetryAfter(err) == time.Second {
				return nil // the look-up was refused: answered 503, as wanted
			}
			if err == nil {
				t.Fatalf("redelivery with the look-up rate-limited = nil, want 503")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"priority_updated.json", "acknowledged.json"} {
			if err := redeliver(40, 50*time.Millisecond, func() error { return handle(f, time.Second) }); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		if _, _, n := slack.board("CANN", "Q1CHECKOUT"); n != 1 {
			t.Errorf("CANN: %d messages for the incident, want 1", n)
		}
	})
}

// TestServiceArchiveNoticeAnswerLost: the sweep's notice was posted but
// its answer lost. Its ledger entry stays in flight, so a sweep at once
// posts no second notice and archives nothing; once the entry's Until has
// passed the next sweep finds the notice and archives the channel.
func TestServiceArchiveNoticeAnswerLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, resolvedAt := sweepEnv(t)
		e.slack.mu.Lock()
		e.slack.loseReply = 1
		e.slack.mu.Unlock()
		if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour)); rep.Failed != 1 || rep.Archived != 0 {
			t.Fatalf("sweep with the notice's answer lost: %+v, want one failed", rep)
		}
		if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour+time.Minute)); rep.Archived != 0 {
			t.Fatalf("sweep while the notice's entry is in flight: %+v, want nothing archived", rep)
		}
		time.Sleep(incident.LeaseTTL + time.Minute)
		if rep := sweep(t, e.svc, resolvedAt.Add(26*time.Hour)); rep.Archived != 1 {
			t.Fatalf("sweep after the entry's Until: %+v, want one archived", rep)
		}
		c := e.slack.ownChannels()[0]
		if n := countPrefix(c.replies, "Archiving this channel"); n != 1 || !c.archived {
			t.Errorf("%d archive notices, archived %v; want 1, archived", n, c.archived)
		}
	})
}

// TestServiceInviteNoteAnswerLost: the note naming who could not be
// added was posted but its answer lost. Its entry stays in flight: the
// immediate redelivery posts no second note, and a later one finds the
// note rather than posting it again.
func TestServiceInviteNoteAnswerLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slack := newFakeSlack()
		svc := incident.NewService(store.NewMemory(), slack, incident.Config{
			Router: routeFunc(func(incident.Snapshot) incident.Route {
				return incident.Route{Channel: true, Prefix: "inc", InviteGroups: []string{"@nope"}}
			}),
			LeaseTTL: 100 * time.Millisecond, LeaseMargin: 50 * time.Millisecond, Poll: 10 * time.Millisecond,
		}, nil)
		handle := func(budget time.Duration) error { return handleWithin(t, svc, "triggered.json", budget) }
		slack.loseReply = 1 // the first reply of the incident is the note
		if err := handle(500 * time.Millisecond); !incident.IsRetryable(err) {
			t.Fatalf("triggered with the note's answer lost = %v, want retryable", err)
		}
		_ = handle(500 * time.Millisecond)
		if err := redeliver(40, 100*time.Millisecond, func() error { return handle(time.Second) }); err != nil {
			t.Fatalf("redelivery after the entry's until = %v", err)
		}
		c := slack.only()
		if got := headlines(c.replies); !slices.Equal(got, []string{"Could not add to this channel: user group @nope (not found)"}) {
			t.Errorf("replies = %q, want the note once", got)
		}
	})
}
