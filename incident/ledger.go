package incident

import (
	"slices"
	"strings"
	"time"
)

// The ledger of Slack effects.
//
// Every effect the service has Slack carry out for an incident has an
// idempotency key: the channel, the root message, each bookmark
// ("bookmark:<url>"), each message in a shared channel ("board:<channel
// id>"), the summary, the back-link note on the PagerDuty incident, and
// each event's reply (kept in the event's own record). An effect goes in
// flight → done | given up, and an optional one may be put off:
//
//   - Done is recorded in the state by the effect's result: the channel id,
//     the root's ts and the version it shows, the bookmark's link, the
//     board message, Summarized, the reply's ts.
//   - Given up is recorded too (a board GaveUp, ChannelArchived), so the
//     effect is never tried again.
//   - In flight is a Ledger entry (Pending): an attempt, holding the incident's lease,
//     recorded that it sets out to do the effect, before calling Slack. The
//     entry stays while the outcome is unknown (the attempt died, its
//     answer was lost, the store failed). Once its Until has passed, a
//     later attempt that finds one looks the effect up in Slack by the
//     metadata key the effect carries (Plan's Find fields) and records
//     what it finds, or does the effect. Until then an attempt that needs
//     the effect waits, while others go on with the incident.
//   - Put off is a Ledger entry too: an optional effect (topic, bookmark,
//     announce message, back-link) a rate limit or outage refused, left to
//     the incident's next event (Pending.PutOff, Event). A back-link whose
//     call may have landed unseen is put off keeping its Owner and Until:
//     the next event waits for them, then looks it up before writing it.
//
// Edits (the root, boards, the topic) are idempotent: they need no entry,
// since they render the newest snapshot under the one lease.

// Ledger keys.
const (
	KeyChannel = "channel"
	KeyRoot    = "root"
	KeySummary = "summary"
	// KeyTopic is the topic's key; it is only ever put off (an edit
	// needs no entry in flight).
	KeyTopic = "topic"
	// KeyBacklink is the note on the PagerDuty incident that links its
	// channel (done: State.Backlinked).
	KeyBacklink = "backlink"

	bookmarkPrefix = "bookmark:"
	boardPrefix    = "board:"
)

// BookmarkKey is the ledger key of the bookmark of link.
func BookmarkKey(link string) string { return bookmarkPrefix + link }

// BoardKey is the ledger key of the incident's message in a shared channel.
func BoardKey(channelID string) string { return boardPrefix + channelID }

// Pending is a ledger entry: an effect an attempt set out to do whose
// outcome is not recorded.
type Pending struct {
	Key string
	// Owner is the attempt that last set out to do it.
	Owner string
	// Until is the end of the owner's lease when it set out: a call it
	// made may land in Slack until then, so no one looks the effect up,
	// or does it again, before.
	Until time.Time
	// Since is when an attempt first set out to do it; a channel created
	// since then under one of Names is that attempt's.
	Since time.Time
	// Names are the channel names creation was tried under (the wanted
	// names before numbered suffixes, and the names with the incident
	// id), for KeyChannel.
	Names []string
	// Thread is set for a board that is the post-only message.
	Thread bool
	// PutOff is set for an optional effect (the topic, a bookmark, the
	// announce message) put off because Slack rate-limited its method:
	// it is known not done, and the next event of the incident (not
	// Event, the one that put it off) does it.
	PutOff bool
	Event  string
}

// Pending returns the ledger entry of key, or nil.
func (st *State) Pending(key string) *Pending {
	if i := slices.IndexFunc(st.Ledger, func(e Pending) bool { return e.Key == key }); i >= 0 {
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
		e := st.Pending(key)
		if e == nil {
			st.Ledger = append(st.Ledger, Pending{Key: key, Since: now})
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
		// (putOffMaybeDone) keeps its owner: it is waited for like an
		// entry in flight.
		if e := st.Pending(key); e != nil && (!e.PutOff || e.Owner != "") && e.Owner != owner && now.Before(e.Until) {
			return true
		}
	}
	return p.Reply != nil && er.Owner != "" && er.Owner != owner && now.Before(er.Until)
}

// putOffBy reports whether the effect of key was put off by the event
// eventID: its attempts (and redeliveries) leave it to a later event.
func putOffBy(st State, key, eventID string) bool {
	e := st.Pending(key)
	return e != nil && e.PutOff && e.Event == eventID
}

// pendingPost reports whether an earlier attempt may have made the post
// of key: an entry that is not put off.
func pendingPost(st State, key string) bool {
	e := st.Pending(key)
	return e != nil && !e.PutOff
}

// settle removes the ledger entry of key.
func settle(st *State, key string) {
	st.Ledger = slices.DeleteFunc(st.Ledger, func(e Pending) bool { return e.Key == key })
}
