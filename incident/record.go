package incident

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// EventRetention is how long an event record is kept (its Firestore TTL).
// PagerDuty redelivers for up to 48 hours, so a week leaves ample margin.
const EventRetention = 7 * 24 * time.Hour

// HistoryRetention is how long an incident's record is kept after the
// incident resolved, unless the operator chooses otherwise
// (HISTORY_RETENTION): long enough to look back over a year of incidents.
const HistoryRetention = 400 * 24 * time.Hour

// Record applies ev to the stored state st and its event record er: the
// snapshot only moves forward in time (an older event never overwrites a
// newer one), and the event is remembered so a duplicate costs no Slack
// call. It is pure and is run inside a store transaction.
//
// An event whose record exists was merged when the record was created (in
// the same transaction), so a redelivery changes nothing: merging it again
// could undo a later event with the same occurred_at.
func Record(st *State, er *EventRecord, ev *Event) Change {
	if er.Exists && st.Exists {
		return 0
	}
	var ch Change
	if !er.Exists {
		*er = EventRecord{Exists: true, Type: ev.Type, OccurredAt: ev.OccurredAt, ExpireAt: ev.OccurredAt.Add(EventRetention)}
		ch = ChangeEvent
	}
	next := Merge(st.Snapshot, ev)
	if !st.Exists || !snapshotEqual(next, st.Snapshot) {
		st.Exists = true
		st.Snapshot = next
		st.Version++
		ch |= ChangeState
	}
	for _, p := range Involved(ev) {
		if len(st.People) < maxPeople && !slices.ContainsFunc(st.People, func(r Ref) bool { return r.ID == p.ID }) {
			st.People = append(st.People, p)
			ch |= ChangeState
		}
	}
	line, ok := historyLine(ev)
	if ok && st.ChannelID == "" {
		// Until the incident has a channel of its own, remember what
		// happens: a channel opened later (priority raised) tells it.
		early := line
		early.Early = !st.Snapshot.Complete
		st.History = addHistory(st.History, early)
		ch |= ChangeState
	}
	if ok {
		var cut bool
		if st.Timeline, cut = addLine(st.Timeline, line, maxTimeline); cut {
			st.TimelineCut++
		}
		ch |= ChangeState
	}
	switch ev.Type {
	case EventAcknowledged:
		if st.AckedAt.IsZero() || ev.OccurredAt.Before(st.AckedAt) {
			st.AckedAt, st.AckedBy = ev.OccurredAt, ev.Agent.Summary
			ch |= ChangeState
		}
	case EventEscalated:
		st.Escalations++
		ch |= ChangeState
	case EventReassigned:
		st.Reassignments++
		ch |= ChangeState
	case EventStatusUpdatePublished:
		ch |= recordUpdate(st, ev)
	case EventLead:
		ch |= recordLead(st, ev)
	case EventRoleAssigned:
		ch |= recordRoles(st, ev)
	case EventAnnotated:
		if !IsBacklink(ev.Note) {
			st.Notes++
			if !ev.OccurredAt.Before(st.LastNoteAt) {
				st.LastNote, st.LastNoteAt = cutRunes(strings.TrimSpace(ev.Note), maxNote), ev.OccurredAt
			}
			ch |= ChangeState
		}
	case EventResolved:
		if !ev.OccurredAt.Before(st.LastResolvedAt) {
			st.ResolvedBy, st.LastResolvedAt = ev.Agent.Summary, ev.OccurredAt
			ch |= ChangeState
		}
	}
	return ch
}

// maxTimeline bounds the timeline kept for the resolution summary, so
// the incident document and the summary stay small however long the
// incident runs.
const maxTimeline = 30

// addLine inserts line in time order and, past max lines, drops the
// oldest but the first; cut reports that one was dropped.
func addLine(h []HistoryLine, line HistoryLine, max int) ([]HistoryLine, bool) {
	i := len(h)
	for i > 0 && h[i-1].At.After(line.At) {
		i--
	}
	h = slices.Insert(h, i, line)
	if len(h) > max {
		return slices.Delete(h, 1, 2), true
	}
	return h, false
}

// maxPeople bounds the PagerDuty users remembered for one incident.
const maxPeople = 50

// Involved returns the PagerDuty users an event involves: the incident's
// assignees, whoever acknowledged it, and a requested responder.
func Involved(ev *Event) []Ref {
	var out []Ref
	add := func(r Ref) {
		if r.ID != "" && (r.Type == "user" || r.Type == "user_reference") &&
			!slices.ContainsFunc(out, func(o Ref) bool { return o.ID == r.ID }) {
			out = append(out, r)
		}
	}
	for _, a := range ev.Incident.Assignees {
		add(a)
	}
	switch ev.Type {
	case EventAcknowledged:
		add(ev.Agent)
	case EventResponderAdded:
		add(ev.Responder)
	case EventResponderReplied:
		if ev.ResponderState == ResponderAccepted {
			add(ev.Responder)
		}
	}
	return out
}

