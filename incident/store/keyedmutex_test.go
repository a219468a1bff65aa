package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestKeyedMutex(t *testing.T) {
	k := keyedMutex{m: map[string]*keyedLock{}}
	ctx := context.Background()

	unlockA, err := k.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another key is not held up.
	unlockB, err := k.lock(ctx, "b")
	if err != nil {
		t.Fatalf("lock(b) while a is held = %v", err)
	}
	unlockB()

	// The same key waits; a waiter whose context ends gives up cleanly.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := k.lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lock(a) while held, context ending = %v, want DeadlineExceeded", err)
	}

	// Holders of one key run one at a time.
	var (
		mu      sync.Mutex
		inside  int
		maxSeen int
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			unlock, err := k.lock(ctx, "a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxSeen = max(maxSeen, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	time.Sleep(10 * time.Millisecond)
	unlockA()
	wg.Wait()
	if maxSeen != 1 {
		t.Errorf("%d holders of one key at once, want 1", maxSeen)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) != 0 {
		t.Errorf("%d keys left in the map after every holder and waiter left, want 0", len(k.m))
	}
}
