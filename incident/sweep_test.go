package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// sweepEnv is a service that archives channels a day after resolution,
// with one incident resolved; resolvedAt is when.
func sweepEnv(t *testing.T) (e *env, resolvedAt time.Time) {
	t.Helper()
	return sweepEnvWith(t, nil)
}

// sweepEnvWith is sweepEnv writing back-links to pd (nil for none).
func sweepEnvWith(t *testing.T, pd incident.PagerDuty) (e *env, resolvedAt time.Time) {
	t.Helper()
	e = &env{slack: newFakeSlack(), store: store.NewMemory()}
	e.slack.shared("CANN")
	e.svc = incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc", Announce: "CANN", ArchiveAfter: 24 * time.Hour, PagerDuty: pd}, nil)
	for _, f := range []string{"triggered.json", "acknowledged.json", "resolved.json"} {
		e.mustHandle(t, f)
	}
	return e, loadEvent(t, "resolved.json").OccurredAt
}

func sweep(t *testing.T, svc *incident.Service, now time.Time) incident.SweepReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := svc.Sweep(ctx, now)
	if err != nil {
		t.Fatalf("Sweep = %v", err)
	}
	return rep
}

// The sweep archives a channel ARCHIVE_AFTER after its incident resolved,
// not before, once, after a line saying so; the announce line says it is
// archived.
func TestServiceSweepArchivesResolvedChannel(t *testing.T) {
	t.Parallel()
	e, resolvedAt := sweepEnv(t)
	if rep := sweep(t, e.svc, resolvedAt.Add(23*time.Hour)); rep.Due != 0 || e.slack.calls["archive"] != 0 {
		t.Fatalf("sweep a day early: %+v, %d archive calls; want nothing due", rep, e.slack.calls["archive"])
	}
	if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour)); rep.Due != 1 || rep.Archived != 1 {
		t.Fatalf("sweep after a day: %+v, want one archived", rep)
	}
	c := e.slack.ownChannels()[0]
	if !c.archived {
		t.Errorf("channel not archived")
	}
	last := c.replies[len(c.replies)-1]
	if !strings.HasPrefix(last.Headline, "Archiving this channel") || !last.Broadcast {
		t.Errorf("last reply %q (broadcast %v), want the archive notice, broadcast", last.Headline, last.Broadcast)
	}
	if _, b, _ := e.slack.board("CANN", "Q1CHECKOUT"); !b.entry.Archived {
		t.Errorf("announce line does not say the channel is archived")
	}
	e.slack.resetCalls()
	if rep := sweep(t, e.svc, resolvedAt.Add(26*time.Hour)); rep.Due != 0 || e.slack.total() != 0 {
		t.Errorf("next sweep: %+v with %d Slack calls, want nothing to do", rep, e.slack.total())
	}
}

// Two sweeps at once archive the channel once, with one notice; a sweep
// that Slack's rate limit stops half-way leaves it to the next, which
// does not post the notice again.
func TestServiceSweepOnceUnderConcurrencyAndFailure(t *testing.T) {
	t.Parallel()
	t.Run("two at once", func(t *testing.T) {
		t.Parallel()
		e, resolvedAt := sweepEnv(t)
		e.slack.delay = 20 * time.Millisecond
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { sweep(t, e.svc, resolvedAt.Add(25*time.Hour)) })
		}
		wg.Wait()
		sweep(t, e.svc, resolvedAt.Add(26*time.Hour)) // whatever the busy one left
		if n := e.slack.calls["archive"]; n != 1 {
			t.Errorf("conversations.archive called %d times, want 1", n)
		}
		if n := countPrefix(e.slack.ownChannels()[0].replies, "Archiving this channel"); n != 1 {
			t.Errorf("%d archive notices, want 1", n)
		}
	})
	t.Run("stopped half-way", func(t *testing.T) {
		t.Parallel()
		e, resolvedAt := sweepEnv(t)
		e.slack.failNext("archive", &incident.Error{Kind: incident.KindTransient, Op: "conversations.archive", RetryAfter: 3 * time.Second, Err: errors.New("ratelimited")})
		if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour)); rep.Failed != 1 || rep.Archived != 0 {
			t.Fatalf("sweep with archive rate-limited: %+v, want one failed", rep)
		}
		if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour+15*time.Minute)); rep.Archived != 1 {
			t.Fatalf("next sweep: %+v, want one archived", rep)
		}
		if n := countPrefix(e.slack.ownChannels()[0].replies, "Archiving this channel"); n != 1 {
			t.Errorf("%d archive notices, want 1", n)
		}
	})
}

