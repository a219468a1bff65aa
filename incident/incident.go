// Package incident is the domain of Incident Channels: PagerDuty V3 webhook
// events, the stored state of an incident and its Slack channel, the pure
// decisions that turn (state, event) into Slack actions, and the service that
// carries them out through the small Store and Slack interfaces declared here.
// The Responder is what a click or an /inc command in Slack does: it acts on
// PagerDuty as the responder, through interfaces declared here too.
//
// The package imports neither Firestore nor slack-go; adapters in
// incident/store and slackops satisfy its interfaces.
package incident

import (
	"context"
	"slices"
	"time"
)

// Ref is a PagerDuty reference object (user, service, escalation policy,
// priority, team, incident). Summary is the human-readable name.
type Ref struct {
	ID      string
	Type    string
	Summary string
	HTMLURL string
}

// Snapshot is what is known of one incident: the newest full incident
// payload seen, moved forward only by newer events.
type Snapshot struct {
	ID               string
	Number           int
	Title            string
	Status           Status
	Urgency          Urgency
	Priority         string // e.g. "P1"; empty when none
	HTMLURL          string
	Service          Ref
	EscalationPolicy Ref
	Assignees        []Ref
	Teams            []Ref
	IncidentType     string
	ConferenceURL    string
	ConferenceNumber string
	// ConferenceAt is the occurred_at of the event that set the conference
	// bridge: a conference_bridge.updated event moves it without moving
	// UpdatedAt, and an older full payload must not undo it.
	ConferenceAt time.Time
	CreatedAt    time.Time
	ResolvedAt   time.Time // zero unless resolved
	// MergedInto is the incident this one was merged into (PagerDuty
	// resolves a merged incident with a merge_resolve_reason); zero
	// unless merged.
	MergedInto Ref
	// Complete is false while the snapshot was built only from an incident
	// reference (notes, responders, status updates) and no full incident
	// payload has been seen yet.
	Complete bool
	// UpdatedAt is the occurred_at of the newest event applied to the
	// snapshot; an older event never overwrites it.
	UpdatedAt time.Time
}

// State is the stored document of one incident: its snapshot and how far
// Slack has been brought in line with it. Every completed Slack step is
// recorded here as soon as it happens so a redelivery resumes, not repeats.
type State struct {
	// Exists is false for an incident the store has never seen.
	Exists   bool
	Snapshot Snapshot
	// Version grows by one each time Snapshot or another part of what the
	// root message shows (the latest status update, the lead) changes;
	// the root message records the version it was rendered from.
	Version int64

	ChannelID   string
	ChannelName string
	// LeaseOwner holds the incident's one lease until LeaseUntil: only
	// the holder calls Slack for the incident, so effects are never done
	// twice at once and edits land in order. Lease times compare one
	// instance's clock with another's: instances are assumed to agree
	// within a second (LeaseMargin), as NTP-synced servers do.
	LeaseOwner string
	LeaseUntil time.Time
	// Ledger holds the effects an attempt set out to do and whose outcome
	// is not recorded (see ledger.go).
	Ledger []Entry

	RootTS string
	// RootVersion is the Version the root message was last rendered from.
	RootVersion int64
	// Topic is the last topic set on the channel (before truncation).
	Topic string
	// Bookmarks are the links already bookmarked in the channel.
	Bookmarks []string
	// Invitees are the Slack users and user groups of the incident's
	// routes (SLACK_INVITE_USERS, a rule's invite list) already invited.
	Invitees []string
	// ChannelArchived is set when Slack answered is_archived: someone
	// archived the channel, and nothing more is posted for the incident.
	ChannelArchived bool
	// Closed is set when the sweep archived the channel, ARCHIVE_AFTER
	// after the incident resolved (ChannelArchived is then set too). An
	// incident reopened after that gets a new channel (Slack does not let
	// a bot unarchive one); PastChannels are the archived ones, oldest
	// first.
	Closed       bool
	PastChannels []string
	// CannotInvite names who could not be added to the channel and are
	// not yet named in its thread (the invite note), sorted.
	CannotInvite []string
	// MergeNoted is set once the incident this one was merged into has
	// been told (a note in its channel, when it has one).
	MergeNoted bool
	// Backlinked is the channel the incident's PagerDuty note links (the
	// back-link); a reopened incident's next channel gets its own.
	Backlinked string

	// People are the PagerDuty users the incident involved (assignees,
	// acknowledgers, requested responders), to be invited to its channel;
	// PeopleDone the ids of those invited or reported as impossible to
	// invite.
	People     []Ref
	PeopleDone []string
	// Boards are the incident's messages in shared channels: the announce
	// channel's and the post-only channel's.
	Boards []Board
	// History holds what happened while the incident had no channel of
	// its own; the channel it gets later tells it in a summary reply, and
	// Summarized is set once it did.
	History    []HistoryLine
	Summarized bool
	// Timeline is what happened to the incident, for the summary its
	// resolution posts: the first line and the newest, at most
	// maxTimeline, TimelineCut counting the lines left out between.
	Timeline    []HistoryLine
	TimelineCut int
	// AckedAt and AckedBy are the first acknowledgement; Escalations,
	// Reassignments and Notes count events of those kinds.
	AckedAt       time.Time
	AckedBy       string
	Escalations   int
	Reassignments int
	Notes         int
	// Update is the incident's latest status update; Lead who leads it.
	Update StatusUpdate
	Lead   Lead
	// Roles are the incident roles given in PagerDuty.
	Roles []Role
	// RemindedAt is when the channel was last reminded to post a status
	// update; SnoozedUntil holds the reminders till then.
	RemindedAt   time.Time
	SnoozedUntil time.Time
	// LateChannel is set once an event was completed while the incident
	// had no channel of its own: a channel it gets later opens late, and
	// tells what happened before (the root's Before, a summary reply).
	LateChannel bool

	// ResolvedBy is who resolved the incident last (the agent of its
	// newest incident.resolved event) and LastResolvedAt when; both stay
	// when it is reopened, for its memory (MemoryOf).
	ResolvedBy     string
	LastResolvedAt time.Time
	// LastNote is the newest note added to the incident (the back-link
	// aside), cut to maxNote, and LastNoteAt when: its resolution note
	// when added before it resolved.
	LastNote   string
	LastNoteAt time.Time
	// Recalled is set once the similar past incidents of the channel were
	// looked up (Plan.Recall); Past are those found, shown on its root.
	Recalled bool
	Past     []PastIncident
	// FollowUps are what the team means to do after the incident, noted
	// from Slack (followup.go), oldest first.
	FollowUps []string
	// Canvas is the id of the channel's canvas (canvas.go); NoCanvas is
	// set when Slack would not give the channel one (a free plan, a
	// missing scope, a canvas there already), so it is not asked again
	// and the retrospective goes as a file instead. Retro is the
	// resolution (LastResolvedAt) whose retrospective the canvas or the
	// file shows. CanvasShows is the digest of the summary the canvas
	// shows while the incident is open ("" once it shows the
	// retrospective), so the summary is edited only when it changes.
	Canvas      string
	NoCanvas    bool
	Retro       time.Time
	CanvasShows string
}

