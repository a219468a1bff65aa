package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// hookStore runs hook once, before the n-th Update made for event eventID:
// it lets a test land another delivery between an attempt's transactions.
type hookStore struct {
	incident.Store
	eventID string
	n       int
	hook    func()
	mu      sync.Mutex
	seen    int
}

func (s *hookStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	if eventID == s.eventID {
		s.mu.Lock()
		s.seen++
		run := s.seen == s.n
		s.mu.Unlock()
		if run {
			s.hook()
		}
	}
	return s.Store.Update(ctx, incidentID, eventID, fn)
}

// A status update that arrives before the incident's details plans
// nothing (routed nowhere yet). Whichever side of its transactions a full
// P1 payload opening the channel lands on, once the status update is
// answered without error it is told in the channel: as a reply, or in
// the root's "Before this channel opened". PagerDuty does not redeliver
// a 200, so nothing else would ever post it.
func TestServiceEarlyReferenceToldWhereverTheChannelOpens(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("P1 payload before update %d", n), func(t *testing.T) {
			t.Parallel()
			earlyReferenceTold(t, n)
		})
	}
}

func earlyReferenceTold(t *testing.T, n int) {
	slack := newFakeSlack()
	slack.shared("CLOW")
	slack.shared("CANN")
	slack.groups["@sre"] = []string{"USRE1"}
	hs := &hookStore{Store: store.NewMemory(), eventID: "01HT0STATUS00000000000008", n: n}
	svc := incident.NewService(hs, slack, incident.Config{ChannelPrefix: "inc", Router: p1Channels}, nil)
	handle := func(name string) (incident.Result, error) { return handleResult(t, svc, name, 3*time.Second) }
	hs.hook = func() {
		// Another instance handles the P1 payload meanwhile.
		if _, err := handle("priority_updated.json"); err != nil {
			t.Errorf("Handle(priority_updated) = %v", err)
		}
	}
	res, err := handle("status_update_published.json")
	if err != nil {
		t.Fatalf("Handle(status_update_published) = %v", err)
	}
	hs.mu.Lock()
	ran := hs.seen >= n
	hs.mu.Unlock()
	if !ran {
		// The update needed fewer transactions: the payload comes after.
		hs.hook()
	}
	own := slack.ownChannels()
	if len(own) != 1 {
		t.Fatalf("%d channels, want 1", len(own))
	}
	c := own[0]
	var replied, told bool
	for _, r := range c.replies {
		if r.EventID == "01HT0STATUS00000000000008" {
			replied = true
		}
	}
	for _, l := range c.rootBefore {
		if l.EventID == "01HT0STATUS00000000000008" {
			told = true
		}
	}
	if !replied && !told {
		t.Errorf("status update answered %q (no error), yet no reply in the channel (replies %q) and the root does not show it before (%+v)",
			res.Outcome, headlines(c.replies), c.rootBefore)
	}
}
