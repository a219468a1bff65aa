package store

import (
	"context"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
)

// Slack's rate limits as every instance sees them: one document,
//
//	slack_rate_limits/workspace   {until: {"conversations.create": <time>, "chat.postMessage C0123": <time>, …}}
//
// written when Slack answers a call with 429 and read at most every
// rateLimitsRefresh; between reads an instance answers from memory.
const (
	rateLimitsCollection = "slack_rate_limits"
	rateLimitsDoc        = "workspace"
	// rateLimitsRefresh is how stale an instance's copy may be: another
	// instance's 429 reaches it within this long (one read a second at
	// most, and only while it calls Slack).
	rateLimitsRefresh = time.Second
	// rateLimitsReadTimeout bounds a refresh on the way to a Slack call;
	// past it the call goes on with what memory knows.
	rateLimitsReadTimeout = 200 * time.Millisecond
)

// RateLimits is the slackops.RateLimits of all instances, kept in
// Firestore and cached in memory. Make one per process with
// NewRateLimits.
type RateLimits struct {
	doc *firestore.DocumentRef
	now func() time.Time

	mu     sync.Mutex
	until  map[string]time.Time
	readAt time.Time // when the document was last read (or a read began)
}

// NewRateLimits returns the shared rate limits in client's database.
func NewRateLimits(client *firestore.Client) *RateLimits {
	return &RateLimits{doc: client.Collection(rateLimitsCollection).Doc(rateLimitsDoc), now: time.Now, until: map[string]time.Time{}}
}

// Until returns when key's limit ends as far as any instance has said,
// reading the document when this instance's copy is over a second old.
// A failed read leaves the copy as it was: the limits are advice.
func (r *RateLimits) Until(ctx context.Context, key string) time.Time {
	if r.stale() {
		r.refresh(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.until[key]
}

// stale reports whether the copy is due a read, and if so marks the read
// begun: one reader at a time, the others use the copy.
func (r *RateLimits) stale() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.now().Sub(r.readAt) < rateLimitsRefresh {
		return false
	}
	r.readAt = r.now()
	return true
}

// refreshBeside starts reading the document, when the copy is due a read,
// beside the caller's own Firestore calls, and returns the function that
// waits for the read to end. The store's updates call it, so that the
// Slack calls after an update find a fresh copy instead of waiting for a
// read of their own: a round trip off a delivery's critical path.
func (r *RateLimits) refreshBeside(ctx context.Context) (wait func()) {
	if r == nil || !r.stale() {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.refresh(ctx)
	}()
	return func() { <-done }
}

func (r *RateLimits) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, rateLimitsReadTimeout)
	defer cancel()
	snap, err := r.doc.Get(ctx)
	if err != nil || !snap.Exists() {
		return
	}
	var d struct {
		Until map[string]time.Time `firestore:"until"`
	}
	if snap.DataTo(&d) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range d.Until {
		if t.After(r.until[k]) {
			r.until[k] = t
		}
	}
}

// Limited records that key is limited until then, for this instance at
// once and for the others through the document. Limits that have ended
// are removed from the document as it is written.
func (r *RateLimits) Limited(ctx context.Context, key string, until time.Time) {
	now := r.now()
	fields := map[string]any{key: until.UTC()}
	r.mu.Lock()
	if !until.After(r.until[key]) {
		r.mu.Unlock()
		return
	}
	r.until[key] = until
	for k, t := range r.until {
		if !t.After(now) {
			fields[k] = firestore.Delete
			delete(r.until, k)
		}
	}
	r.mu.Unlock()
	// Advice, like the read: a failed write costs other instances one
	// refused call each.
	_, _ = r.doc.Set(ctx, map[string]any{"until": fields}, firestore.MergeAll)
}
