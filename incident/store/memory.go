package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.Store = (*Memory)(nil)

// Memory is an incident.Store held in process memory, for tests and the
// local runner (STORE=memory). It behaves like Firestore as far as callers
// can tell: the same id rules, copies in and out, empty slices read back as
// nil. State is lost when the process ends and is not shared between
// instances, so it is no use in production.
//
// The zero value is ready to use.
type Memory struct {
	// Retention is how long after its incident resolved an incident is
	// kept, as in Firestore; zero means incident.HistoryRetention. Memory
	// deletes nothing, but records when Firestore's TTL policy would.
	Retention time.Duration

	mu        sync.Mutex
	incidents map[string]incident.State
	events    map[eventKey]incident.EventRecord
	// expires holds each incident's expire_at; absent while it is open.
	expires map[string]time.Time
	memory  map[string]incident.PastIncident
}

type eventKey struct{ incidentID, eventID string }

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{}
}

// Get implements incident.Store.
func (m *Memory) Get(ctx context.Context, incidentID, eventID string) (incident.State, incident.EventRecord, error) {
	if err := validateIDs(incidentID, eventID); err != nil {
		return incident.State{}, incident.EventRecord{}, fmt.Errorf("read incident: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return incident.State{}, incident.EventRecord{}, fmt.Errorf("read incident %q: %w", incidentID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var er incident.EventRecord
	if eventID != "" {
		er = m.events[eventKey{incidentID, eventID}]
	}
	return cloneState(m.incidents[incidentID]), er, nil
}

// Update implements incident.Store. fn runs with the store locked, which
// makes each Update a transaction; fn is pure and quick by contract.
func (m *Memory) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	if err := validateIDs(incidentID, eventID); err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	// Like a store doing I/O, give up once the caller has.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update incident %q: %w", incidentID, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	st := cloneState(m.incidents[incidentID])
	var er incident.EventRecord // has no slices: a value copy is a deep copy
	if eventID != "" {
		er = m.events[eventKey{incidentID, eventID}]
	}
	ch, err := fn(&st, &er)
	if err != nil {
		return err
	}
	if ch&incident.ChangeState != 0 {
		if m.incidents == nil {
			m.incidents = make(map[string]incident.State)
		}
		st.Exists = true
		m.remember(incidentID, m.incidents[incidentID], st)
		m.incidents[incidentID] = cloneState(st)
		if at := expireAt(st, m.Retention); at.IsZero() {
			delete(m.expires, incidentID)
		} else {
			if m.expires == nil {
				m.expires = make(map[string]time.Time)
			}
			m.expires[incidentID] = at
		}
	}
	if ch&incident.ChangeEvent != 0 && eventID != "" {
		if m.events == nil {
			m.events = make(map[eventKey]incident.EventRecord)
		}
		er.Exists = true
		m.events[eventKey{incidentID, eventID}] = er
	}
	return nil
}

// Open implements incident.Store.
func (m *Memory) Open(ctx context.Context, limit int) ([]incident.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list open incidents: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []incident.State
	for _, st := range m.incidents {
		if st.Exists && open(st) && len(out) < limit {
			out = append(out, st.Clone())
		}
	}
	return out, nil
}

// Due implements incident.Store.
func (m *Memory) Due(ctx context.Context, resolvedBefore time.Time, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list due incidents: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []incident.State
	for _, st := range m.incidents {
		if st.Exists && archivable(st) && !st.Snapshot.ResolvedAt.After(resolvedBefore) {
			due = append(due, st)
		}
	}
	slices.SortFunc(due, func(a, b incident.State) int { return a.Snapshot.ResolvedAt.Compare(b.Snapshot.ResolvedAt) })
	var ids []string
	for _, st := range due[:min(limit, len(due))] {
		ids = append(ids, st.Snapshot.ID)
	}
	return ids, nil
}
