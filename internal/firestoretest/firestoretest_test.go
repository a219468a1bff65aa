package firestoretest_test

import (
	"context"
	"os"
	"testing"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

func TestMain(m *testing.M) {
	os.Exit(firestoretest.Main(m))
}

// TestClientIsolated checks that each Client has a project of its own, so
// tests cannot see each other's data.
func TestClientIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := firestoretest.Client(t), firestoretest.Client(t)

	if _, err := a.Doc("things/one").Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatalf("Set things/one on the first client: %v", err)
	}
	snap, err := a.Doc("things/one").Get(ctx)
	if err != nil {
		t.Fatalf("Get things/one on the first client: %v", err)
	}
	if got := snap.Data()["n"]; got != int64(1) {
		t.Errorf("things/one n = %#v, want 1", got)
	}
	snap, err = b.Doc("things/one").Get(ctx)
	if err == nil || snap.Exists() {
		t.Errorf("things/one exists on the second client (err %v), want it only on the first", err)
	}
}

func TestProjectUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		p := firestoretest.Project(t)
		if seen[p] {
			t.Fatalf("Project() returned %q twice", p)
		}
		seen[p] = true
	}
}
