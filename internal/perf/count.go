package perf

import (
	"context"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.Store = (*CountingStore)(nil)

// Counts is what a CountingStore saw, in the units Firestore bills.
type Counts struct {
	// Transactions counts Update calls: each is atomic, in Firestore a
	// read and a commit with preconditions (the read skipped when the
	// store remembers the documents it wrote last).
	Transactions int64
	// Runs counts UpdateFunc runs; more than Transactions when an update
	// conflicted with another one and ran again.
	Runs int64
	// Reads counts documents requested: the incident's, plus the event's
	// when Update names one, on every run (a retried transaction reads
	// again).
	Reads int64
	// Writes counts documents written by transactions that committed,
	// from the Change bits the UpdateFunc returned.
	Writes int64
	// StateWrites and EventWrites split Writes by document.
	StateWrites, EventWrites int64
	// EventDocs counts event documents created. Each is deleted by the TTL
	// policy later, a delete Firestore bills.
	EventDocs int64
	// Failed counts Updates that returned an error (nothing written).
	Failed int64
	// Gets counts plain reads (Get calls, one round trip each) made while
	// waiting for a lease; their documents are counted in Reads.
	Gets int64
}

// Sub returns c minus o, field by field: the cost of what happened
// between two snapshots of the counts.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		Transactions: c.Transactions - o.Transactions,
		Runs:         c.Runs - o.Runs,
		Reads:        c.Reads - o.Reads,
		Writes:       c.Writes - o.Writes,
		StateWrites:  c.StateWrites - o.StateWrites,
		EventWrites:  c.EventWrites - o.EventWrites,
		EventDocs:    c.EventDocs - o.EventDocs,
		Failed:       c.Failed - o.Failed,
		Gets:         c.Gets - o.Gets,
	}
}

// CountingStore is an incident.Store that counts the Firestore operations
// each Update of the store it wraps stands for: Update is one transaction
// that reads the incident document and, when an event id is given, the
// event's document, and writes back what the UpdateFunc reports changed.
// The counts are the same whichever store is wrapped, so the in-memory
// store gives Firestore's operation counts without Firestore.
type CountingStore struct {
	inner incident.Store

	mu sync.Mutex
	c  Counts
}

// NewCountingStore returns a CountingStore around inner.
func NewCountingStore(inner incident.Store) *CountingStore {
	return &CountingStore{inner: inner}
}

// Counts returns the counts so far.
func (s *CountingStore) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// Update implements incident.Store, counting as it goes.
func (s *CountingStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	docs := int64(1)
	if eventID != "" {
		docs = 2
	}
	// Set by the last run of fn; Update returns after it, so reading
	// them afterwards needs no lock.
	var (
		last     incident.Change
		newEvent bool
	)
	err := s.inner.Update(ctx, incidentID, eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		existed := er.Exists
		ch, err := fn(st, er)
		s.mu.Lock()
		s.c.Runs++
		s.c.Reads += docs
		s.mu.Unlock()
		last, newEvent = ch, !existed
		return ch, err
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Transactions++
	if err != nil {
		s.c.Failed++
		return err
	}
	if last&incident.ChangeState != 0 {
		s.c.Writes++
		s.c.StateWrites++
	}
	if last&incident.ChangeEvent != 0 && eventID != "" {
		s.c.Writes++
		s.c.EventWrites++
		if newEvent {
			s.c.EventDocs++
		}
	}
	return err
}

// Peek returns the stored state of an incident without counting: the
// tool's own look, not the function's.
func (s *CountingStore) Peek(ctx context.Context, incidentID string) (incident.State, error) {
	var st incident.State
	err := s.inner.Update(ctx, incidentID, "", func(cur *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		st = *cur
		return 0, nil
	})
	return st, err
}

// Get implements incident.Store: a plain read of the incident's document
// and, when eventID is given, the event's.
func (s *CountingStore) Get(ctx context.Context, incidentID, eventID string) (incident.State, incident.EventRecord, error) {
	s.mu.Lock()
	s.c.Gets++
	s.c.Reads++
	if eventID != "" {
		s.c.Reads++
	}
	s.mu.Unlock()
	return s.inner.Get(ctx, incidentID, eventID)
}

// Open implements incident.Store: one query, counted as a read of each
// document it returns (at least one, as Firestore bills).
func (s *CountingStore) Open(ctx context.Context, limit int) ([]incident.State, error) {
	states, err := s.inner.Open(ctx, limit)
	s.mu.Lock()
	s.c.Reads += int64(max(len(states), 1))
	s.mu.Unlock()
	return states, err
}

// Due implements incident.Store: one query, counted as a read of each
// document it returns (at least one, as Firestore bills).
func (s *CountingStore) Due(ctx context.Context, resolvedBefore time.Time, limit int) ([]string, error) {
	ids, err := s.inner.Due(ctx, resolvedBefore, limit)
	s.mu.Lock()
	s.c.Reads += int64(max(len(ids), 1))
	s.mu.Unlock()
	return ids, err
}
