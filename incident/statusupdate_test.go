package incident

import (
	"testing"
	"time"
)

// TestRecordKeepsLatestUpdate: a status update becomes the latest and
// renders the root again (Version); an older one delivered late, or an
// empty one, changes nothing.
func TestRecordKeepsLatestUpdate(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 3, 12, 0, 0, time.UTC)
	update := func(id, text string, at time.Time) *Event {
		return &Event{ID: id, Type: EventStatusUpdatePublished, OccurredAt: at, IncidentID: "Q1", Message: text,
			Agent: Ref{Summary: "Ada"}, Incident: Snapshot{ID: "Q1"}}
	}
	st := State{Exists: true, Snapshot: Snapshot{ID: "Q1", Complete: true}, Version: 3}
	Record(&st, &EventRecord{}, update("E1", "Rolled back", at))
	want := StatusUpdate{Text: "Rolled back", By: "Ada", At: at}
	if st.Update != want || st.Version != 4 {
		t.Fatalf("after an update: Update %+v, Version %d; want %+v, 4", st.Update, st.Version, want)
	}
	Record(&st, &EventRecord{}, update("E0", "Investigating", at.Add(-time.Minute)))
	Record(&st, &EventRecord{}, update("E2", "  ", at.Add(time.Minute)))
	if st.Update != want || st.Version != 4 {
		t.Errorf("after an older and an empty update: Update %+v, Version %d; want %+v, 4", st.Update, st.Version, want)
	}
}
