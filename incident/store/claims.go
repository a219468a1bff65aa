package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/incident-channels/incident-channels/incident"
)

// claimsCollection holds one document per action a responder took from
// Slack, so that a double click, or two responders clicking at once, acts
// once.
const claimsCollection = "slack_claims"

// claimDoc is a claim as stored: an incident.Entry (by is its Owner).
// ExpireAt lets a Firestore TTL policy delete old claims; Until is when
// the claim may be taken over.
type claimDoc struct {
	Key      string    `firestore:"key"`
	By       string    `firestore:"by"`
	Done     bool      `firestore:"done"`
	Result   string    `firestore:"result,omitempty"`
	Until    time.Time `firestore:"until"`
	ExpireAt time.Time `firestore:"expire_at"`
}

// entry returns the claim as an incident.Entry.
func (d claimDoc) entry() incident.Entry {
	return incident.Entry{Key: d.Key, Owner: d.By, Until: d.Until, Done: d.Done, Result: d.Result}
}

// claimDocOf returns the stored form of e.
func claimDocOf(e incident.Entry) claimDoc {
	return claimDoc{Key: e.Key, By: e.Owner, Done: e.Done, Result: e.Result, Until: e.Until.UTC(), ExpireAt: e.Until.Add(claimRetention).UTC()}
}

// claimRetention is how long a claim document is kept after its Until,
// for a TTL policy on expire_at to delete.
const claimRetention = 24 * time.Hour

// Claim sets the entry of key in flight for by until until, by
// incident.Entry's take-over rule. It reports whether it did, and
// otherwise the entry as it stands. The fast path is one write (a
// create); an entry that exists is taken over with a read and a write.
func (f *Firestore) Claim(ctx context.Context, key, by string, now, until time.Time) (e incident.Entry, ok bool, err error) {
	ref := f.client.Collection(claimsCollection).Doc(claimID(key))
	fresh := incident.Entry{Key: key, Owner: by, Until: until}
	_, err = ref.Create(ctx, claimDocOf(fresh))
	if err == nil {
		return fresh, true, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return incident.Entry{}, false, claimErr(key, err)
	}
	// Taken: read the entry and, if it may be taken, write by's over it
	// on the condition that it is still the entry read.
	err = retryConflicts(ctx, func() error {
		snap, err := getDoc(ctx, f.client, ref)
		if err != nil {
			return err
		}
		if !snap.Exists() {
			e, ok = fresh, true
			_, err := ref.Create(ctx, claimDocOf(fresh))
			return err
		}
		var cur claimDoc
		if err := snap.DataTo(&cur); err != nil {
			return fmt.Errorf("decode claim: %w", err)
		}
		e = cur.entry()
		if ok = takeClaim(&e, by, now, until); !ok {
			return nil
		}
		_, err = ref.Update(ctx, fieldUpdates(claimDocOf(e)), firestore.LastUpdateTime(snap.UpdateTime))
		return err
	})
	if err != nil {
		return incident.Entry{}, false, claimErr(key, err)
	}
	return e, ok, nil
}

// takeClaim takes e for by by the ledger's rule. A claim's done entry
// tells others until its Until, then the action may be asked again (the
// same status change after PagerDuty's webhook moved the incident back,
// the same note an hour later): the entry starts anew.
func takeClaim(e *incident.Entry, by string, now, until time.Time) bool {
	if e.Done && !now.Before(e.Until) {
		*e = incident.Entry{Key: e.Key}
	}
	return e.Take(by, now, until)
}

// Done records that by did what it claimed key for; the claim stays until
// its end, telling others it is done. One write.
func (f *Firestore) Done(ctx context.Context, key, by string) error {
	ref := f.client.Collection(claimsCollection).Doc(claimID(key))
	// The precondition is the claim's existence; by is not checked: a
	// claim is taken over only after its end, long after its holder's
	// request.
	if _, err := ref.Update(ctx, []firestore.Update{{Path: "done", Value: true}}); err != nil {
		return claimErr(key, err)
	}
	return nil
}