// Clone returns a copy of st that shares no slice with it. Empty slices
// come back nil, as they do from a store.
func (st State) Clone() State {
	st.Ledger = clone(st.Ledger)
	for i := range st.Ledger {
		st.Ledger[i].Names = clone(st.Ledger[i].Names)
	}
	st.Snapshot.Assignees = clone(st.Snapshot.Assignees)
	st.Snapshot.Teams = clone(st.Snapshot.Teams)
	st.Bookmarks = clone(st.Bookmarks)
	st.Invitees = clone(st.Invitees)
	st.CannotInvite = clone(st.CannotInvite)
	st.People = clone(st.People)
	st.PeopleDone = clone(st.PeopleDone)
	st.Boards = clone(st.Boards)
	st.History = clone(st.History)
	st.Timeline = clone(st.Timeline)
	st.PastChannels = clone(st.PastChannels)
	st.Roles = clone(st.Roles)
	st.Past = clone(st.Past)
	st.FollowUps = clone(st.FollowUps)
	for i := range st.Past {
		st.Past[i].Words = clone(st.Past[i].Words)
		st.Past[i].FollowUps = clone(st.Past[i].FollowUps)
	}
	return st
}

func clone[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// Board returns the index in st.Boards of the message in channelID, or -1.
func (st *State) Board(channelID string) int {
	return slices.IndexFunc(st.Boards, func(b Board) bool { return b.ChannelID == channelID })
}

// EventRecord is the stored record of one applied event, kept in its own
// small document so the incident document does not grow with every event.
type EventRecord struct {
	// Exists is false for an event the store has not seen.
	Exists     bool
	Type       string
	OccurredAt time.Time
	// Done is true once every Slack effect of the event is complete; a
	// redelivery of a done event makes no Slack call.
	Done bool
	// ReplyTS is the ts of the thread reply posted for the event, if any.
	ReplyTS string
	// ExpireAt is when the record may be deleted (a Firestore TTL field).
	ExpireAt time.Time
	// Owner is set while the event's reply is in flight: the attempt that
	// set out to post it has not recorded the outcome. A later attempt
	// looks the reply up before posting it, not before Until.
	Owner string
	Until time.Time
}

// ReplyEntry returns the ledger entry of the event's reply (key KeyReply),
// kept in the event's record rather than the incident's ledger.
func (er EventRecord) ReplyEntry() Entry {
	e := Entry{Key: KeyReply, Owner: er.Owner, Until: er.Until}
	if er.ReplyTS != "" {
		e.Finish(er.ReplyTS)
	}
	return e
}

// Change tells a Store which of the two documents an UpdateFunc changed.
type Change uint8

// Change bits.
const (
	ChangeState Change = 1 << iota
	ChangeEvent
)

// UpdateFunc changes the state and event record read in one transaction.
// It may run more than once (transaction retries), so it must be a pure
// function of its arguments and make no other calls.
type UpdateFunc func(st *State, er *EventRecord) (Change, error)

// Store keeps incident state. Update reads the incident's State and, when
// eventID is not empty, the EventRecord of that event, passes them to fn and
// writes back what fn reports changed, all in one transaction. An error
// returned by fn aborts the transaction and is returned as is.
//
// Get reads the incident's State and, when eventID is not empty, the
// EventRecord, without a transaction: waiting for a lease polls with it,
// so waiters do not lock what the lease holder is about to write.
type Store interface {
	Update(ctx context.Context, incidentID, eventID string, fn UpdateFunc) error
	Get(ctx context.Context, incidentID, eventID string) (State, EventRecord, error)
	// Due lists, oldest resolution first and at most limit, the incidents
	// resolved at or before resolvedBefore whose own channel is open.
	Due(ctx context.Context, resolvedBefore time.Time, limit int) ([]string, error)
	// Open lists, at most limit, the unresolved incidents whose own
	// channel is open: those update reminders may be due for.
	Open(ctx context.Context, limit int) ([]State, error)
}

// Reply is one thread reply, in plain text: the Slack adapter escapes and
// formats it.
type Reply struct {
	// Headline is the one-line summary, e.g. "Acknowledged by Ada".
	Headline string
	// Body is optional longer text (a note, a status update) quoted below.
	Body string
	// At is when the event occurred.
	At time.Time
	// Broadcast also shows the reply in the channel (used for resolution).
	Broadcast bool
	// Channel is a Slack channel the reply links (the incident a merged
	// one continues in, or the merged one); URL a web page it links when
	// there is no channel.
	Channel string
	URL     string
	// IncidentID and Buttons are the responder buttons the reply carries
	// (a reminder's), acting on that incident.
	IncidentID string
	Buttons    []Action
	// Mention are Slack users the reply names so that Slack notifies
	// them; MentionPeople PagerDuty users it names, by name where no Slack
	// user is known.
	Mention       []string
	MentionPeople []Ref
	// EventID is the PagerDuty event the reply is for. The Slack adapter
	// attaches it to the message, so FindReply can tell whether an earlier
	// attempt posted the reply but could not record it.
	EventID string
}

// Root is what the root message shows: the incident and, in a channel
// opened after the incident had run elsewhere (or nowhere), what
// happened before.
type Root struct {
	Incident Snapshot
	// Before is what happened before the channel opened, oldest first;
	// empty for a channel opened with the incident.
	Before []HistoryLine
	// Previous is the archived channel this one continues, for an
	// incident reopened after its channel was archived; "" otherwise.
	Previous string
	// Actions are the buttons responders act with (Config.Interactive);
	// none when they cannot act from Slack.
	Actions []Action
	// Update is the latest status update; Lead who leads the incident;
	// zero when none.
	Update StatusUpdate
	Lead   Lead
	// Roles are the incident roles given in PagerDuty.
	Roles []Role
	// Past are the similar past incidents of the incident's service,
	// found when the channel opened.
	Past []PastIncident
}

// RootOf returns the root message of st.
func RootOf(st State) Root {
	r := Root{Incident: st.Snapshot, Update: st.Update, Lead: st.Lead, Roles: clone(st.Roles), Past: st.Past}
	if st.LateChannel {
		r.Before = st.History
	}
	if n := len(st.PastChannels); n > 0 {
		r.Previous = st.PastChannels[n-1]
	}
	return r
}

// reopenedAfterArchive reports whether st is an incident reopened after
// the sweep archived its channel: it gets a new one.
func reopenedAfterArchive(st State) bool {
	return st.ChannelID != "" && st.Closed && st.Snapshot.Status != StatusResolved
}

// nextChannel is st as its next channel starts it: the archived one
// among the past channels, the Slack side empty, and what happened so
// far to tell in the new channel's root and first reply.
func nextChannel(st State) State {
	next := st.Clone()
	next.PastChannels = append(next.PastChannels, st.ChannelID)
	next.ChannelID, next.ChannelName = "", ""
	next.RootTS, next.RootVersion, next.Topic = "", 0, ""
	next.Bookmarks, next.Invitees, next.PeopleDone = nil, nil, nil
	next.ChannelArchived, next.Closed = false, false
	next.History, next.LateChannel, next.Summarized = clone(st.Timeline), true, false
	next.Recalled, next.Past = false, nil
	next.Canvas, next.NoCanvas, next.CanvasShows = "", false, ""
	return next
}

// Bookmark is a link pinned to the channel's bookmark bar.
type Bookmark struct {
	Title string
	Link  string
}

// PagerDuty is what the service writes to PagerDuty: the back-link, a
// note on each incident naming its Slack channel. Implementations return
// *Error (KindMaybeDone when a note's answer was lost).
type PagerDuty interface {
	// AddNote adds a note with content to the incident.
	AddNote(ctx context.Context, incidentID, content string) error
	// HasNote reports whether a note of the incident contains marker: the
	// look-up of a note whose answer was lost.
	HasNote(ctx context.Context, incidentID, marker string) (bool, error)
}

// Slack is what the service needs of Slack. Implementations translate
// vendor errors into ErrNameTaken, ErrRootGone, ErrChannelArchived and
// *Error.
type Slack interface {
	// CreateChannel creates a channel, private or public, and returns its
	// id.
	CreateChannel(ctx context.Context, name string, private bool) (channelID string, err error)
	SetTopic(ctx context.Context, channelID, topic string) error
	AddBookmark(ctx context.Context, channelID string, b Bookmark) error
	// Invite adds users. Users already in the channel are not an error;
	// users Slack refuses (deactivated, unknown, guests) are returned in
	// failed while the others are invited.
	Invite(ctx context.Context, channelID string, userIDs []string) (failed []InviteFailure, err error)
	// GroupMembers returns the user ids of a Slack user group, given by id
	// (S0123ABC) or handle (@sre-oncall); ErrGroupNotFound when there is
	// no such group.
	GroupMembers(ctx context.Context, group string) (userIDs []string, err error)
	// PostRoot posts the root message rendered from r and returns its ts.
	PostRoot(ctx context.Context, channelID string, r Root) (ts string, err error)
	// UpdateRoot edits the root message in place to show r; ErrRootGone
	// when it was deleted.
	UpdateRoot(ctx context.Context, channelID, ts string, r Root) error
	// PostBoard posts the incident's message in a shared channel (the
	// announce or post-only channel) and returns its ts; UpdateBoard edits
	// it in place.
	PostBoard(ctx context.Context, channelID string, b BoardEntry) (ts string, err error)
	UpdateBoard(ctx context.Context, channelID, ts string, b BoardEntry) error
	// ArchiveChannel archives the channel. One archived already is not
	// an error; ErrChannelArchived or ErrRootGone (the channel is gone)
	// mean someone did it by hand.
	ArchiveChannel(ctx context.Context, channelID string) error
	// PostReply posts r in the thread of the root message rootTS;
	// ErrRootGone when the root was deleted.
	PostReply(ctx context.Context, channelID, rootTS string, r Reply) (ts string, err error)
	// CreateCanvas creates the channel's canvas showing markdown and
	// returns its id; ErrNoCanvases when the workspace cannot have one.
	// EditCanvas replaces the whole of it. ShareFile shares a text file in
	// the thread of threadTS (the retrospective where there is no canvas).
	CreateCanvas(ctx context.Context, channelID, title, markdown string) (canvasID string, err error)
	EditCanvas(ctx context.Context, canvasID, markdown string) error
	ShareFile(ctx context.Context, channelID, threadTS, name, title, content string) error

	// The Find calls look for what an earlier attempt did in Slack but could
	// not record (the store failed, or the attempt died, right after Slack
	// answered). The service asks only when resuming such work, so a
	// redelivery does not post or add it a second time.

	// FindRoot returns the ts of the root message posted for incidentID in
	// the channel, or "" when there is none.
	FindRoot(ctx context.Context, channelID, incidentID string) (ts string, err error)
	// FindReply returns the ts of the reply posted for eventID in the
	// thread of rootTS, or "" when there is none.
	FindReply(ctx context.Context, channelID, rootTS, eventID string) (ts string, err error)
	// FindBoard returns the ts of the board message posted for incidentID
	// in the shared channel, or "" when there is none.
	FindBoard(ctx context.Context, channelID, incidentID string) (ts string, err error)
	// Bookmarks returns the links bookmarked in the channel.
	Bookmarks(ctx context.Context, channelID string) (links []string, err error)
	// FindChannel returns the id and name of a live channel with one of
	// names that this app created at or after createdAfter, or "" when
	// there is none (the names belong to someone else's or older channels).
	FindChannel(ctx context.Context, names []string, createdAfter time.Time) (channelID, name string, err error)
}