// A channel someone archived by hand is recorded as archived, not
// retried; a reopened incident is not due.
func TestServiceSweepLeavesWhatIsNotDue(t *testing.T) {
	t.Parallel()
	e, resolvedAt := sweepEnv(t)
	id := e.slack.ownChannels()[0].name
	e.slack.mu.Lock()
	e.slack.channels[e.slack.names[id]].archived = true
	e.slack.mu.Unlock()
	if rep := sweep(t, e.svc, resolvedAt.Add(25*time.Hour)); rep.Archived != 0 || rep.Failed != 0 {
		t.Errorf("sweep of a channel archived by hand: %+v, want it recorded, not failed", rep)
	}
	if rep := sweep(t, e.svc, resolvedAt.Add(26*time.Hour)); rep.Due != 0 {
		t.Errorf("next sweep: %+v, want nothing due", rep)
	}

	e2, resolvedAt2 := sweepEnv(t)
	reopened := loadEvent(t, "resolved.json")
	reopened.ID, reopened.Type = "01REOPENED0000000000000001", incident.EventReopened
	reopened.OccurredAt = resolvedAt2.Add(time.Hour)
	reopened.Incident.Status = "triggered"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := e2.svc.Handle(ctx, reopened); err != nil {
		t.Fatal(err)
	}
	if rep := sweep(t, e2.svc, resolvedAt2.Add(25*time.Hour)); rep.Due != 0 || e2.slack.calls["archive"] != 0 {
		t.Errorf("sweep of a reopened incident: %+v, want nothing due", rep)
	}
}

func countPrefix(rs []incident.Reply, prefix string) int {
	n := 0
	for _, r := range rs {
		if strings.HasPrefix(r.Headline, prefix) {
			n++
		}
	}
	return n
}