// Release ends by's claim on key, so that the action can be tried again
// at once (it failed); a claim by someone else is left alone. A read and
// a delete on the condition that the claim is still the one read.
func (f *Firestore) Release(ctx context.Context, key, by string) error {
	ref := f.client.Collection(claimsCollection).Doc(claimID(key))
	err := retryConflicts(ctx, func() error {
		snap, err := getDoc(ctx, f.client, ref)
		if err != nil || !snap.Exists() {
			return err
		}
		var cur claimDoc
		if err := snap.DataTo(&cur); err != nil || cur.entry().Owner != by {
			return err
		}
		_, err = ref.Delete(ctx, firestore.LastUpdateTime(snap.UpdateTime))
		return err
	})
	if err != nil {
		return claimErr(key, err)
	}
	return nil
}

// claimID is the document id of key: a hash, since keys hold incident ids
// and note digests that need not be valid document ids.
func claimID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

func claimErr(key string, err error) error {
	if transient(err) || conflict(err) {
		err = &incident.Error{Kind: incident.KindTransient, Op: "claim " + key, Err: err}
	}
	return fmt.Errorf("claim %s: %w", key, err)
}

// MemoryClaims is Claim and Release in one process's memory.
type MemoryClaims struct {
	mu     sync.Mutex
	claims map[string]incident.Entry
}

// Claim is Firestore.Claim in memory.
func (m *MemoryClaims) Claim(ctx context.Context, key, by string, now, until time.Time) (incident.Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return incident.Entry{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.claims[key]
	if !ok {
		e = incident.Entry{Key: key}
	}
	if !takeClaim(&e, by, now, until) {
		return e, false, nil
	}
	if m.claims == nil {
		m.claims = map[string]incident.Entry{}
	}
	if !ok {
		m.forgetEnded(now)
	}
	m.claims[key] = e
	return e, true, nil
}

// forgetEnded drops the claims whose Until is not after now: Claim takes
// one as it would take a missing one, and the claims of Slack requests,
// one per request, are never released. (In Firestore a TTL policy on
// expire_at deletes them.) m.mu is held.
func (m *MemoryClaims) forgetEnded(now time.Time) {
	maps.DeleteFunc(m.claims, func(_ string, e incident.Entry) bool { return !now.Before(e.Until) })
}

// Done is Firestore.Done in memory.
func (m *MemoryClaims) Done(ctx context.Context, key, by string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.claims[key]; ok {
		cur.Finish("")
		m.claims[key] = cur
	}
	return nil
}

// Release is Firestore.Release in memory.
func (m *MemoryClaims) Release(ctx context.Context, key, by string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.claims[key]; ok && cur.Owner == by {
		delete(m.claims, key)
	}
	return nil
}

// ByChannel returns the incident whose channel is channelID; ok is false
// when none is (a single-field equality query, indexed by default).
func (f *Firestore) ByChannel(ctx context.Context, channelID string) (st incident.State, ok bool, err error) {
	if channelID == "" {
		return incident.State{}, false, nil
	}
	docs, err := f.client.Collection(incidentsCollection).Where("channel_id", "==", channelID).Limit(1).Documents(ctx).GetAll()
	if err != nil {
		if transient(err) {
			err = &incident.Error{Kind: incident.KindTransient, Op: "find incident of channel " + channelID, Err: err}
		}
		return incident.State{}, false, fmt.Errorf("find incident of channel %s: %w", channelID, err)
	}
	if len(docs) == 0 {
		return incident.State{}, false, nil
	}
	st, err = decodeState(docs[0])
	if err != nil {
		return incident.State{}, false, err
	}
	return st, true, nil
}

// ByChannel is Firestore.ByChannel in memory.
func (m *Memory) ByChannel(ctx context.Context, channelID string) (incident.State, bool, error) {
	if err := ctx.Err(); err != nil {
		return incident.State{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.incidents {
		if channelID != "" && st.ChannelID == channelID {
			return st.Clone(), true, nil
		}
	}
	return incident.State{}, false, nil
}
