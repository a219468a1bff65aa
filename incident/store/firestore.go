package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.Store = (*Firestore)(nil)

// Collection names of the layout described in the package comment.
const (
	incidentsCollection = "incidents"
	eventsCollection    = "events"
)

// Firestore is the production incident.Store: one Firestore document per
// incident and one per event, read and written so that any function
// instance can handle any delivery (see Update).
//
// Updates of one incident made through one Firestore value run one at a
// time: the service updates an incident from several goroutines at once
// (root message, reply), and queueing them here costs a few milliseconds
// where conflicting writes would cost retries out of PagerDuty's 5 second
// budget. Preconditions still keep updates from different instances
// correct.
type Firestore struct {
	// Retention is how long after its incident resolved an incident
	// document, and its memory, is kept (see expireAt); zero means
	// incident.HistoryRetention. Set it before the first Update.
	Retention time.Duration

	client  *firestore.Client
	locks   keyedMutex
	written writtenDocs
	limits  *RateLimits
}

// NewFirestore returns a store using client. Close closes the client.
func NewFirestore(client *firestore.Client) *Firestore {
	return &Firestore{client: client, locks: keyedMutex{m: make(map[string]*keyedLock)}, limits: NewRateLimits(client)}
}

// RateLimits returns Slack's rate limits as all instances share them in
// this database. Each update of the store reads them beside its own
// reads when this instance's copy is due a refresh, so a delivery's Slack
// calls need no read of their own.
func (f *Firestore) RateLimits() *RateLimits { return f.limits }

// OpenFirestore connects to the database databaseID ("" means "(default)")
// of the Google Cloud project projectID ("" means detect it from the
// credentials or the metadata server). Like every Firestore client it talks
// to the emulator at FIRESTORE_EMULATOR_HOST when that is set. It makes no
// network call: the client connects on first use.
func OpenFirestore(ctx context.Context, projectID, databaseID string) (*Firestore, error) {
	if projectID == "" {
		projectID = firestore.DetectProjectID
	}
	if databaseID == "" {
		databaseID = firestore.DefaultDatabaseID
	}
	client, err := firestore.NewClientWithDatabase(ctx, projectID, databaseID)
	if err != nil {
		return nil, err // the caller names the project and database
	}
	return NewFirestore(client), nil
}

// Client returns the Firestore client, for other collections of the same
// database (the people cache).
func (f *Firestore) Client() *firestore.Client { return f.client }

// Close closes the Firestore client.
func (f *Firestore) Close() error {
	return f.client.Close()
}

// Update implements incident.Store. fn may run more than once; each run
// gets the documents as they are (a run on values that turn out to be
// stale writes nothing and is run again). An error from fn is returned as is; other
// errors are wrapped with the incident id.
//
// An update is one read and one write when nothing conflicts, not a
// transaction's three round trips (begin, read, commit): the documents
// are read with plain reads, and written in one atomic commit whose
// preconditions say that each document read is still as it was read (its
// update time, or its absence). A document another instance changed in
// between fails the commit, and the update runs again on fresh reads. The
// documents this Firestore value last wrote are remembered with their
// update times, so the next update of the incident (the rest of an
// attempt, the incident's next event) skips the read: the commit's
// preconditions check the remembered copy is current.
func (f *Firestore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	if err := validateIDs(incidentID, eventID); err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	refs := []*firestore.DocumentRef{f.client.Collection(incidentsCollection).Doc(incidentID)}
	if eventID != "" {
		refs = append(refs, refs[0].Collection(eventsCollection).Doc(eventID))
	}
	// The rate limits' read runs beside this update and ends with it.
	defer f.limits.refreshBeside(ctx)()

	unlock, err := f.locks.lock(ctx, incidentID)
	if err != nil {
		return fmt.Errorf("update incident %q: %w", incidentID, err)
	}
	defer unlock()

	// fnFailed tells fn's error, returned as is, from the store's.
	fnFailed := false
	run := func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		ch, err := fn(st, er)
		fnFailed = err != nil
		return ch, err
	}
	fresh := false // read Firestore, not the remembered copy
	err = retryConflicts(ctx, func() error {
		docs, err := f.read(ctx, refs, fresh)
		if err != nil {
			return err
		}
		fresh = true // a retry reads afresh
		st, er := docs.st.Clone(), docs.er
		ch, err := run(&st, &er)
		if err != nil {
			return err
		}
		if eventID == "" {
			ch &^= incident.ChangeEvent
		}
		if ch == 0 {
			if docs.remembered {
				// Nothing is written, so no precondition checks the
				// remembered copy: decide on a fresh read.
				return errStale
			}
			return nil
		}
		return f.commit(ctx, refs, docs, st, er, ch, run)
	})
	if err != nil {
		if fnFailed {
			// fn's error is returned unchanged.
			return err
		}
		if transient(err) || conflict(err) {
			return &incident.Error{Kind: incident.KindTransient, Op: fmt.Sprintf("update incident %q", incidentID), Err: err}
		}
		return fmt.Errorf("update incident %q: %w", incidentID, err)
	}
	return nil
}

