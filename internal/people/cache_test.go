package people

import (
	"context"
	"sync"
)

// memoryCache is the people cache as the tests need it: both key spaces
// in maps. (The store package's People and MemoryPeople are checked
// against the emulator in its own tests; this package cannot import it.)
type memoryCache struct {
	mu     sync.Mutex
	users  map[string]Entry
	actors map[string]ActorEntry
}

func newMemoryCache() *memoryCache {
	return &memoryCache{users: map[string]Entry{}, actors: map[string]ActorEntry{}}
}

func (c *memoryCache) SlackUsers(_ context.Context, ids []string) (map[string]Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]Entry{}
	for _, id := range ids {
		if e, ok := c.users[id]; ok {
			out[id] = e
		}
	}
	return out, nil
}

func (c *memoryCache) PutSlackUsers(_ context.Context, entries map[string]Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range entries {
		c.users[id] = e
	}
	return nil
}

func (c *memoryCache) Actor(_ context.Context, id string) (ActorEntry, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.actors[id]
	return e, ok, nil
}

func (c *memoryCache) PutActor(_ context.Context, id string, e ActorEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.actors[id] = e
	return nil
}
