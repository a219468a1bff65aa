// Package store is the one package that speaks to Firestore: incident
// state and its ledger (incident.Store), the claims of actions taken from
// Slack, Slack's rate limits shared among instances, and the people cache
// (PagerDuty user ↔ Slack user). Firestore is the production
// implementation of each; an in-memory twin (Memory, MemoryClaims,
// MemoryPeople) serves tests and the local runner, and the shared
// conformance tests check both against the real Firestore emulator.
// docs/operations.md ("What is stored in Firestore") lists every
// collection.
//
// # Firestore layout
//
// One document per incident, holding its incident.State:
//
//	incidents/{incidentID}
//
// One small document per applied event, holding its incident.EventRecord,
// so the incident document does not grow with every event:
//
//	incidents/{incidentID}/events/{eventID}
//
// Field names are snake_case (see incidentDoc and eventDoc). Every event
// document carries the timestamp field expire_at, set from
// EventRecord.ExpireAt. Old event records are deleted by a Firestore TTL
// policy, which has to be created once per database:
//
//	gcloud firestore fields ttls update expire_at \
//	  --collection-group=events --enable-ttl [--database=DATABASE]
//
// TTL deletion runs some time (typically within a day) after expire_at
// passes; a record is never needed after that, as PagerDuty stops
// redelivering a webhook after 48 hours.
//
// An incident document carries expire_at once its incident resolved: the
// resolution time plus the store's retention (HISTORY_RETENTION), for a
// TTL policy on the collection group incidents, created once likewise:
//
//	gcloud firestore fields ttls update expire_at \
//	  --collection-group=incidents --enable-ttl [--database=DATABASE]
//
// An open incident's document has none, so no policy ever deletes it (see
// expireAt). Deleting an incident document leaves its events, which
// expire on their own.
//
// Firestore stores times with microsecond precision and returns them in
// UTC, so a time read back equals the one written (time.Time.Equal) only
// to the microsecond. Empty slices read back as nil from both stores.
package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incident-channels/incident-channels/incident"
)

// ErrInvalidID means an incident or event id cannot name a Firestore
// document: it is empty, "." or "..", contains "/", is longer than 1500
// bytes, is not valid UTF-8 or matches the reserved form __.*__. Both
// stores reject such ids before any I/O, so tests on Memory catch ids that
// Firestore would refuse.
var ErrInvalidID = errors.New("invalid id")

// maxIDBytes is Firestore's limit on the length of a document id.
const maxIDBytes = 1500

// validateIDs checks the ids given to Update; eventID may be empty.
func validateIDs(incidentID, eventID string) error {
	if err := validateID("incident", incidentID); err != nil {
		return err
	}
	if eventID == "" {
		return nil
	}
	return validateID("event", eventID)
}

func validateID(kind, id string) error {
	var reason string
	switch {
	case id == "":
		reason = "is empty"
	case id == "." || id == "..":
		reason = "is . or .."
	case strings.Contains(id, "/"):
		reason = `contains "/"`
	case len(id) > maxIDBytes:
		reason = fmt.Sprintf("is %d bytes long, over Firestore's %d", len(id), maxIDBytes)
	case !utf8.ValidString(id):
		reason = "is not valid UTF-8"
	case len(id) >= 4 && strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__"):
		reason = "matches __.*__, reserved by Firestore"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s id %s %s", ErrInvalidID, kind, quoteShort(id), reason)
}

// quoteShort quotes id for an error message, eliding the middle of long
// ones so a 2000-byte id does not flood the logs.
func quoteShort(id string) string {
	const keep = 32
	if len(id) <= 2*keep+3 {
		return fmt.Sprintf("%q", id)
	}
	return fmt.Sprintf("%q…%q", id[:keep], id[len(id)-keep:])
}

// cloneState returns a copy of st that shares no slice with it, with
// empty slices nil as in a Firestore round trip.
func cloneState(st incident.State) incident.State { return st.Clone() }

func cloneSlice[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return append([]E(nil), s...)
}

// expireAt is when the document of st may be deleted: retention (zero:
// incident.HistoryRetention) after the incident resolved. While the
// incident is open it is zero, written as no expire_at at all rather
// than a far-off date: a document without the field is one no TTL policy
// can delete, whatever the retention, and a reopened incident's update
// removes the field.
func expireAt(st incident.State, retention time.Duration) time.Time {
	if st.Snapshot.Status != incident.StatusResolved || st.Snapshot.ResolvedAt.IsZero() {
		return time.Time{}
	}
	if retention <= 0 {
		retention = incident.HistoryRetention
	}
	return st.Snapshot.ResolvedAt.Add(retention)
}

// archivable reports whether st is an incident whose own channel the
// sweep may archive once it has been resolved long enough.
func archivable(st incident.State) bool {
	return st.ChannelID != "" && !st.ChannelArchived && st.Snapshot.Status == incident.StatusResolved && !st.Snapshot.ResolvedAt.IsZero()
}