// read returns the incident and event documents of refs: unless fresh,
// the copies this value last wrote when it wrote the incident (an event
// it did not write taken to be missing), otherwise both documents read
// in one round trip.
func (f *Firestore) read(ctx context.Context, refs []*firestore.DocumentRef, fresh bool) (readDocs, error) {
	if !fresh {
		if d, ok := f.written.get(refs); ok {
			return d, nil
		}
	}
	snaps, err := f.client.GetAll(ctx, refs)
	if err != nil {
		return readDocs{}, err
	}
	d := readDocs{stAt: snaps[0].UpdateTime}
	if d.st, err = decodeState(snaps[0]); err != nil {
		return readDocs{}, err
	}
	if len(refs) > 1 {
		d.erAt = snaps[1].UpdateTime
		if d.er, err = decodeEvent(snaps[1]); err != nil {
			return readDocs{}, err
		}
	}
	return d, nil
}

// commit writes what fn made of docs in one atomic commit, each document
// on the condition that it is as docs says. A document fn read but did
// not change is written unchanged, so that its precondition is checked
// too; a missing one it did not create cannot be checked that way, and
// the update runs as a transaction instead.
func (f *Firestore) commit(ctx context.Context, refs []*firestore.DocumentRef, docs readDocs, st incident.State, er incident.EventRecord, ch incident.Change, fn incident.UpdateFunc) error {
	if (!docs.st.Exists && ch&incident.ChangeState == 0) || (len(refs) > 1 && !docs.er.Exists && ch&incident.ChangeEvent == 0) {
		if docs.remembered {
			return errStale // the event taken to be missing may exist
		}
		return f.transact(ctx, refs, fn)
	}
	if ch&incident.ChangeState == 0 {
		st = docs.st
	}
	if ch&incident.ChangeEvent == 0 {
		er = docs.er
	}
	//lint:ignore SA1019 WriteBatch is the client's only atomic commit of
	// several writes with preconditions outside a transaction.
	b := f.client.Batch()
	writeDoc(b, refs[0], docs.st.Exists, docs.stAt, encodeState(st, f.Retention))
	if len(refs) > 1 {
		writeDoc(b, refs[1], docs.er.Exists, docs.erAt, encodeEvent(er))
	}
	if ref, doc, ok := f.memoryWrite(refs[0].ID, docs.st, st); ok {
		// Last: the results below are read by position.
		b.Set(ref, doc)
	}
	res, err := b.Commit(ctx)
	if err != nil {
		f.written.forget(refs)
		return err
	}
	st.Exists, er.Exists = true, true
	d := readDocs{st: st, stAt: res[0].UpdateTime}
	if len(refs) > 1 {
		d.er, d.erAt = er, res[1].UpdateTime
	}
	f.written.put(refs, d)
	return nil
}

// writeDoc adds to b the write that makes ref hold exactly doc: a create
// when the document was missing, else an update of every field on the
// condition that the document was last updated at at.
func writeDoc(b *firestore.WriteBatch, ref *firestore.DocumentRef, exists bool, at time.Time, doc any) {
	if !exists {
		b.Create(ref, doc)
		return
	}
	b.Update(ref, fieldUpdates(doc), firestore.LastUpdateTime(at))
}

