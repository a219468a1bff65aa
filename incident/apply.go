package incident

import (
	"maps"
	"reflect"
	"slices"
	"time"
)

// Results is what one round of a plan came to: the outcome of each step
// the executor ran. Apply records it in the state.
type Results struct {
	// ChannelID and ChannelName are the channel created or adopted.
	ChannelID, ChannelName string
	// RootTS is set when the root was posted or found; RootWritten when
	// it was posted or edited to show RootVersion.
	RootTS      string
	RootVersion int64
	RootWritten bool
	// RootGone is the root ts Slack said no longer exists.
	RootGone string
	// Topic is the topic set, when TopicSet.
	Topic    string
	TopicSet bool
	// Canvas is the canvas created; NoCanvas is set when Slack would not
	// create or edit it; Retro is the resolution whose retrospective the
	// canvas or a file now shows. CanvasDone is set when the canvas work
	// came to an outcome.
	Canvas     string
	NoCanvas   bool
	Retro      time.Time
	CanvasDone bool
	// CanvasShows is the digest of the summary the canvas now shows, ""
	// when it shows the retrospective (CanvasWork.Shows).
	CanvasShows string
	// Bookmarks are the links added or found added.
	Bookmarks []string
	// Invitees are the route's users and groups invited; PeopleDone the
	// PagerDuty users invited or reported as impossible to invite.
	Invitees   []string
	PeopleDone []string
	// Boards are the shared-channel messages posted, found, edited or
	// given up; GoneBoards the board ts Slack said no longer exist.
	Boards     []Board
	GoneBoards []string
	// Summarized is set once the summary was posted or found.
	Summarized bool
	// ReplyTS is the event's reply, posted or found.
	ReplyTS string
	// Archived is set when Slack said the incident's channel is archived;
	// Closed when the sweep archived it.
	Archived bool
	Closed   bool
	// MergeNoted is set once the surviving incident of a merge was told.
	MergeNoted bool
	// Reminded is when the reminder was posted (or found): the sweep's
	// time.
	Reminded time.Time
	// CannotInvite names who could not be added to the channel, for the
	// invite note; InviteNoted are the names the note posted (or found)
	// says.
	CannotInvite []string
	InviteNoted  []string
	// Backlinked is the channel the PagerDuty note written (or found)
	// links.
	Backlinked string
	// Settled are ledger keys (and KeyReply) whose effect is known not
	// done: their entries go, and a later attempt does them without a
	// look-up.
	Settled []string
	// PutOffMaybeDone are the optional effects whose call may have
	// landed unseen, left to a later event than the one given, which
	// waits for the entry's Until and looks them up first.
	PutOffMaybeDone map[string]string
	// PutOff are the optional effects put off to the next event of the
	// incident (Slack rate-limited their method), by key, with the event
	// that put them off.
	PutOff map[string]string
	// MaybeDone is set when a post may have landed unseen: its entry
	// stays, and so does the lease until it ends, so that the next
	// attempt's look-up sees what Slack did.
	MaybeDone bool
	// Recalled is set once the similar past incidents were looked up;
	// Past are those found.
	Recalled bool
	Past     []PastIncident
	// Err joins the failures that make the attempt answer 503.
	Err error
}

// addPutOff records that the effect of key is put off by the event
// eventID.
func (r *Results) addPutOff(key, eventID string) {
	if r.PutOff == nil {
		r.PutOff = map[string]string{}
	}
	r.PutOff[key] = eventID
}

// KeyReply stands for the event's reply in Results.Settled; its ledger
// entry is the event record's Owner.
const KeyReply = "reply"

