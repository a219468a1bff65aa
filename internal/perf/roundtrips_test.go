package perf

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// TestRoundTrips runs the roundtrips section on the emulator: every event
// needs at least one Firestore round trip on its critical path.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	o := tiny()
	o.Only = []string{"roundtrips"}
	// k is read from timings: a longer F and a median of three runs keep
	// a loaded machine's noise (tens of ms) well under one round trip.
	o.Runs, o.StoreDelay = 3, 60*time.Millisecond
	o.FirestoreProject, o.EmulatorHost = firestoretest.Project(t), os.Getenv("FIRESTORE_EMULATOR_HOST")
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run(roundtrips) error = %v", err)
	}
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rep.Rows), rep.Rows)
	}
	for _, name := range []string{"triggered: answer ≈ 2 L + k F", "acknowledged: answer ≈ L + k F"} {
		if r, ok := rowPrefix(rep, name); !ok || r.Median() < 1 {
			t.Errorf("row %q = %+v, want k ≥ 1", name, r)
		}
	}

	o.FirestoreProject, o.EmulatorHost = "", ""
	if rep, err := Run(context.Background(), o); err != nil || len(rep.Rows) != 0 {
		t.Errorf("Run(roundtrips) with the memory store = %d rows, %v; want it skipped", len(rep.Rows), err)
	}
}
