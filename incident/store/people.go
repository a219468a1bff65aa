package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/incident-channels/incident-channels/internal/people"
)

// peopleCollection is the people cache: one document per user looked up,
// in two key spaces that share one document shape and one TTL policy:
//
//	people/pagerduty:{PagerDuty user id}   the user's Slack user (the Resolver's)
//	people/slack:{Slack user id}           the user's PagerDuty identity (Actors')
//
// The two directions are separate keys because a miss in one says nothing
// about the other: a PagerDuty user without a Slack account may still be
// found from Slack under another address, and the other way round.
const peopleCollection = "people"

// Key-space prefixes of people documents.
const (
	pagerDutySpace = "pagerduty:"
	slackSpace     = "slack:"
)

var (
	_ people.Cache      = (*People)(nil)
	_ people.ActorCache = (*People)(nil)
	_ people.Cache      = (*MemoryPeople)(nil)
	_ people.ActorCache = (*MemoryPeople)(nil)
)

// personDoc is a people document; a field the key space does not use is
// empty. ExpireAt is a timestamp, so it can be the collection's TTL
// field; entries are ignored after it whether or not Firestore has
// deleted them.
type personDoc struct {
	SlackUserID string    `firestore:"slack_user_id"`
	PagerDutyID string    `firestore:"pagerduty_id"`
	Name        string    `firestore:"name"`
	Email       string    `firestore:"email"`
	Role        string    `firestore:"role"`
	Teams       []string  `firestore:"teams,omitempty"`
	Guest       bool      `firestore:"guest,omitempty"`
	Reason      string    `firestore:"reason"`
	ExpireAt    time.Time `firestore:"expire_at"`
	UpdatedAt   time.Time `firestore:"updated_at,serverTimestamp"`
}

func entryDoc(e people.Entry) personDoc {
	return personDoc{SlackUserID: e.SlackUserID, Reason: e.Reason, ExpireAt: utc(e.ExpireAt)}
}

func (d personDoc) entry() people.Entry {
	return people.Entry{SlackUserID: d.SlackUserID, Reason: d.Reason, ExpireAt: d.ExpireAt}
}

func actorDoc(e people.ActorEntry) personDoc {
	return personDoc{PagerDutyID: e.PagerDutyID, Name: e.Name, Email: e.Email, Role: e.Role, Teams: e.Teams, Guest: e.Guest,
		Reason: e.Reason, ExpireAt: utc(e.ExpireAt)}
}

func (d personDoc) actor() people.ActorEntry {
	return people.ActorEntry{PagerDutyID: d.PagerDutyID, Name: d.Name, Email: d.Email, Role: d.Role, Teams: d.Teams, Guest: d.Guest,
		Reason: d.Reason, ExpireAt: d.ExpireAt}
}

// People is the people cache shared by all instances, in the Firestore
// collection people (see peopleCollection).
type People struct {
	client *firestore.Client
}

// NewPeople returns the people cache of client's database.
func NewPeople(client *firestore.Client) *People {
	return &People{client: client}
}

// SlackUsers reads the documents of pagerDutyIDs in one call. Ids that
// cannot be PagerDuty user ids are skipped, and so are documents that do
// not decode (written by hand or by another version: a miss, overwritten
// by the next write).
func (p *People) SlackUsers(ctx context.Context, pagerDutyIDs []string) (map[string]people.Entry, error) {
	coll := p.client.Collection(peopleCollection)
	seen := make(map[string]bool, len(pagerDutyIDs))
	var refs []*firestore.DocumentRef
	for _, id := range pagerDutyIDs {
		if !people.ValidID(id) || seen[id] {
			continue
		}
		seen[id] = true
		refs = append(refs, coll.Doc(pagerDutySpace+id))
	}
	out := make(map[string]people.Entry, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	snaps, err := p.client.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the Firestore collection %s: %w", peopleCollection, err)
	}
	for _, snap := range snaps {
		var d personDoc
		if !snap.Exists() || snap.DataTo(&d) != nil {
			continue
		}
		out[snap.Ref.ID[len(pagerDutySpace):]] = d.entry()
	}
	return out, nil
}