// fieldUpdates returns the updates that make a document hold what Set
// would write for doc, a struct with firestore tags: every field set, an
// empty omitempty field deleted, a serverTimestamp field the server's
// time. (An update, unlike Set, takes a precondition.)
func fieldUpdates(doc any) []firestore.Update {
	v := reflect.ValueOf(doc)
	ups := make([]firestore.Update, 0, v.NumField())
	for i := range v.NumField() {
		name, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("firestore"), ",")
		var val any
		switch fv := v.Field(i); {
		case strings.Contains(opts, "serverTimestamp"):
			val = firestore.ServerTimestamp
		case strings.Contains(opts, "omitempty") && fv.IsZero():
			val = firestore.Delete
		default:
			val = fv.Interface()
		}
		ups = append(ups, firestore.Update{Path: name, Value: val})
	}
	return ups
}

// transact runs fn in a Firestore transaction: for the rare update that
// leaves a document it read missing (a precondition cannot say "still
// missing" without creating it).
func (f *Firestore) transact(ctx context.Context, refs []*firestore.DocumentRef, fn incident.UpdateFunc) error {
	f.written.forget(refs)
	return f.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll(refs)
		if err != nil {
			return err
		}
		st, err := decodeState(snaps[0])
		if err != nil {
			return err
		}
		var er incident.EventRecord
		if len(refs) > 1 {
			if er, err = decodeEvent(snaps[1]); err != nil {
				return err
			}
		}
		before := st.Clone()
		ch, err := fn(&st, &er)
		if err != nil {
			return err
		}
		if ch&incident.ChangeState != 0 {
			if err := tx.Set(refs[0], encodeState(st, f.Retention)); err != nil {
				return err
			}
			if ref, doc, ok := f.memoryWrite(refs[0].ID, before, st); ok {
				if err := tx.Set(ref, doc); err != nil {
					return err
				}
			}
		}
		if ch&incident.ChangeEvent != 0 && len(refs) > 1 {
			if err := tx.Set(refs[1], encodeEvent(er)); err != nil {
				return err
			}
		}
		return nil
	}, firestore.MaxAttempts(1))
}

// getDoc reads one document with GetAll, which answers a missing
// document with a snapshot that does not exist rather than an error.
func getDoc(ctx context.Context, client *firestore.Client, ref *firestore.DocumentRef) (*firestore.DocumentSnapshot, error) {
	snaps, err := client.GetAll(ctx, []*firestore.DocumentRef{ref})
	if err != nil {
		return nil, err
	}
	return snaps[0], nil
}

// readDocs is an incident document and an event document as read or
// written, with their update times; remembered marks copies this value
// wrote last rather than read.
type readDocs struct {
	st         incident.State
	stAt       time.Time
	er         incident.EventRecord
	erAt       time.Time
	remembered bool
}

// errStale asks for an update to run again on a fresh read.
var errStale = errors.New("remembered documents not checked by a write")

// maxTxAttempts bounds the tries of one update that loses to concurrent
// ones.
const maxTxAttempts = 10

// conflict reports whether err means the documents changed between the
// read and the write: a precondition or transaction lost to another
// writer, or a remembered copy to check.
func conflict(err error) bool {
	switch status.Code(err) {
	case codes.Aborted, codes.FailedPrecondition, codes.AlreadyExists:
		return true
	}
	return errors.Is(err, errStale)
}

// retryConflicts runs an update until it does not conflict, pausing a
// short random while between tries. The client's own retries pause up
// to a second, then two, which alone would spend PagerDuty's five seconds
// when an incident's events and their duplicates reach two instances at
// once; these updates are short, so a short pause is enough to let the
// winner commit.
func retryConflicts(ctx context.Context, update func() error) error {
	var err error
	for try := range maxTxAttempts {
		if err = update(); !conflict(err) {
			return err
		}
		if errors.Is(err, errStale) {
			continue
		}
		pause := time.Duration(10+rand.IntN(40*(try+1))) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
	return err
}

// Due implements incident.Store with one indexed query (archivable,
// snapshot.resolved_at): the incidents whose channel may be archived,
// oldest resolution first.
func (f *Firestore) Due(ctx context.Context, resolvedBefore time.Time, limit int) ([]string, error) {
	docs, err := f.client.Collection(incidentsCollection).
		Where("archivable", "==", true).
		Where("snapshot.resolved_at", "<=", resolvedBefore.UTC()).
		OrderBy("snapshot.resolved_at", firestore.Asc).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		if transient(err) {
			err = &incident.Error{Kind: incident.KindTransient, Op: "list due incidents", Err: err}
		}
		return nil, fmt.Errorf("list due incidents: %w", err)
	}
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.Ref.ID)
	}
	return ids, nil
}

