package incident

import (
	"testing"
	"time"
)

// TestEntryTake: the one take-over rule of ledger entries and claims.
func TestEntryTake(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	until := t0.Add(10 * time.Second)
	tests := []struct {
		name      string
		e         Entry
		by        string
		now       time.Time
		wantTake  bool
		wantState EntryState
	}{
		{"new", Entry{Key: "k"}, "a", t0, true, EntryPending},
		{"in flight elsewhere", Entry{Key: "k", Owner: "b", Until: until}, "a", t0, false, EntryInFlight},
		{"in flight, its owner again", Entry{Key: "k", Owner: "a", Until: until}, "a", t0, true, EntryInFlight},
		{"until passed: taken over", Entry{Key: "k", Owner: "b", Until: until}, "a", until, true, EntryPending},
		{"released (no until)", Entry{Key: "k", Owner: "b"}, "a", t0, true, EntryPending},
		{"done", Entry{Key: "k", Owner: "b", Until: until, Done: true}, "a", until.Add(time.Hour), false, EntryDone},
		{"given up", Entry{Key: "k", GaveUp: "refused"}, "a", t0, false, EntryGivenUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.State(tt.now); got != tt.wantState {
				t.Errorf("State(%v) = %v, want %v", tt.now, got, tt.wantState)
			}
			e := tt.e
			got := e.Take(tt.by, tt.now, tt.now.Add(time.Minute))
			if got != tt.wantTake {
				t.Fatalf("Take(%s) = %v, want %v", tt.by, got, tt.wantTake)
			}
			if got && (e.Owner != tt.by || e.State(tt.now) != EntryInFlight) {
				t.Errorf("taken entry = %+v, want in flight for %s", e, tt.by)
			}
			if !got && e.Owner != tt.e.Owner {
				t.Errorf("refused Take changed the entry to %+v", e)
			}
		})
	}
}
