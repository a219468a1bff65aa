package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

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
	return slack, func(file string, budget time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, file))
		return err
	}
}

// A message in a shared channel whose answer was lost is found by the
// redelivery, not posted twice: the post-only message, then the announce
// message of the channel opened later.
func TestServiceBoardAnswerLostNotPostedTwice(t *testing.T) {
	t.Parallel()
	slack, handle := ledgerEnv(t)
	for _, step := range []struct{ file, channel string }{
		{"triggered.json", "CLOW"},        // P2: the post-only message
		{"priority_updated.json", "CANN"}, // P1: a channel, announced
	} {
		slack.mu.Lock()
		slack.loseBoard = 1
		slack.mu.Unlock()
		if err := handle(step.file, 500*time.Millisecond); !incident.IsRetryable(err) {
			t.Fatalf("%s with the %s message's answer lost = %v, want retryable", step.file, step.channel, err)
		}
		if err := redeliver(40, 50*time.Millisecond, func() error { return handle(step.file, time.Second) }); err != nil {
			t.Fatalf("redelivery of %s = %v", step.file, err)
		}
		if _, _, n := slack.board(step.channel, "Q1CHECKOUT"); n != 1 {
			t.Errorf("%s: %d messages for the incident, want 1", step.channel, n)
		}
	}
	slack.mu.Lock()
	finds := slack.calls["findBoard"]
	slack.mu.Unlock()
	if finds != 2 {
		t.Errorf("FindBoard calls = %d, want one per lost answer (2)", finds)
	}
}

// A channel that opens while the post-only message's post is unsettled
// (its answer lost) still owes, and posts, the summary of what happened
// before it opened.
func TestServiceChannelOpensWhilePostOnlyMessageUnsettled(t *testing.T) {
	t.Parallel()
	slack, handle := ledgerEnv(t)
	slack.mu.Lock()
	slack.loseBoard = 1
	slack.mu.Unlock()
	if err := handle("triggered.json", 500*time.Millisecond); !incident.IsRetryable(err) {
		t.Fatalf("triggered with the post-only message's answer lost = %v, want retryable", err)
	}
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
}

// A shared-channel message found by a look-up shows what the attempt
// that lost its answer rendered; when the incident has moved on since,
// it is edited to the newest state.
func TestServiceBoardFoundShowsNewestState(t *testing.T) {
	t.Parallel()
	slack, handle := ledgerEnv(t)
	slack.mu.Lock()
	slack.loseBoard = 1
	slack.mu.Unlock()
	if err := handle("triggered.json", 500*time.Millisecond); !incident.IsRetryable(err) {
		t.Fatalf("triggered with the post-only message's answer lost = %v, want retryable", err)
	}
	if err := redeliver(40, 50*time.Millisecond, func() error { return handle("acknowledged.json", time.Second) }); err != nil {
		t.Fatalf("acknowledged: %v", err)
	}
	if _, b, n := slack.board("CLOW", "Q1CHECKOUT"); n != 1 || b.entry.Incident.Status != "acknowledged" {
		t.Errorf("CLOW: %d messages showing %q, want one showing acknowledged", n, b.entry.Incident.Status)
	}
}