// Get implements incident.Store with plain reads of both documents in one
// round trip: no transaction, so a waiter polling for a lease never locks
// what the holder writes.
func (f *Firestore) Get(ctx context.Context, incidentID, eventID string) (incident.State, incident.EventRecord, error) {
	if err := validateIDs(incidentID, eventID); err != nil {
		return incident.State{}, incident.EventRecord{}, fmt.Errorf("read incident: %w", err)
	}
	refs := []*firestore.DocumentRef{f.client.Collection(incidentsCollection).Doc(incidentID)}
	if eventID != "" {
		refs = append(refs, refs[0].Collection(eventsCollection).Doc(eventID))
	}
	snaps, err := f.client.GetAll(ctx, refs)
	if err != nil {
		if transient(err) {
			err = &incident.Error{Kind: incident.KindTransient, Op: fmt.Sprintf("read incident %q", incidentID), Err: err}
		}
		return incident.State{}, incident.EventRecord{}, err
	}
	st, err := decodeState(snaps[0])
	if err != nil {
		return incident.State{}, incident.EventRecord{}, err
	}
	var er incident.EventRecord
	if eventID != "" {
		if er, err = decodeEvent(snaps[1]); err != nil {
			return incident.State{}, incident.EventRecord{}, err
		}
	}
	return st, er, nil
}

// transient reports whether a Firestore error may pass on a later try:
// the service is unavailable or overloaded, the call ran out of time, or
// the transaction lost to concurrent ones too often.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted,
		codes.Internal, codes.Unknown, codes.Canceled:
		return true
	}
	return false
}

// incidentDoc is the stored form of incident.State. The domain types carry
// no Firestore tags, so the mapping is spelled out here and field names
// stay stable when Go names change. Zero times are omitted.
type incidentDoc struct {
	Snapshot    snapshotDoc `firestore:"snapshot"`
	Version     int64       `firestore:"version"`
	ChannelID   string      `firestore:"channel_id"`
	ChannelName string      `firestore:"channel_name"`
	LeaseOwner  string      `firestore:"lease_owner"`
	LeaseUntil  time.Time   `firestore:"lease_until,omitempty"`
	// Ledger holds the effects an attempt set out to do and whose outcome
	// is not recorded.
	Ledger []ledgerDoc `firestore:"ledger"`
	// CreatingSince and CreatingNames are how documents written before
	// the ledger recorded a pending channel; read, never written.
	CreatingSince   time.Time    `firestore:"creating_since,omitempty"`
	CreatingNames   []string     `firestore:"creating_names"`
	RootTS          string       `firestore:"root_ts"`
	RootVersion     int64        `firestore:"root_version"`
	Topic           string       `firestore:"topic"`
	Bookmarks       []string     `firestore:"bookmarks"`
	Invitees        []string     `firestore:"invitees"`
	CannotInvite    []string     `firestore:"cannot_invite,omitempty"`
	ChannelArchived bool         `firestore:"channel_archived"`
	Closed          bool         `firestore:"closed"`
	PastChannels    []string     `firestore:"past_channels"`
	MergeNoted      bool         `firestore:"merge_noted"`
	Backlinked      string       `firestore:"backlinked,omitempty"`
	People          []refDoc     `firestore:"people"`
	PeopleDone      []string     `firestore:"people_done"`
	Boards          []boardDoc   `firestore:"boards"`
	History         []historyDoc `firestore:"history"`
	Summarized      bool         `firestore:"summarized"`
	Timeline        []historyDoc `firestore:"timeline"`
	TimelineCut     int64        `firestore:"timeline_cut"`
	AckedAt         time.Time    `firestore:"acked_at,omitempty"`
	AckedBy         string       `firestore:"acked_by"`
	Escalations     int64        `firestore:"escalations"`
	Reassignments   int64        `firestore:"reassignments"`
	Notes           int64        `firestore:"notes"`
	// LateChannel keeps the field name stored documents use, as does
	// ledgerDoc.PutOff.
	LateChannel    bool        `firestore:"deferred"`
	ResolvedBy     string      `firestore:"resolved_by"`
	LastResolvedAt time.Time   `firestore:"last_resolved_at,omitempty"`
	LastNote       string      `firestore:"last_note"`
	LastNoteAt     time.Time   `firestore:"last_note_at,omitempty"`
	Recalled       bool        `firestore:"recalled"`
	Past           []memoryDoc `firestore:"past"`
	FollowUps      []string    `firestore:"follow_ups"`
	Canvas         string      `firestore:"canvas,omitempty"`
	NoCanvas       bool        `firestore:"no_canvas,omitempty"`
	Retro          time.Time   `firestore:"retro,omitempty"`
	// Archivable is set while the sweep may archive the incident's channel
	// (see archivable); with snapshot.resolved_at it is the sweep's
	// query, served by the composite index in firestore.indexes.json.
	Archivable bool `firestore:"archivable"`
	// WrittenAt is the server's time of the last write, for operators
	// looking at the console; the domain never reads it.
	WrittenAt time.Time `firestore:"written_at,serverTimestamp"`
	// ExpireAt is when the TTL policy on the collection group incidents
	// deletes the document (see expireAt). Absent while the incident is
	// open: an update of a reopened incident deletes it.
	ExpireAt time.Time `firestore:"expire_at,omitempty"`
}

