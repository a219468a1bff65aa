package people

import (
	"context"
	"sync"
	"time"
)

// Entry is what a Cache remembers of one PagerDuty user.
type Entry struct {
	// SlackUserID is the user's Slack user id; "" for a cached miss.
	SlackUserID string
	// Reason is why the user has no usable Slack account ("no Slack
	// account for ada@example.com"); Reason != "" means a cached miss.
	Reason string
	// ExpireAt is when the entry stops being used; the Resolver looks the
	// user up again after it.
	ExpireAt time.Time
}

// Cache remembers the Slack users of PagerDuty users between calls (and,
// when shared like FirestoreCache, between instances). Implementations
// must be safe for concurrent use.
type Cache interface {
	// Get returns the entries stored for pagerDutyIDs, keyed by PagerDuty
	// user id; ids without an entry are absent. Expired entries may be
	// returned: the caller checks ExpireAt.
	Get(ctx context.Context, pagerDutyIDs []string) (map[string]Entry, error)
	// Put stores entries, keyed by PagerDuty user id, replacing what was
	// stored for them.
	Put(ctx context.Context, entries map[string]Entry) error
}

// MemoryCache is a Cache in the memory of one instance. It never forgets
// an entry by itself: PagerDuty users are few, and the Resolver ignores
// expired entries.
type MemoryCache struct {
	mu      sync.Mutex
	entries map[string]Entry
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{entries: map[string]Entry{}}
}

// Get returns the entries stored for pagerDutyIDs. It never fails.
func (c *MemoryCache) Get(_ context.Context, pagerDutyIDs []string) (map[string]Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Entry, len(pagerDutyIDs))
	for _, id := range pagerDutyIDs {
		if e, ok := c.entries[id]; ok {
			out[id] = e
		}
	}
	return out, nil
}

// Put stores entries. It never fails.
func (c *MemoryCache) Put(_ context.Context, entries map[string]Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range entries {
		c.entries[id] = e
	}
	return nil
}

// validID reports whether id can be a PagerDuty user id: PagerDuty's ids
// are short strings of letters and digits ("PXPGF42"). Anything else is
// never sent to PagerDuty nor used as a Firestore document id.
func validID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