// Apply records r in the state and the event record: results are done
// effects, settled keys leave the ledger. It is pure.
func Apply(st *State, er *EventRecord, r Results) Change {
	before, erBefore := st.Clone(), *er
	if r.ChannelID != "" && reopenedAfterArchive(*st) && r.ChannelID != st.ChannelID {
		// The incident's next channel: the archived one is kept among the
		// past ones, and the shared messages link the new one.
		*st = nextChannel(*st)
		st.Version++
	}
	if r.ChannelID != "" && st.ChannelID == "" {
		st.ChannelID, st.ChannelName = r.ChannelID, r.ChannelName
		if slices.ContainsFunc(st.Boards, func(b Board) bool { return b.Thread }) ||
			slices.ContainsFunc(st.Ledger, func(e Entry) bool { return e.Thread }) {
			// Updates went to a post-only thread before: the channel
			// owes the summary even if no event finished there.
			st.LateChannel = true
		}
		if !st.LateChannel {
			// Opened with its first events: no summary is owed.
			st.History = nil
		}
	}
	if r.ChannelID != "" {
		settle(st, KeyChannel)
	}
	if r.RootTS != "" && st.RootTS == "" {
		st.RootTS = r.RootTS
	}
	if r.RootTS != "" {
		settle(st, KeyRoot)
	}
	if r.RootWritten {
		st.RootVersion = r.RootVersion
	}
	if r.RootGone != "" && st.RootTS == r.RootGone {
		st.RootTS, st.RootVersion = "", 0
	}
	if r.TopicSet {
		st.Topic = r.Topic
		settle(st, KeyTopic)
	}
	if r.CanvasDone {
		if r.Canvas != "" {
			st.Canvas = r.Canvas
		}
		st.NoCanvas = st.NoCanvas || r.NoCanvas
		if r.Retro.After(st.Retro) {
			st.Retro = r.Retro
		}
		st.CanvasShows = r.CanvasShows
		settle(st, KeyCanvas)
	}
	for _, link := range r.Bookmarks {
		if !slices.Contains(st.Bookmarks, link) {
			st.Bookmarks = append(st.Bookmarks, link)
		}
		settle(st, BookmarkKey(link))
	}
	st.Invitees = union(st.Invitees, r.Invitees)
	st.PeopleDone = union(st.PeopleDone, r.PeopleDone)
	for _, b := range r.Boards {
		switch i := st.Board(b.ChannelID); {
		case i < 0:
			st.Boards = append(st.Boards, b)
		case st.Boards[i].TS == b.TS, st.Boards[i].TS == "":
			st.Boards[i] = b
		}
		settle(st, BoardKey(b.ChannelID))
	}
	st.Boards = slices.DeleteFunc(st.Boards, func(b Board) bool { return b.TS != "" && slices.Contains(r.GoneBoards, b.TS) })
	if r.Summarized {
		// History stays: the root message shows it.
		st.Summarized = true
		settle(st, KeySummary)
	}
	if r.MergeNoted {
		st.MergeNoted = true
		settle(st, KeyMergeNote)
	}
	if r.Reminded.After(st.RemindedAt) {
		st.RemindedAt = r.Reminded
		settle(st, KeyReminder)
	}
	if r.InviteNoted != nil {
		// Those named are done; anyone the same round could not add
		// gets the next note.
		st.CannotInvite = slices.DeleteFunc(st.CannotInvite, func(s string) bool { return slices.Contains(r.InviteNoted, s) })
		if len(st.CannotInvite) == 0 {
			st.CannotInvite = nil
		}
		settle(st, KeyInviteNote)
	}
	if len(r.CannotInvite) > 0 {
		// One note names them all, in one order whatever order the
		// look-ups answered in: the note is keyed by its text.
		st.CannotInvite = union(st.CannotInvite, r.CannotInvite)
		slices.Sort(st.CannotInvite)
	}
	if r.Recalled && !st.Recalled {
		st.Recalled, st.Past = true, clone(r.Past)
	}
	if r.Backlinked != "" {
		st.Backlinked = r.Backlinked
		settle(st, KeyBacklink)
	}
	if r.Archived || r.Closed {
		if !st.ChannelArchived {
			// The shared-channel messages say it.
			st.Version++
		}
		st.ChannelArchived = true
		st.Closed = st.Closed || r.Closed
		settle(st, KeyArchive)
	}
	for _, key := range r.Settled {
		if key == KeyReply {
			er.Owner = ""
			continue
		}
		settle(st, key)
	}
	for _, key := range slices.Sorted(maps.Keys(r.PutOff)) {
		e := st.Entry(key)
		if e == nil {
			st.Ledger = append(st.Ledger, Entry{Key: key})
			e = &st.Ledger[len(st.Ledger)-1]
		}
		e.Owner, e.Until, e.PutOff, e.Event = "", time.Time{}, true, r.PutOff[key]
	}
	for _, key := range slices.Sorted(maps.Keys(r.PutOffMaybeDone)) {
		// The owner and Until stay: the call may land until then.
		if e := st.Entry(key); e != nil {
			e.PutOff, e.Event = true, r.PutOffMaybeDone[key]
		}
	}
	if r.ReplyTS != "" {
		if er.ReplyTS == "" {
			er.ReplyTS = r.ReplyTS
		}
		er.Owner = ""
	}
	var ch Change
	if !reflect.DeepEqual(before, st.Clone()) {
		ch |= ChangeState
	}
	if *er != erBefore {
		ch |= ChangeEvent
	}
	return ch
}

// union appends to have the elements of add it lacks.
func union(have, add []string) []string {
	for _, s := range add {
		if !slices.Contains(have, s) {
			have = append(have, s)
		}
	}
	return have
}
