package people

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ActorEntry is what an ActorCache remembers of one Slack user.
type ActorEntry struct {
	// PagerDutyID, Name and Email are the PagerDuty user found; Email is
	// also the address no PagerDuty user has, for a miss.
	PagerDutyID, Name, Email string
	// Role is the PagerDuty user's role.
	Role string
	// Reason is why there is no PagerDuty user ("no_email",
	// "no_pagerduty_user"); Reason != "" means a cached miss.
	Reason string
	// ExpireAt is when the entry stops being used.
	ExpireAt time.Time
}

// ActorCache remembers the PagerDuty users of Slack users between calls
// (and, when shared like FirestoreActorCache, between instances).
// Implementations must be safe for concurrent use.
type ActorCache interface {
	// Get returns the entry of the Slack user; ok is false without one.
	// An expired entry may be returned: the caller checks ExpireAt.
	Get(ctx context.Context, slackUserID string) (e ActorEntry, ok bool, err error)
	// Put stores the entry of the Slack user, replacing any.
	Put(ctx context.Context, slackUserID string, e ActorEntry) error
}

// MemoryActorCache is an ActorCache in the memory of one instance.
type MemoryActorCache struct {
	mu      sync.Mutex
	entries map[string]ActorEntry
}

// NewMemoryActorCache returns an empty MemoryActorCache.
func NewMemoryActorCache() *MemoryActorCache {
	return &MemoryActorCache{entries: map[string]ActorEntry{}}
}

// Get returns the entry of the Slack user. It never fails.
func (c *MemoryActorCache) Get(_ context.Context, slackUserID string) (ActorEntry, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[slackUserID]
	return e, ok, nil
}

// Put stores the entry. It never fails.
func (c *MemoryActorCache) Put(_ context.Context, slackUserID string, e ActorEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[slackUserID] = e
	return nil
}

// FirestoreActorCollection is the collection FirestoreActorCache keeps
// its entries in, one document per Slack user id.
const FirestoreActorCollection = "slack_actors"

// FirestoreActorCache is an ActorCache shared by all instances, in the
// Firestore collection slack_actors. Each document is named by the Slack
// user id and holds pagerduty_id, name, email, reason, expire_at and
// updated_at; expire_at is a timestamp, so it can be the collection's
// Firestore TTL field.
type FirestoreActorCache struct {
	client *firestore.Client
}

// NewFirestoreActorCache returns a FirestoreActorCache using client.
func NewFirestoreActorCache(client *firestore.Client) *FirestoreActorCache {
	return &FirestoreActorCache{client: client}
}

// firestoreActor is the stored document.
type firestoreActor struct {
	PagerDutyID string    `firestore:"pagerduty_id"`
	Name        string    `firestore:"name"`
	Email       string    `firestore:"email"`
	Role        string    `firestore:"role"`
	Reason      string    `firestore:"reason"`
	ExpireAt    time.Time `firestore:"expire_at"`
	UpdatedAt   time.Time `firestore:"updated_at,serverTimestamp"`
}

// Get reads the Slack user's document. An id that cannot be a Slack user
// id, and a document that does not decode, are no entry.
func (c *FirestoreActorCache) Get(ctx context.Context, slackUserID string) (ActorEntry, bool, error) {
	if !validID(slackUserID) {
		return ActorEntry{}, false, nil
	}
	snap, err := c.client.Collection(FirestoreActorCollection).Doc(slackUserID).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return ActorEntry{}, false, nil
	}
	if err != nil {
		return ActorEntry{}, false, fmt.Errorf("read %s/%s: %w", FirestoreActorCollection, slackUserID, err)
	}
	var d firestoreActor
	if err := snap.DataTo(&d); err != nil {
		// Written by hand or by another version: a miss, overwritten by
		// the next Put.
		return ActorEntry{}, false, nil
	}
	return ActorEntry{PagerDutyID: d.PagerDutyID, Name: d.Name, Email: d.Email, Role: d.Role, Reason: d.Reason, ExpireAt: d.ExpireAt}, true, nil
}

// Put writes the Slack user's document.
func (c *FirestoreActorCache) Put(ctx context.Context, slackUserID string, e ActorEntry) error {
	if !validID(slackUserID) {
		return errors.New("not a Slack user id: " + fmt.Sprintf("%q", slackUserID))
	}
	_, err := c.client.Collection(FirestoreActorCollection).Doc(slackUserID).Set(ctx, firestoreActor{
		PagerDutyID: e.PagerDutyID, Name: e.Name, Email: e.Email, Role: e.Role, Reason: e.Reason, ExpireAt: e.ExpireAt,
	})
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", FirestoreActorCollection, slackUserID, err)
	}
	return nil
}
