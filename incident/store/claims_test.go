package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// byChannel is what both stores answer for a channel.
type byChannel interface {
	ByChannel(ctx context.Context, channelID string) (incident.State, bool, error)
}

func testByChannel(t *testing.T, h harness) {
	ctx := context.Background()
	st := fullState()
	st.ChannelID = "C0CHAN"
	write(t, h.store, "Q1", "", incident.ChangeState, st, incident.EventRecord{})
	other := fullState()
	other.ChannelID = "C0OTHER"
	write(t, h.store, "Q2", "", incident.ChangeState, other, incident.EventRecord{})
	s := h.store.(byChannel)
	got, ok, err := s.ByChannel(ctx, "C0CHAN")
	if err != nil || !ok || got.ChannelID != "C0CHAN" || got.Snapshot.ID != st.Snapshot.ID {
		t.Errorf("ByChannel(C0CHAN) = %s/%s, %v, %v; want the incident of C0CHAN", got.Snapshot.ID, got.ChannelID, ok, err)
	}
	for _, ch := range []string{"C0NONE", ""} {
		if _, ok, err := s.ByChannel(ctx, ch); ok || err != nil {
			t.Errorf("ByChannel(%q) = %v, %v; want not found", ch, ok, err)
		}
	}
}

// claimer is what both claim stores do.
type claimer = incident.Claims

// TestClaims: one claim per key at a time, however many try at once; the
// holder may claim again; a claim ends at its Until or when released by
// its holder, never by someone else.
func TestClaims(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name string
		new  func(t *testing.T) claimer
	}{
		{"memory", func(t *testing.T) claimer { return &MemoryClaims{} }},
		{"firestore", func(t *testing.T) claimer {
			s, err := OpenFirestore(context.Background(), firestoretest.Project(t), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			c := impl.new(t)
			ctx := context.Background()
			type holder struct {
				by   string
				done bool
			}
			claimDone := func(key, by string, now time.Time) (holder, bool) {
				t.Helper()
				e, ok, err := c.Claim(ctx, key, by, now, now.Add(30*time.Second))
				if err != nil {
					t.Fatalf("Claim(%s, %s) error = %v", key, by, err)
				}
				return holder{e.Owner, e.Done}, ok
			}
			claim := func(key, by string, now time.Time) (string, bool) {
				t.Helper()
				h, ok := claimDone(key, by, now)
				return h.by, ok
			}
			// Many at once: exactly one wins, the others name it.
			var wg sync.WaitGroup
			var mu sync.Mutex
			winners, holders := 0, map[string]bool{}
			for i := range 8 {
				wg.Go(func() {
					by := string(rune('a' + i))
					holder, ok := claim("ack:Q1", by, t0)
					mu.Lock()
					defer mu.Unlock()
					holders[holder] = true
					if ok {
						winners++
					}
				})
			}
			wg.Wait()
			if winners != 1 || len(holders) != 1 {
				t.Fatalf("%d winners naming %v, want 1 winner named by all", winners, holders)
			}
			var first string
			for h := range holders {
				first = h
			}
			if _, ok := claim("ack:Q1", first, t0.Add(time.Second)); !ok {
				t.Errorf("the holder claiming again was refused")
			}
			if got, ok := claimDone("ack:Q1", "zed", t0.Add(10*time.Second)); ok || got != (holder{by: first}) {
				t.Errorf("Claim during another's = %+v, %v; want refused naming %s, not done", got, ok, first)
			}
			if err := c.Done(ctx, "ack:Q1", first); err != nil {
				t.Fatal(err)
			}
			if got, ok := claimDone("ack:Q1", "zed", t0.Add(10*time.Second)); ok || got != (holder{by: first, done: true}) {
				t.Errorf("Claim after the holder's Done = %+v, %v; want refused naming %s, done", got, ok, first)
			}
			if _, ok := claim("resolve:Q1", "zed", t0); !ok {
				t.Errorf("another key was refused")
			}
			if err := c.Release(ctx, "ack:Q1", "zed"); err != nil {
				t.Fatal(err)
			}
			if _, ok := claim("ack:Q1", "yan", t0.Add(10*time.Second)); ok {
				t.Errorf("released by someone else than its holder, the claim ended")
			}
			if err := c.Release(ctx, "ack:Q1", first); err != nil {
				t.Fatal(err)
			}
			if _, ok := claim("ack:Q1", "yan", t0.Add(10*time.Second)); !ok {
				t.Errorf("released by its holder, the claim still refused")
			}
			if holder, ok := claim("ack:Q1", "xia", t0.Add(41*time.Second)); !ok || holder != "xia" {
				t.Errorf("after its Until, Claim = %s, %v; want taken over", holder, ok)
			}
		})
	}
}

// TestMemoryClaimsForgetEnded: every Slack request leaves a claim that is
// never released (its signature's), so claims whose Until has passed,
// which stand for nothing, are forgotten rather than kept for the life of
// the process.
func TestMemoryClaimsForgetEnded(t *testing.T) {
	t.Parallel()
	var m MemoryClaims
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for i := range 100 {
		if _, ok, err := m.Claim(ctx, fmt.Sprintf("request:%d", i), "r", t0, t0.Add(6*time.Minute)); !ok || err != nil {
			t.Fatalf("Claim(request:%d) = %v, %v; want taken", i, ok, err)
		}
	}
	if err := m.Done(ctx, "request:0", "r"); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(7 * time.Minute)
	if _, ok, err := m.Claim(ctx, "resolve:Q1", "u", later, later.Add(30*time.Second)); !ok || err != nil {
		t.Fatalf("Claim(resolve:Q1) = %v, %v; want taken", ok, err)
	}
	if n := len(m.claims); n != 1 {
		t.Errorf("%d claims kept after the others' Until, want 1", n)
	}
	// A forgotten claim is taken as an ended one would be.
	if e, ok, err := m.Claim(ctx, "request:0", "s", later, later.Add(time.Minute)); !ok || err != nil || e.Owner != "s" || e.Done {
		t.Errorf("Claim(request:0) after its Until = %+v, %v, %v; want taken anew by s", e, ok, err)
	}
}