// An incident reopened after its channel was archived gets a new channel,
// -r2, whose root links the archived one and whose thread starts with
// what happened so far; the announce line points to it. The archived
// channel gets nothing more. The PagerDuty incident gets a second
// back-link, to the new channel.
func TestServiceReopenAfterArchiveOpensNewChannel(t *testing.T) {
	t.Parallel()
	pd := newFakePagerDuty()
	e, resolvedAt := sweepEnvWith(t, pd)
	sweep(t, e.svc, resolvedAt.Add(25*time.Hour))
	old := e.slack.ownChannels()[0]
	oldID := e.slack.names[old.name]
	reopened := loadEvent(t, "resolved.json")
	reopened.ID, reopened.Type = "01REOPENED0000000000000002", incident.EventReopened
	reopened.OccurredAt = resolvedAt.Add(26 * time.Hour)
	reopened.Incident.Status, reopened.Incident.ResolvedAt = "triggered", time.Time{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if res, err := e.svc.Handle(ctx, reopened); err != nil || res.ChannelID == oldID {
		t.Fatalf("Handle(reopened) = %+v, %v; want processed in a new channel", res, err)
	}
	var next fakeChannel
	for _, c := range e.slack.ownChannels() {
		if c.name == old.name+"-r2" {
			next = c
		}
	}
	if next.root == "" || next.rootPrevious != oldID || next.rootInc.Status != "triggered" {
		t.Fatalf("new channel %q: root %q continuing %q, status %q; want a root linking %s", next.name, next.root, next.rootPrevious, next.rootInc.Status, oldID)
	}
	if len(next.replies) < 2 || !strings.HasPrefix(next.replies[0].Headline, "What happened before") ||
		!strings.Contains(next.replies[0].Body, "Resolved by") || !strings.HasPrefix(next.replies[len(next.replies)-1].Headline, "Reopened") {
		t.Errorf("new channel's thread %q: want what happened so far, then the reopen", headlines(next.replies))
	}
	if _, b, _ := e.slack.board("CANN", "Q1CHECKOUT"); b.entry.ChannelID != e.slack.names[next.name] || b.entry.Archived {
		t.Errorf("announce line links %s (archived %v), want the new channel", b.entry.ChannelID, b.entry.Archived)
	}
	if got := e.slack.channel(oldID); len(got.replies) != len(old.replies) {
		t.Errorf("archived channel got %d more replies, want none", len(got.replies)-len(old.replies))
	}
	notes := pd.notesOf(reopened.IncidentID)
	if len(notes) != 2 || !strings.Contains(notes[0], oldID) || !strings.Contains(notes[1], e.slack.names[next.name]) {
		t.Errorf("back-links = %q, want one to %s then one to the new channel", notes, oldID)
	}
}

// countingStore counts what an incident.Store is asked, in Firestore's
// billing units: documents read (a query that returns nothing is billed
// as one read) and documents written.
type countingStore struct {
	incident.Store
	mu            sync.Mutex
	reads, writes int
}

func (s *countingStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	return s.Store.Update(ctx, incidentID, eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		ch, err := fn(st, er)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.reads++
		if eventID != "" {
			s.reads++
		}
		if err == nil {
			if ch&incident.ChangeState != 0 {
				s.writes++
			}
			if ch&incident.ChangeEvent != 0 && eventID != "" {
				s.writes++
			}
		}
		return ch, err
	})
}

func (s *countingStore) Get(ctx context.Context, incidentID, eventID string) (incident.State, incident.EventRecord, error) {
	s.mu.Lock()
	s.reads++
	if eventID != "" {
		s.reads++
	}
	s.mu.Unlock()
	return s.Store.Get(ctx, incidentID, eventID)
}

func (s *countingStore) Due(ctx context.Context, before time.Time, limit int) ([]string, error) {
	ids, err := s.Store.Due(ctx, before, limit)
	s.mu.Lock()
	s.reads += max(len(ids), 1)
	s.mu.Unlock()
	return ids, err
}