// maxHistory bounds the history kept while an incident has no channel:
// the first line (how it started) and the newest ones.
const maxHistory = 20

func historyLine(ev *Event) (HistoryLine, bool) {
	text := ""
	if ev.Type == EventTriggered {
		text = "Triggered"
		if ev.Incident.Urgency != "" {
			text += " (" + string(ev.Incident.Urgency) + " urgency)"
		}
	} else if r := ReplyFor(ev, ev.Incident); r != nil {
		text = r.Headline
		if body := strings.Join(strings.Fields(r.Body), " "); body != "" {
			text += ": " + cutRunes(body, maxHistoryBody)
		}
	}
	if text == "" {
		return HistoryLine{}, false
	}
	return HistoryLine{At: ev.OccurredAt, Text: text, EventID: ev.ID}, true
}

// maxHistoryBody bounds the text of a note or status update kept in a
// history line.
const maxHistoryBody = 120

func cutRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// addHistory inserts line in time order, keeping the first line and the
// newest ones within maxHistory.
func addHistory(h []HistoryLine, line HistoryLine) []HistoryLine {
	h, _ = addLine(h, line, maxHistory)
	return h
}

// Merge returns the snapshot after ev. A full incident payload replaces the
// snapshot when it is as new as or newer than the newest full payload seen
// (UpdatedAt); an older one changes nothing. An incident reference (notes,
// responders, status updates) carries no state: it only fills the id, title
// and URL while no full payload has been seen, and never moves UpdatedAt.
func Merge(cur Snapshot, ev *Event) Snapshot {
	in := ev.Incident
	newer := !cur.Complete || !ev.OccurredAt.Before(cur.UpdatedAt)
	next := cur
	if in.Complete && newer {
		next = in
		next.Assignees = slices.Clone(in.Assignees)
		next.Teams = slices.Clone(in.Teams)
		next.UpdatedAt = ev.OccurredAt
		next.ResolvedAt = cur.ResolvedAt
		switch {
		case in.Status != StatusResolved:
			next.ResolvedAt = time.Time{}
		case ev.Type == EventResolved || next.ResolvedAt.IsZero():
			next.ResolvedAt = ev.OccurredAt
		}
		if (in.ConferenceURL == "" && in.ConferenceNumber == "") || (!cur.ConferenceAt.IsZero() && !ev.OccurredAt.After(cur.ConferenceAt)) {
			next.ConferenceURL, next.ConferenceNumber, next.ConferenceAt = cur.ConferenceURL, cur.ConferenceNumber, cur.ConferenceAt
		} else {
			next.ConferenceAt = ev.OccurredAt
		}
		if next.Title == "" {
			next.Title = cur.Title
		}
		if in.Status == StatusResolved && in.MergedInto.ID == "" {
			// A later payload of the merged incident keeps saying so.
			next.MergedInto = cur.MergedInto
		}
		return next
	}
	if !cur.Complete {
		next.ID = firstNonEmpty(cur.ID, in.ID)
		next.Title = firstNonEmpty(cur.Title, in.Title)
		next.HTMLURL = firstNonEmpty(cur.HTMLURL, in.HTMLURL)
	}
	if ev.Type == EventConferenceBridgeUpdated && !ev.OccurredAt.Before(cur.ConferenceAt) {
		next.ConferenceURL, next.ConferenceNumber, next.ConferenceAt = in.ConferenceURL, in.ConferenceNumber, ev.OccurredAt
	}
	return next
}

func snapshotEqual(a, b Snapshot) bool {
	return a.ID == b.ID && a.Number == b.Number && a.Title == b.Title && a.Status == b.Status &&
		a.Urgency == b.Urgency && a.Priority == b.Priority && a.HTMLURL == b.HTMLURL &&
		a.Service == b.Service && a.EscalationPolicy == b.EscalationPolicy &&
		slices.Equal(a.Assignees, b.Assignees) && slices.Equal(a.Teams, b.Teams) &&
		a.IncidentType == b.IncidentType && a.ConferenceURL == b.ConferenceURL &&
		a.ConferenceNumber == b.ConferenceNumber && a.ConferenceAt.Equal(b.ConferenceAt) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.ResolvedAt.Equal(b.ResolvedAt) && a.MergedInto == b.MergedInto && a.Complete == b.Complete && a.UpdatedAt.Equal(b.UpdatedAt)
}
