package incident_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

func TestServiceNewIncident(t *testing.T) {
	e := newEnv(t)
	res := e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeProcessed || res.ChannelID == "" {
		t.Errorf("Handle(triggered) = %+v, want processed with a channel", res)
	}
	c := e.slack.only()
	if c == nil {
		t.Fatalf("channels = %d, want 1", len(e.slack.channels))
	}
	if c.name != "inc-1234-checkout-latency-above-2s-p99" {
		t.Errorf("channel name = %q", c.name)
	}
	if c.topic != "Triggered · high · P2 · Checkout API" {
		t.Errorf("topic = %q", c.topic)
	}
	slices.Sort(c.bookmarks) // added concurrently
	if len(c.bookmarks) != 2 || c.bookmarks[0] != "https://acme.pagerduty.com/incidents/Q1CHECKOUT" || c.bookmarks[1] != "https://meet.example.com/checkout" {
		t.Errorf("bookmarks = %q", c.bookmarks)
	}
	if len(c.members) != 1 || c.members[0] != "U0LEAD" {
		t.Errorf("members = %q", c.members)
	}
	if c.root == "" || c.rootInc.Status != "triggered" || len(c.replies) != 0 {
		t.Errorf("root = %q status %q replies %d, want a root, triggered, no replies", c.root, c.rootInc.Status, len(c.replies))
	}
	if got := e.slack.total(); got != 6 {
		t.Errorf("Slack calls = %d, want 6 (create, topic, 2 bookmarks, invite, root)", got)
	}

	e.slack.resetCalls()
	res = e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeDuplicate || e.slack.total() != 0 {
		t.Errorf("redelivered triggered: outcome %q, %d Slack calls; want duplicate, 0", res.Outcome, e.slack.total())
	}
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		file      string
		status    incident.Status
		replies   int
		headline  string
		broadcast bool
	}{
		{"triggered.json", "triggered", 0, "", false},
		{"acknowledged.json", "acknowledged", 1, "Acknowledged by Ada Lovelace", false},
		{"annotated.json", "acknowledged", 2, "Note from Ada Lovelace", false},
		{"escalated.json", "acknowledged", 3, "Escalated to Grace Hopper (Checkout on-call)", false},
		{"reassigned.json", "acknowledged", 4, "Reassigned to Grace Hopper, Alan Turing by Ada Lovelace", false},
		{"priority_updated.json", "acknowledged", 5, "Priority changed to P1 by Ada Lovelace", false},
		{"responder_added.json", "acknowledged", 6, "Ada Lovelace requested Katherine Johnson as a responder", false},
		{"status_update_published.json", "acknowledged", 7, "Status update from Ada Lovelace", true},
		{"resolved.json", "resolved", 8, "Resolved by Ada Lovelace after 42m", true},
	}
	for _, s := range steps {
		e.mustHandle(t, s.file)
		c := e.slack.only()
		if c == nil {
			t.Fatalf("after %s: want exactly one channel", s.file)
		}
		if c.rootInc.Status != s.status || len(c.replies) != s.replies {
			t.Fatalf("after %s: root status %q, %d replies; want %q, %d", s.file, c.rootInc.Status, len(c.replies), s.status, s.replies)
		}
		if s.replies > 0 {
			r := c.replies[len(c.replies)-1]
			if r.Headline != s.headline || r.Broadcast != s.broadcast {
				t.Errorf("after %s: reply %q broadcast %v, want %q %v", s.file, r.Headline, r.Broadcast, s.headline, s.broadcast)
			}
		}
	}
	c := e.slack.only()
	if c.rootInc.Priority != "P1" || c.topic != "Resolved · high · P1 · Checkout API" {
		t.Errorf("final root priority %q topic %q", c.rootInc.Priority, c.topic)
	}
}

func TestServiceStatusChangeCalls(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "triggered.json")
	e.slack.resetCalls()
	e.mustHandle(t, "acknowledged.json")
	want := map[string]int{"update": 1, "reply": 1, "topic": 1}
	for m, n := range want {
		if e.slack.calls[m] != n {
			t.Errorf("calls[%s] = %d, want %d", m, e.slack.calls[m], n)
		}
	}
	if e.slack.total() != 3 {
		t.Errorf("total calls = %d, want 3", e.slack.total())
	}
}

func TestServiceReferenceFirst(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "annotated.json")
	c := e.slack.only()
	if c == nil || c.name != "inc-q1checkout-checkout-latency-above-2s-p99" {
		t.Fatalf("channel = %+v, want one named from the reference", c)
	}
	if c.rootInc.Complete || len(c.replies) != 1 || c.replies[0].Body == "" {
		t.Errorf("root complete %v, replies %d; want a reference root and the note", c.rootInc.Complete, len(c.replies))
	}
	e.mustHandle(t, "acknowledged.json")
	c = e.slack.only()
	if !c.rootInc.Complete || c.rootInc.Number != 1234 || c.rootInc.Status != "acknowledged" {
		t.Errorf("root after full event = %+v, want complete #1234 acknowledged", c.rootInc)
	}
}

func TestServiceLateEventKeepsNewerState(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "triggered.json") // arrives late
	c := e.slack.only()
	if c.rootInc.Status != "acknowledged" {
		t.Errorf("root status = %q after a late triggered, want acknowledged", c.rootInc.Status)
	}
	if len(c.replies) != 1 || c.replies[0].Headline != "Acknowledged by Ada Lovelace" {
		t.Errorf("replies = %+v, want the acknowledgement only", c.replies)
	}
}

func TestServiceNameTaken(t *testing.T) {
	e := newEnv(t)
	e.slack.names["inc-1234-checkout-latency-above-2s-p99"] = "CFOREIGN"
	e.mustHandle(t, "triggered.json")
	id := e.slack.names["inc-1234-checkout-latency-above-2s-p99-2"]
	if id == "" {
		t.Fatalf("no suffixed channel; names = %v", e.slack.names)
	}
	if c := e.slack.channels[id]; c.root == "" {
		t.Errorf("suffixed channel has no root message")
	}
}

// twiceStore runs every UpdateFunc once on copies and throws the result
// away before running it for real, as a Firestore transaction retry does:
// a function with side effects outside its arguments shows up here.
type twiceStore struct{ incident.Store }

func (s twiceStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	return s.Store.Update(ctx, incidentID, eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		stCopy, erCopy := st.Clone(), *er
		_, _ = fn(&stCopy, &erCopy)
		return fn(st, er)
	})
}

func TestServiceTransactionFunctionsRunTwice(t *testing.T) {
	slack := newFakeSlack()
	st := twiceStore{store.NewMemory()}
	svc := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"U1"}}, nil)
	for _, f := range lifecycle {
		if err := handleWithin(t, svc, f, 3*time.Second); err != nil {
			t.Fatalf("Handle(%s) = %v", f, err)
		}
	}
	c := slack.only()
	if c == nil || c.rootInc.Status != "resolved" || len(c.replies) != len(lifecycle)-1 || len(c.bookmarks) != 2 {
		t.Fatalf("after the lifecycle with retried transactions: %+v", c)
	}
}