// PutSlackUsers writes entries, keyed by PagerDuty user id, with a
// BulkWriter: up to 20 documents go in one request, and more are sent in
// parallel. Invalid ids are skipped.
func (p *People) PutSlackUsers(ctx context.Context, entries map[string]people.Entry) error {
	coll := p.client.Collection(peopleCollection)
	var jobs []*firestore.BulkWriterJob
	var bw *firestore.BulkWriter
	var errs []error
	for id, e := range entries {
		if !people.ValidID(id) {
			continue
		}
		if bw == nil {
			bw = p.client.BulkWriter(ctx)
		}
		j, err := bw.Set(coll.Doc(pagerDutySpace+id), entryDoc(e))
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
			len(errs), len(entries), peopleCollection, errs[0])
	}
	return nil
}

// Actor reads the Slack user's document. An id that cannot be a Slack
// user id, and a document that does not decode, are no entry.
func (p *People) Actor(ctx context.Context, slackUserID string) (people.ActorEntry, bool, error) {
	if !people.ValidID(slackUserID) {
		return people.ActorEntry{}, false, nil
	}
	ref := p.client.Collection(peopleCollection).Doc(slackSpace + slackUserID)
	snap, err := getDoc(ctx, p.client, ref)
	if err != nil {
		return people.ActorEntry{}, false, fmt.Errorf("read %s/%s: %w", peopleCollection, ref.ID, err)
	}
	var d personDoc
	if !snap.Exists() || snap.DataTo(&d) != nil {
		return people.ActorEntry{}, false, nil
	}
	return d.actor(), true, nil
}

// PutActor writes the Slack user's document.
func (p *People) PutActor(ctx context.Context, slackUserID string, e people.ActorEntry) error {
	if !people.ValidID(slackUserID) {
		return fmt.Errorf("not a Slack user id: %q", slackUserID)
	}
	ref := p.client.Collection(peopleCollection).Doc(slackSpace + slackUserID)
	if _, err := ref.Set(ctx, actorDoc(e)); err != nil {
		return fmt.Errorf("write %s/%s: %w", peopleCollection, ref.ID, err)
	}
	return nil
}

// MemoryPeople is the people cache in the memory of one instance, for
// tests and the local runner. It keeps entries as People stores them (the
// same key spaces and id checks) and never forgets one by itself: users
// are few, and callers ignore expired entries. The zero value is ready to
// use.
type MemoryPeople struct {
	mu   sync.Mutex
	docs map[string]personDoc
}

// SlackUsers returns the entries stored for pagerDutyIDs. It never fails.
func (m *MemoryPeople) SlackUsers(_ context.Context, pagerDutyIDs []string) (map[string]people.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]people.Entry, len(pagerDutyIDs))
	for _, id := range pagerDutyIDs {
		if d, ok := m.docs[pagerDutySpace+id]; ok {
			out[id] = d.entry()
		}
	}
	return out, nil
}

// PutSlackUsers stores entries, skipping invalid ids. It never fails.
func (m *MemoryPeople) PutSlackUsers(_ context.Context, entries map[string]people.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range entries {
		if people.ValidID(id) {
			m.put(pagerDutySpace+id, entryDoc(e))
		}
	}
	return nil
}

// Actor returns the Slack user's entry. It never fails.
func (m *MemoryPeople) Actor(_ context.Context, slackUserID string) (people.ActorEntry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[slackSpace+slackUserID]
	return d.actor(), ok, nil
}

// PutActor stores the Slack user's entry; an invalid id is an error, as
// in People.
func (m *MemoryPeople) PutActor(_ context.Context, slackUserID string, e people.ActorEntry) error {
	if !people.ValidID(slackUserID) {
		return fmt.Errorf("not a Slack user id: %q", slackUserID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(slackSpace+slackUserID, actorDoc(e))
	return nil
}

func (m *MemoryPeople) put(id string, d personDoc) {
	if m.docs == nil {
		m.docs = make(map[string]personDoc)
	}
	m.docs[id] = d
}