type snapshotDoc struct {
	ID               string    `firestore:"id"`
	Number           int64     `firestore:"number"`
	Title            string    `firestore:"title"`
	Status           string    `firestore:"status"`
	Urgency          string    `firestore:"urgency"`
	Priority         string    `firestore:"priority"`
	HTMLURL          string    `firestore:"html_url"`
	Service          refDoc    `firestore:"service"`
	EscalationPolicy refDoc    `firestore:"escalation_policy"`
	Assignees        []refDoc  `firestore:"assignees"`
	Teams            []refDoc  `firestore:"teams"`
	IncidentType     string    `firestore:"incident_type"`
	ConferenceURL    string    `firestore:"conference_url"`
	ConferenceNumber string    `firestore:"conference_number"`
	ConferenceAt     time.Time `firestore:"conference_at,omitempty"`
	CreatedAt        time.Time `firestore:"created_at,omitempty"`
	ResolvedAt       time.Time `firestore:"resolved_at,omitempty"`
	MergedInto       refDoc    `firestore:"merged_into"`
	Complete         bool      `firestore:"complete"`
	UpdatedAt        time.Time `firestore:"updated_at,omitempty"`
}

type refDoc struct {
	ID      string `firestore:"id"`
	Type    string `firestore:"type"`
	Summary string `firestore:"summary"`
	HTMLURL string `firestore:"html_url"`
}

// boardDoc is a message about the incident in a shared channel.
type boardDoc struct {
	ChannelID  string `firestore:"channel_id"`
	TS         string `firestore:"ts"`
	GaveUp     bool   `firestore:"gave_up"`
	Version    int64  `firestore:"version"`
	HasChannel bool   `firestore:"has_channel"`
	Thread     bool   `firestore:"thread"`
}

// ledgerDoc is a ledger entry (incident.Entry) as stored.
type ledgerDoc struct {
	Key    string    `firestore:"key"`
	Owner  string    `firestore:"owner"`
	Until  time.Time `firestore:"until,omitempty"`
	Since  time.Time `firestore:"since,omitempty"`
	Names  []string  `firestore:"names"`
	Thread bool      `firestore:"thread"`
	// PutOff marks an optional effect put off by Event (stored as
	// "deferred").
	PutOff bool   `firestore:"deferred"`
	Event  string `firestore:"event"`
}

type historyDoc struct {
	At      time.Time `firestore:"at"`
	Text    string    `firestore:"text"`
	EventID string    `firestore:"event_id"`
	Early   bool      `firestore:"early"`
}

// eventDoc is the stored form of incident.EventRecord. ExpireAt is always
// written, even when zero (0001-01-01, already expired), so that every
// event document is subject to the TTL policy.
type eventDoc struct {
	Type       string    `firestore:"type"`
	OccurredAt time.Time `firestore:"occurred_at,omitempty"`
	Done       bool      `firestore:"done"`
	ReplyTS    string    `firestore:"reply_ts"`
	ExpireAt   time.Time `firestore:"expire_at"`
	Owner      string    `firestore:"owner"`
	Until      time.Time `firestore:"lease_until,omitempty"`
}