// BenchmarkSweep reports what a sweep costs with 1,000 open and 1,000
// resolved incidents, all due: Firestore documents read and written and
// Slack calls per sweep, and the same for a sweep with nothing due (the
// cost of the 15-minute schedule at zero traffic).
func BenchmarkSweep(b *testing.B) {
	const n = 1000
	var due, idle struct{ reads, writes, calls, sweeps float64 }
	for range b.N {
		b.StopTimer()
		cs := &countingStore{Store: store.NewMemory()}
		slack := newFakeSlack()
		svc := incident.NewService(cs, slack, incident.Config{ChannelPrefix: "inc", ArchiveAfter: 24 * time.Hour}, nil)
		var resolvedAt time.Time
		for i := range 2 * n {
			files := []string{"triggered.json"}
			if i%2 == 1 {
				files = append(files, "resolved.json")
			}
			for _, f := range files {
				ev := loadEvent(b, f)
				id := "QB" + strconv.Itoa(i)
				ev.ID, ev.IncidentID, ev.Incident.ID, ev.Incident.Number = ev.ID+id, id, id, 10000+i
				if ev.Type == incident.EventResolved {
					resolvedAt = ev.OccurredAt
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				if _, err := svc.Handle(ctx, ev); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
		}
		sweepOnce := func() (reads, writes, calls, archived int) {
			cs.mu.Lock()
			r0, w0 := cs.reads, cs.writes
			cs.mu.Unlock()
			slack.resetCalls()
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			rep, err := svc.Sweep(ctx, resolvedAt.Add(25*time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			if rep.Left != 0 || rep.Failed != 0 {
				b.Fatalf("sweep left work: %+v", rep)
			}
			cs.mu.Lock()
			defer cs.mu.Unlock()
			return cs.reads - r0, cs.writes - w0, slack.total(), rep.Archived
		}
		b.StartTimer()
		// Sweeps take at most 500 incidents each: run them until all
		// 1,000 due channels are archived.
		for total := 0; total < n; {
			r, w, c, a := sweepOnce()
			if a == 0 {
				b.Fatalf("a sweep archived nothing with %d of %d left", n-total, n)
			}
			total += a
			due.reads, due.writes, due.calls, due.sweeps = due.reads+float64(r), due.writes+float64(w), due.calls+float64(c), due.sweeps+1
		}
		r, w, c, _ := sweepOnce()
		idle.reads, idle.writes, idle.calls = idle.reads+float64(r), idle.writes+float64(w), idle.calls+float64(c)
	}
	per := float64(b.N)
	b.ReportMetric(due.sweeps/per, "sweeps")
	b.ReportMetric(due.reads/per/n, "reads/archive")
	b.ReportMetric(due.writes/per/n, "writes/archive")
	b.ReportMetric(due.calls/per/n, "slack_calls/archive")
	b.ReportMetric(idle.reads/per, "reads/idle_sweep")
	b.ReportMetric(idle.writes/per, "writes/idle_sweep")
	b.ReportMetric(idle.calls/per, "slack_calls/idle_sweep")
}

// TestSweepManyOnFirestore: many incidents due at once on the emulator,
// two instances sweeping at the same time while Slack rate-limits
// conversations.archive now and then: every due channel is archived
// exactly once, and none resolved too recently.
func TestSweepManyOnFirestore(t *testing.T) {
	t.Parallel()
	const n = 24
	slack := newFakeSlack()
	svcs := twoInstances(t, slack, incident.Config{ChannelPrefix: "inc", ArchiveAfter: 24 * time.Hour})
	var resolvedAt time.Time
	for i := range n + 2 {
		id := fmt.Sprintf("QMANY%02d", i)
		for _, f := range []string{"triggered.json", "resolved.json"} {
			ev := loadEvent(t, f)
			ev.ID, ev.IncidentID, ev.Incident.ID, ev.Incident.Number = ev.ID+id, id, id, 3000+i
			if f == "resolved.json" {
				if i >= n {
					ev.OccurredAt = ev.OccurredAt.Add(12 * time.Hour) // not due yet
				} else {
					resolvedAt = ev.OccurredAt
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := svcs[i%2].Handle(ctx, ev)
			cancel()
			if err != nil {
				t.Fatalf("Handle(%s %s) = %v", f, id, err)
			}
		}
	}
	limited := &incident.Error{Kind: incident.KindTransient, Op: "conversations.archive", RetryAfter: time.Second, Err: errors.New("ratelimited")}
	slack.failNext("archive", limited, limited, limited)
	now := resolvedAt.Add(25 * time.Hour)
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		for _, svc := range svcs {
			wg.Go(func() { sweep(t, svc, now) })
		}
		wg.Wait()
	}
	slack.mu.Lock()
	defer slack.mu.Unlock()
	archived := 0
	for _, c := range slack.channels {
		notices := countPrefix(c.replies, "Archiving this channel")
		due := c.rootInc.Number < 3000+n
		switch {
		case due && (!c.archived || notices != 1):
			t.Errorf("%s: archived %v with %d notices, want archived once", c.name, c.archived, notices)
		case !due && (c.archived || notices != 0):
			t.Errorf("%s (resolved 13 h before the sweep): archived %v, want left open", c.name, c.archived)
		}
		if c.archived {
			archived++
		}
	}
	if archived != n || slack.calls["archive"] != n+3 {
		t.Errorf("%d channels archived with %d calls, want %d with %d (3 refused)", archived, slack.calls["archive"], n, n+3)
	}
}
