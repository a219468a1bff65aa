package store

import (
	"context"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

func TestCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := NewMemory().Check(ctx); err != nil {
		t.Errorf("Memory.Check = %v, want nil", err)
	}

	proxy := firestoretest.NewProxy(t)
	t.Setenv("FIRESTORE_EMULATOR_HOST", proxy.Addr())
	fs, err := OpenFirestore(ctx, firestoretest.Project(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	if err := fs.Check(ctx); err != nil {
		t.Errorf("Firestore.Check on an empty database = %v, want nil (not found is an answer)", err)
	}
	proxy.Cut()
	// The client retries an unreachable database until the deadline.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if err := fs.Check(short); err == nil {
		t.Errorf("Firestore.Check with the database unreachable = nil, want an error")
	}
}
