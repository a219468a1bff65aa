package store

// The stored form of an incident and its events: the domain types carry
// no Firestore tags, so the mapping between them and the documents the
// package comment describes is spelled out here, once.

import (
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/incident-channels/incident-channels/incident"
)

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
	RemindedAt      time.Time    `firestore:"reminded_at,omitempty"`
	SnoozedUntil    time.Time    `firestore:"snoozed_until,omitempty"`
	// Update is the latest status update.
	Update updateDoc `firestore:"update"`
	// Lead is who leads the incident, named from Slack; Roles the roles
	// given in PagerDuty.
	Lead  leadDoc   `firestore:"lead"`
	Roles []roleDoc `firestore:"roles"`
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
	CanvasShows    string      `firestore:"canvas_shows,omitempty"`
	// Archivable is set while the sweep may archive the incident's channel
	// (see archivable); with snapshot.resolved_at it is the sweep's
	// query, served by the composite index in firestore.indexes.json.
	Archivable bool `firestore:"archivable"`
	// Open is set while the incident is unresolved and its own channel
	// open (see open): the query of the sweep's update reminders.
	Open bool `firestore:"open"`
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

// updateDoc is a status update (incident.StatusUpdate) as stored.
type updateDoc struct {
	Text string    `firestore:"text"`
	By   string    `firestore:"by"`
	At   time.Time `firestore:"at,omitempty"`
}

// leadDoc is who leads an incident (incident.Lead) as stored.
type leadDoc struct {
	SlackUserID string    `firestore:"slack_user_id"`
	Name        string    `firestore:"name"`
	At          time.Time `firestore:"at,omitempty"`
}

// roleDoc is an incident role given in PagerDuty (incident.Role).
type roleDoc struct {
	Name     string    `firestore:"name"`
	Assignee refDoc    `firestore:"assignee"`
	At       time.Time `firestore:"at,omitempty"`
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
		Update:          incident.StatusUpdate(d.Update),
		Lead:            incident.Lead(d.Lead),
		Roles: convertSlice(d.Roles, func(r roleDoc) incident.Role {
			return incident.Role{Name: r.Name, Assignee: incident.Ref(r.Assignee), At: r.At}
		}),
		RemindedAt:     d.RemindedAt,
		SnoozedUntil:   d.SnoozedUntil,
		Summarized:     d.Summarized,
		LateChannel:    d.LateChannel,
		ResolvedBy:     d.ResolvedBy,
		LastResolvedAt: d.LastResolvedAt,
		LastNote:       d.LastNote,
		LastNoteAt:     d.LastNoteAt,
		Recalled:       d.Recalled,
		Past:           convertSlice(d.Past, memoryDoc.decode),
		FollowUps:      cloneSlice(d.FollowUps),
		Canvas:         d.Canvas,
		NoCanvas:       d.NoCanvas,
		Retro:          d.Retro,
		CanvasShows:    d.CanvasShows,
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
		TimelineCut:   int64(st.TimelineCut),
		AckedAt:       utc(st.AckedAt),
		AckedBy:       st.AckedBy,
		Escalations:   int64(st.Escalations),
		Reassignments: int64(st.Reassignments),
		Notes:         int64(st.Notes),
		Update:        updateDoc{Text: st.Update.Text, By: st.Update.By, At: utc(st.Update.At)},
		Lead:          leadDoc{SlackUserID: st.Lead.SlackUserID, Name: st.Lead.Name, At: utc(st.Lead.At)},
		Roles: convertSlice(st.Roles, func(r incident.Role) roleDoc {
			return roleDoc{Name: r.Name, Assignee: refDoc(r.Assignee), At: utc(r.At)}
		}),
		RemindedAt:     utc(st.RemindedAt),
		SnoozedUntil:   utc(st.SnoozedUntil),
		Summarized:     st.Summarized,
		Archivable:     archivable(st),
		Open:           open(st),
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
		CanvasShows:    st.CanvasShows,
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