func decodeState(snap *firestore.DocumentSnapshot) (incident.State, error) {
	if !snap.Exists() {
		return incident.State{}, nil
	}
	var d incidentDoc
	if err := snap.DataTo(&d); err != nil {
		return incident.State{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	s := d.Snapshot
	st := incident.State{
		Exists: true,
		Snapshot: incident.Snapshot{
			ID:               s.ID,
			Number:           int(s.Number),
			Title:            s.Title,
			Status:           incident.Status(s.Status),
			Urgency:          incident.Urgency(s.Urgency),
			Priority:         s.Priority,
			HTMLURL:          s.HTMLURL,
			Service:          incident.Ref(s.Service),
			EscalationPolicy: incident.Ref(s.EscalationPolicy),
			Assignees:        refsFromDocs(s.Assignees),
			Teams:            refsFromDocs(s.Teams),
			IncidentType:     s.IncidentType,
			ConferenceURL:    s.ConferenceURL,
			ConferenceNumber: s.ConferenceNumber,
			ConferenceAt:     s.ConferenceAt,
			CreatedAt:        s.CreatedAt,
			ResolvedAt:       s.ResolvedAt,
			MergedInto:       incident.Ref(s.MergedInto),
			Complete:         s.Complete,
			UpdatedAt:        s.UpdatedAt,
		},
		Version:     d.Version,
		ChannelID:   d.ChannelID,
		ChannelName: d.ChannelName,
		LeaseOwner:  d.LeaseOwner,
		LeaseUntil:  d.LeaseUntil,
		Ledger: convertSlice(d.Ledger, func(p ledgerDoc) incident.Entry {
			return incident.Entry{Key: p.Key, Owner: p.Owner, Until: p.Until, Since: p.Since, Names: cloneSlice(p.Names), Thread: p.Thread, PutOff: p.PutOff, Event: p.Event}
		}),
		RootTS:          d.RootTS,
		RootVersion:     d.RootVersion,
		Topic:           d.Topic,
		Bookmarks:       cloneSlice(d.Bookmarks),
		Invitees:        cloneSlice(d.Invitees),
		CannotInvite:    cloneSlice(d.CannotInvite),
		ChannelArchived: d.ChannelArchived,
		Closed:          d.Closed,
		PastChannels:    cloneSlice(d.PastChannels),
		MergeNoted:      d.MergeNoted,
		Backlinked:      d.Backlinked,
		People:          refsFromDocs(d.People),
		PeopleDone:      cloneSlice(d.PeopleDone),
		Boards:          convertSlice(d.Boards, func(b boardDoc) incident.Board { return incident.Board(b) }),
		History:         convertSlice(d.History, func(h historyDoc) incident.HistoryLine { return incident.HistoryLine(h) }),
		Timeline:        convertSlice(d.Timeline, func(h historyDoc) incident.HistoryLine { return incident.HistoryLine(h) }),
		TimelineCut:     int(d.TimelineCut),
		AckedAt:         d.AckedAt,
		AckedBy:         d.AckedBy,
		Escalations:     int(d.Escalations),
		Reassignments:   int(d.Reassignments),
		Notes:           int(d.Notes),
		Summarized:      d.Summarized,
		LateChannel:     d.LateChannel,
		ResolvedBy:      d.ResolvedBy,
		LastResolvedAt:  d.LastResolvedAt,
		LastNote:        d.LastNote,
		LastNoteAt:      d.LastNoteAt,
		Recalled:        d.Recalled,
		Past:            convertSlice(d.Past, memoryDoc.decode),
		FollowUps:       cloneSlice(d.FollowUps),
		Canvas:          d.Canvas,
		NoCanvas:        d.NoCanvas,
		Retro:           d.Retro,
	}
	return upgrade(st, d), nil
}

// upgrade reads what documents written before the ledger recorded as
// pending: a channel being created, and boards being posted (no ts, not
// given up).
func upgrade(st incident.State, d incidentDoc) incident.State {
	if st.ChannelID == "" && !d.CreatingSince.IsZero() && st.Entry(incident.KeyChannel) == nil {
		st.Ledger = append(st.Ledger, incident.Entry{Key: incident.KeyChannel, Owner: d.LeaseOwner, Until: d.LeaseUntil, Since: d.CreatingSince, Names: cloneSlice(d.CreatingNames)})
	}
	st.Boards = slices.DeleteFunc(st.Boards, func(b incident.Board) bool {
		if b.TS != "" || b.GaveUp {
			return false
		}
		if st.Entry(incident.BoardKey(b.ChannelID)) == nil {
			st.Ledger = append(st.Ledger, incident.Entry{Key: incident.BoardKey(b.ChannelID), Owner: d.LeaseOwner, Until: d.LeaseUntil, Thread: b.Thread})
		}
		return true
	})
	if len(st.Boards) == 0 {
		st.Boards = nil
	}
	return st
}

// encodeState returns the document of st, kept for retention after the
// incident resolved.
func encodeState(st incident.State, retention time.Duration) incidentDoc {
	s := st.Snapshot
	return incidentDoc{
		Snapshot: snapshotDoc{
			ID:               s.ID,
			Number:           int64(s.Number),
			Title:            s.Title,
			Status:           string(s.Status),
			Urgency:          string(s.Urgency),
			Priority:         s.Priority,
			HTMLURL:          s.HTMLURL,
			Service:          refDoc(s.Service),
			EscalationPolicy: refDoc(s.EscalationPolicy),
			Assignees:        refsToDocs(s.Assignees),
			Teams:            refsToDocs(s.Teams),
			IncidentType:     s.IncidentType,
			ConferenceURL:    s.ConferenceURL,
			ConferenceNumber: s.ConferenceNumber,
			ConferenceAt:     utc(s.ConferenceAt),
			CreatedAt:        utc(s.CreatedAt),
			ResolvedAt:       utc(s.ResolvedAt),
			MergedInto:       refDoc(s.MergedInto),
			Complete:         s.Complete,
			UpdatedAt:        utc(s.UpdatedAt),
		},
		Version:     st.Version,
		ChannelID:   st.ChannelID,
		ChannelName: st.ChannelName,
		LeaseOwner:  st.LeaseOwner,
		LeaseUntil:  utc(st.LeaseUntil),
		Ledger: convertSlice(st.Ledger, func(p incident.Entry) ledgerDoc {
			return ledgerDoc{Key: p.Key, Owner: p.Owner, Until: utc(p.Until), Since: utc(p.Since), Names: cloneSlice(p.Names), Thread: p.Thread, PutOff: p.PutOff, Event: p.Event}
		}),
		RootTS:          st.RootTS,
		RootVersion:     st.RootVersion,
		Topic:           st.Topic,
		Bookmarks:       cloneSlice(st.Bookmarks),
		Invitees:        cloneSlice(st.Invitees),
		CannotInvite:    cloneSlice(st.CannotInvite),
		ChannelArchived: st.ChannelArchived,
		Closed:          st.Closed,
		PastChannels:    cloneSlice(st.PastChannels),
		MergeNoted:      st.MergeNoted,
		Backlinked:      st.Backlinked,
		People:          refsToDocs(st.People),
		PeopleDone:      cloneSlice(st.PeopleDone),
		Boards:          convertSlice(st.Boards, func(b incident.Board) boardDoc { return boardDoc(b) }),
		History: convertSlice(st.History, func(h incident.HistoryLine) historyDoc {
			return historyDoc{At: utc(h.At), Text: h.Text, EventID: h.EventID, Early: h.Early}
		}),
		Timeline: convertSlice(st.Timeline, func(h incident.HistoryLine) historyDoc {
			return historyDoc{At: utc(h.At), Text: h.Text, EventID: h.EventID, Early: h.Early}
		}),
		TimelineCut:    int64(st.TimelineCut),
		AckedAt:        utc(st.AckedAt),
		AckedBy:        st.AckedBy,
		Escalations:    int64(st.Escalations),
		Reassignments:  int64(st.Reassignments),
		Notes:          int64(st.Notes),
		Summarized:     st.Summarized,
		Archivable:     archivable(st),
		LateChannel:    st.LateChannel,
		ResolvedBy:     st.ResolvedBy,
		LastResolvedAt: utc(st.LastResolvedAt),
		LastNote:       st.LastNote,
		LastNoteAt:     utc(st.LastNoteAt),
		Recalled:       st.Recalled,
		Past:           convertSlice(st.Past, func(p incident.PastIncident) memoryDoc { return encodeMemory(p, -1) }),
		FollowUps:      cloneSlice(st.FollowUps),
		Canvas:         st.Canvas,
		NoCanvas:       st.NoCanvas,
		Retro:          utc(st.Retro),
		ExpireAt:       utc(expireAt(st, retention)),
	}
}

// convertSlice maps s with f; empty becomes nil.
func convertSlice[E, F any](s []E, f func(E) F) []F {
	if len(s) == 0 {
		return nil
	}
	out := make([]F, len(s))
	for i, e := range s {
		out[i] = f(e)
	}
	return out
}

func decodeEvent(snap *firestore.DocumentSnapshot) (incident.EventRecord, error) {
	if !snap.Exists() {
		return incident.EventRecord{}, nil
	}
	var d eventDoc
	if err := snap.DataTo(&d); err != nil {
		return incident.EventRecord{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	return incident.EventRecord{
		Exists:     true,
		Type:       d.Type,
		OccurredAt: d.OccurredAt,
		Done:       d.Done,
		ReplyTS:    d.ReplyTS,
		ExpireAt:   d.ExpireAt,
		Owner:      d.Owner,
		Until:      d.Until,
	}, nil
}

func encodeEvent(er incident.EventRecord) eventDoc {
	return eventDoc{
		Type:       er.Type,
		OccurredAt: utc(er.OccurredAt),
		Done:       er.Done,
		ReplyTS:    er.ReplyTS,
		ExpireAt:   utc(er.ExpireAt),
		Owner:      er.Owner,
		Until:      utc(er.Until),
	}
}

func refsToDocs(refs []incident.Ref) []refDoc {
	if len(refs) == 0 {
		return nil
	}
	docs := make([]refDoc, len(refs))
	for i, r := range refs {
		docs[i] = refDoc(r)
	}
	return docs
}

func refsFromDocs(docs []refDoc) []incident.Ref {
	if len(docs) == 0 {
		return nil
	}
	refs := make([]incident.Ref, len(docs))
	for i, d := range docs {
		refs[i] = incident.Ref(d)
	}
	return refs
}

// utc drops the location and monotonic reading; Firestore keeps neither.
// The zero time stays the zero time.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// keyedMutex is a set of mutexes, one per key in use, whose Lock gives up
// when the context is done.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	held  chan struct{} // holds a value while locked
	users int           // goroutines holding or waiting; guarded by keyedMutex.mu
}

// lock locks key and returns the function that unlocks it.
func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = &keyedLock{held: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.held <- struct{}{}:
		return func() { <-l.held; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// writtenDocs remembers the incident and event documents a Firestore
// value wrote last, with their update times. A copy is only ever used
// under a write whose precondition is its update time, so a stale one
// costs a failed commit and a read, never a wrong decision.
type writtenDocs struct {
	mu     sync.Mutex
	states map[string]versioned[incident.State]
	events map[string]versioned[incident.EventRecord]
}

type versioned[T any] struct {
	v  T
	at time.Time
}

// maxWritten bounds the documents remembered of each kind; past it, the
// map starts afresh (an incident's next update then reads once more).
const maxWritten = 512

func (w *writtenDocs) get(refs []*firestore.DocumentRef) (readDocs, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.states[refs[0].Path]
	if !ok {
		return readDocs{}, false
	}
	d := readDocs{st: s.v.Clone(), stAt: s.at, remembered: true}
	if len(refs) > 1 {
		// An event this value never wrote is taken to be new: the
		// write creates it, which fails if it exists after all.
		e := w.events[refs[1].Path]
		d.er, d.erAt = e.v, e.at
	}
	return d, true
}

func (w *writtenDocs) put(refs []*firestore.DocumentRef, d readDocs) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.states == nil || len(w.states) >= maxWritten {
		w.states = make(map[string]versioned[incident.State])
	}
	w.states[refs[0].Path] = versioned[incident.State]{d.st.Clone(), d.stAt}
	if len(refs) > 1 {
		if w.events == nil || len(w.events) >= maxWritten {
			w.events = make(map[string]versioned[incident.EventRecord])
		}
		w.events[refs[1].Path] = versioned[incident.EventRecord]{d.er, d.erAt}
	}
}

func (w *writtenDocs) forget(refs []*firestore.DocumentRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range refs {
		delete(w.states, r.Path)
		delete(w.events, r.Path)
	}
}
