package people

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
)

// FirestoreCollection is the collection FirestoreCache keeps its entries
// in, one document per PagerDuty user id.
const FirestoreCollection = "pagerduty_users"

// FirestoreCache is a Cache shared by all instances, in the Firestore
// collection pagerduty_users. Each document is named by the PagerDuty user
// id and holds slack_user_id, reason, expire_at and updated_at. expire_at
// is a timestamp, so it can be the collection's Firestore TTL field;
// entries are ignored after it whether or not Firestore has deleted them.
type FirestoreCache struct {
	client *firestore.Client
}

// NewFirestoreCache returns a FirestoreCache using client.
func NewFirestoreCache(client *firestore.Client) *FirestoreCache {
	return &FirestoreCache{client: client}
}

// firestoreEntry is the stored document.
type firestoreEntry struct {
	SlackUserID string    `firestore:"slack_user_id"`
	Reason      string    `firestore:"reason"`
	ExpireAt    time.Time `firestore:"expire_at"`
	UpdatedAt   time.Time `firestore:"updated_at,serverTimestamp"`
}

// Get reads the documents of pagerDutyIDs in one call. Ids that cannot be
// PagerDuty user ids (empty, longer than 100 characters, with a '/'...)
// are skipped, and so are documents that do not decode.
func (c *FirestoreCache) Get(ctx context.Context, pagerDutyIDs []string) (map[string]Entry, error) {
	coll := c.client.Collection(FirestoreCollection)
	seen := make(map[string]bool, len(pagerDutyIDs))
	var refs []*firestore.DocumentRef
	for _, id := range pagerDutyIDs {
		if !validID(id) || seen[id] {
			continue
		}
		seen[id] = true
		refs = append(refs, coll.Doc(id))
	}
	out := make(map[string]Entry, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	snaps, err := c.client.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the Firestore collection %s: %w", FirestoreCollection, err)
	}
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		var d firestoreEntry
		if err := snap.DataTo(&d); err != nil {
			// A document written by hand or by another version: a miss,
			// overwritten by the next Put.
			continue
		}
		out[snap.Ref.ID] = Entry{SlackUserID: d.SlackUserID, Reason: d.Reason, ExpireAt: d.ExpireAt}
	}
	return out, nil
}

// Put writes entries with a BulkWriter: up to 20 documents go in one
// request, and more are sent in parallel. Invalid ids are skipped.
func (c *FirestoreCache) Put(ctx context.Context, entries map[string]Entry) error {
	coll := c.client.Collection(FirestoreCollection)
	var jobs []*firestore.BulkWriterJob
	var bw *firestore.BulkWriter
	var errs []error
	for id, e := range entries {
		if !validID(id) {
			continue
		}
		if bw == nil {
			bw = c.client.BulkWriter(ctx)
		}
		j, err := bw.Set(coll.Doc(id), firestoreEntry{SlackUserID: e.SlackUserID, Reason: e.Reason, ExpireAt: e.ExpireAt})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
			continue
		}
		jobs = append(jobs, j)
	}
	if bw == nil {
		return nil
	}
	bw.End()
	for _, j := range jobs {
		if _, err := j.Results(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// The errors are usually all alike (Firestore unavailable): the
		// first one tells.
		return fmt.Errorf("write %d of %d documents to the Firestore collection %s: %w",
			len(errs), len(entries), FirestoreCollection, errs[0])
	}
	return nil
}
