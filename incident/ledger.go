package incident

import (
	"slices"
	"strings"
	"time"
)

// The ledger of effects.
//
// Every effect the service carries out for an incident that is not
// idempotent by nature has an idempotency key and an Entry (entry.go):
// the channel, the root message, each bookmark ("bookmark:<url>"), each
// message in a shared channel ("board:<channel id>"), the summary, the
// back-link note on the PagerDuty incident, the invite note, the merge
// note, the archive notice and the archive, and each event's reply (kept
// in the event's own record: Owner, Until).
//
//   - Done is recorded in the state by the effect's result and the entry
//     goes: the channel id, the root's ts and the version it shows, the
//     bookmark's link, the board message, Summarized, MergeNoted, Closed,
//     the reply's ts.
//   - Given up is recorded too (a board GaveUp, ChannelArchived), so the
//     effect is never tried again.
//   - In flight: an attempt holding the incident's lease records that it
//     sets out to do the effect (markInFlight) before calling out. The
//     entry stays while the outcome is unknown (the attempt died, its
//     answer was lost, the store failed). Once its Until has passed, a
//     later attempt that finds one looks the effect up by the metadata
//     key the effect carries (Plan's Find fields) and records what it
//     finds, or does the effect. Until then an attempt that needs the
//     effect waits, while others go on with the incident.
//   - Put off (Entry.PutOff, Event) is pending with a reason: an optional
//     effect (topic, bookmark, announce message, back-link) a rate limit
//     or outage refused, left to the incident's next event. A back-link
//     whose call may have landed unseen is put off keeping its Owner and
//     Until: the next event waits for them, then looks it up.
//
// Edits (the root, boards, the topic) are idempotent by nature: they are
// rendered from the newest snapshot, need no entry, and a failed one is
// simply done again by the next attempt.

// Ledger keys.
const (
	KeyChannel = "channel"
	KeyRoot    = "root"
	KeySummary = "summary"
	// KeyTopic is the topic's key; it is only ever put off (an edit
	// needs no entry in flight).
	KeyTopic = "topic"
	// KeyCanvas is the channel canvas's key (canvas.go); like the
	// topic's, it is only ever put off.
	KeyCanvas = "canvas"
	// KeyBacklink is the note on the PagerDuty incident that links its
	// channel (done: State.Backlinked).
	KeyBacklink = "backlink"
	// KeyMergeNote is the note in the channel of the incident this one
	// was merged into (done: State.MergeNoted).
	KeyMergeNote = "merge-note"
	// KeyArchive is the sweep's archive notice and the archive that
	// follows it (done: State.Closed).
	KeyArchive = "archive"
	// KeyInviteNote is the line naming who could not be added to the
	// channel (done: the names it posted leave State.CannotInvite).
	KeyInviteNote = "invite-note"

	bookmarkPrefix = "bookmark:"
	boardPrefix    = "board:"
)

// BookmarkKey is the ledger key of the bookmark of link.
func BookmarkKey(link string) string { return bookmarkPrefix + link }

// BoardKey is the ledger key of the incident's message in a shared channel.
func BoardKey(channelID string) string { return boardPrefix + channelID }

// Entry returns the ledger entry of key, or nil.
func (st *State) Entry(key string) *Entry {
	if i := slices.IndexFunc(st.Ledger, func(e Entry) bool { return e.Key == key }); i >= 0 {
		return &st.Ledger[i]
	}
	return nil
}

// maxChannelNames bounds the channel names remembered for adoption: a
// name changes only when a full incident payload replaces a reference,
// and each plan adds two (the wanted name and the one with the id).
const maxChannelNames = 8

// markInFlight records in the ledger that owner sets out to do the
// plan's posts at now. Entries an earlier attempt left keep their Since (and
// channel names), so what it may have done is still looked up.
func markInFlight(st *State, p Plan, owner string, now, until time.Time) {
	for _, key := range p.Posts() {
		e := st.Entry(key)
		if e == nil {
			st.Ledger = append(st.Ledger, Entry{Key: key, Since: now})
			e = &st.Ledger[len(st.Ledger)-1]
		}
		e.Owner, e.Until = owner, until
		e.PutOff, e.Event = false, ""
		switch {
		case key == KeyChannel:
			names := []string{p.ChannelName}
			if n := len(p.ChannelNames); n > 0 {
				names = append(names, p.ChannelNames[n-1])
			}
			for _, name := range names {
				if !slices.Contains(e.Names, name) && len(e.Names) < maxChannelNames {
					e.Names = append(e.Names, name)
				}
			}
		case strings.HasPrefix(key, boardPrefix):
			ch := strings.TrimPrefix(key, boardPrefix)
			e.Thread = slices.ContainsFunc(p.Boards, func(b Board) bool { return b.ChannelID == ch && b.Thread })
		}
	}
}

// inFlightElsewhere reports whether the plan needs an effect that another
// attempt may still be carrying out: the attempt waits for it.
func inFlightElsewhere(st State, er EventRecord, p Plan, owner string, now time.Time) bool {
	for _, key := range p.Posts() {
		// An effect put off by an attempt whose call may still land
		// (putOffMaybeDone) keeps its owner and Until: it is waited for
		// like any entry in flight.
		if e := st.Entry(key); e != nil && e.Busy(owner, now) {
			return true
		}
	}
	return p.Reply != nil && er.ReplyEntry().Busy(owner, now)
}

// putOffBy reports whether the effect of key was put off by the event
// eventID: its attempts (and redeliveries) leave it to a later event.
func putOffBy(st State, key, eventID string) bool {
	e := st.Entry(key)
	return e != nil && e.PutOff && e.Event == eventID
}

// pendingPost reports whether an earlier attempt may have made the post
// of key: an entry that is not put off.
func pendingPost(st State, key string) bool {
	e := st.Entry(key)
	return e != nil && !e.PutOff
}

// settle removes the ledger entry of key.
func settle(st *State, key string) {
	st.Ledger = slices.DeleteFunc(st.Ledger, func(e Entry) bool { return e.Key == key })
}
