package incident_test

import (
	"errors"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// Under Slack's rate limits the topic, the bookmarks and the announce
// message are put off: the delivery is answered once the channel, its
// invites, the root and the replies are done, a redelivery of it makes
// no call, and the incident's next event does what was put off.
func TestServiceOptionalEffectsPutOffUnderRateLimits(t *testing.T) {
	t.Parallel()
	limited := func(method string) error {
		return &incident.Error{Kind: incident.KindTransient, Op: method, RetryAfter: 5 * time.Second, Err: errors.New("ratelimited")}
	}
	e := &env{slack: newFakeSlack(), store: store.NewMemory()}
	e.slack.shared("CANN")
	e.svc = incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"U0LEAD"}, Announce: "CANN"}, nil)
	e.slack.failNext("topic", limited("conversations.setTopic"))
	e.slack.failNext("bookmark", limited("bookmarks.add"), limited("bookmarks.add"))
	e.slack.failNext("postBoard", limited("chat.postMessage"))

	if res := e.mustHandle(t, "triggered.json"); res.Outcome != incident.OutcomeProcessed {
		t.Fatalf("triggered under rate limits: outcome %q, want processed", res.Outcome)
	}
	own := e.slack.ownChannels()
	if len(own) != 1 || own[0].root == "" || len(own[0].members) != 1 {
		t.Fatalf("channels %+v: want one, with its root and invitee", own)
	}
	c := own[0]
	if c.topic != "" || len(c.bookmarks) != 0 {
		t.Errorf("topic %q, bookmarks %v: want both put off", c.topic, c.bookmarks)
	}
	if _, _, n := e.slack.board("CANN", "Q1CHECKOUT"); n != 0 {
		t.Errorf("announce messages = %d, want the line put off", n)
	}

	e.slack.resetCalls()
	if res := e.mustHandle(t, "triggered.json"); res.Outcome != incident.OutcomeDuplicate || e.slack.total() != 0 {
		t.Errorf("redelivery: %q with %d Slack calls, want a duplicate with none", res.Outcome, e.slack.total())
	}

	e.mustHandle(t, "acknowledged.json")
	c = e.slack.ownChannels()[0]
	if c.topic != "Acknowledged · high · P2 · Checkout API" || len(c.bookmarks) != 2 {
		t.Errorf("after the next event: topic %q, bookmarks %v; want both done", c.topic, c.bookmarks)
	}
	if _, b, n := e.slack.board("CANN", "Q1CHECKOUT"); n != 1 || b.entry.Incident.Status != "acknowledged" {
		t.Errorf("after the next event: %d announce messages showing %q, want one, acknowledged", n, b.entry.Incident.Status)
	}
	if len(c.replies) != 1 {
		t.Errorf("replies = %d, want the acknowledgement", len(c.replies))
	}
}

// An optional effect is put off once: the next event must do it, and a
// resolved incident, which expects no next event, puts nothing off.
// Either is answered 503 while Slack still refuses, and the redelivery
// does it.
func TestServiceOptionalEffectPutOffOnlyWhileAnEventIsToCome(t *testing.T) {
	t.Parallel()
	limited := &incident.Error{Kind: incident.KindTransient, Op: "conversations.setTopic", RetryAfter: 5 * time.Second, Err: errors.New("ratelimited")}
	for _, tt := range []struct {
		name  string
		steps []string // events before the one whose topic is refused twice
		file  string
		want  string
	}{
		{"put off before", []string{"triggered.json"}, "acknowledged.json", "Acknowledged · high · P2 · Checkout API"},
		{"resolved", nil, "resolved.json", "Resolved · high · P1 · Checkout API"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.steps != nil {
				e.slack.failNext("topic", limited)
				e.mustHandle(t, tt.steps[0])
			} else {
				e.mustHandle(t, "triggered.json")
			}
			e.slack.failNext("topic", limited, limited)
			for try := range 2 { // the delivery, and a redelivery Slack still refuses
				if _, err := e.handle(t, tt.file); !incident.IsRetryable(err) || incident.RetryAfter(err) != 5*time.Second {
					t.Fatalf("%s (try %d) with the topic refused = %v, want retryable after 5s", tt.file, try, err)
				}
			}
			e.mustHandle(t, tt.file) // PagerDuty's next redelivery
			if c := e.slack.only(); c.topic != tt.want {
				t.Errorf("topic = %q, want %q", c.topic, tt.want)
			}
		})
	}
}
