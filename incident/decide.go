package incident

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// EventRetention is how long an event record is kept (its Firestore TTL).
// PagerDuty redelivers for up to 48 hours, so a week leaves ample margin.
const EventRetention = 7 * 24 * time.Hour

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
	if st.ChannelID == "" {
		// Until the incident has a channel of its own, remember what
		// happens: a channel opened later (priority raised) tells it.
		if line, ok := historyLine(ev); ok {
			line.Early = !st.Snapshot.Complete
			st.History = addHistory(st.History, line)
			ch |= ChangeState
		}
	}
	return ch
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
		if ev.ResponderState == "accepted" {
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
			text += " (" + ev.Incident.Urgency + " urgency)"
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
	i := len(h)
	for i > 0 && h[i-1].At.After(line.At) {
		i--
	}
	h = slices.Insert(h, i, line)
	if len(h) > maxHistory {
		h = slices.Delete(h, 1, 2)
	}
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
		case in.Status != "resolved":
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
		a.ResolvedAt.Equal(b.ResolvedAt) && a.Complete == b.Complete && a.UpdatedAt.Equal(b.UpdatedAt)
}

// Config is what decisions depend on besides state and event.
type Config struct {
	// ChannelPrefix starts every channel name (CHANNEL_PREFIX, default "inc").
	ChannelPrefix string
	// InviteUsers are Slack user ids invited to every new channel.
	InviteUsers []string
	// Announce is the channel id where every incident channel is announced
	// (SLACK_ANNOUNCE_CHANNEL); "" for none.
	Announce string
	// Router routes incidents (ROUTING_FILE). Nil routes every incident
	// to a channel of its own, set up from the fields above.
	Router Router
	// Directory finds the Slack users of the PagerDuty users an incident
	// involves; nil when PagerDuty users are not invited.
	Directory Directory
	// LeaseTTL is how long an attempt holds a lease; 0 means LeaseTTL.
	// Tests shorten it; a lease never ends before its attempt's deadline.
	LeaseTTL time.Duration
}

// Route returns the route of inc: the Router's, or the default. With
// rules, an incident known only from a reference (a note arrived first)
// is routed nowhere until a full incident payload tells its service,
// urgency and priority: rules matched against blanks would route it
// wrong, perhaps for good.
func (c Config) Route(inc Snapshot) Route {
	if c.Router != nil && !inc.Complete {
		return Route{Rule: "(waiting for the incident's details)"}
	}
	if c.Router != nil {
		r := c.Router.Route(inc)
		if r.Prefix == "" {
			r.Prefix = c.ChannelPrefix
		}
		return r
	}
	return Route{Channel: true, Prefix: c.ChannelPrefix, InviteUsers: c.InviteUsers, Announce: c.Announce}
}

// Plan is what must happen in Slack to bring the channel in line with the
// stored state for one event. The zero Plan does nothing.
type Plan struct {
	// CreateChannel is set when the incident has no channel yet and its
	// route gives it one.
	CreateChannel bool
	// ChannelName is the wanted name (without collision suffix).
	ChannelName string
	// Private makes the new channel private.
	Private bool
	// Topic is the topic to set; empty when the channel's is current.
	Topic string
	// Bookmarks still to add.
	Bookmarks []Bookmark
	// Invite holds Slack users, InviteGroups Slack user groups, and
	// InvitePeople PagerDuty users still to invite.
	Invite       []string
	InviteGroups []string
	InvitePeople []Ref
	// PostRoot is set when the root message was never posted;
	// UpdateRoot when it shows an older version of the snapshot.
	PostRoot   bool
	UpdateRoot bool
	// Boards are the messages in shared channels to post (TS "") or to
	// edit in place.
	Boards []Board
	// Summary is the reply telling what happened before the channel
	// opened; nil when none is owed.
	Summary *Reply
	// Reply is the thread reply the event still owes; nil when none.
	Reply *Reply
}

// Empty reports whether the plan makes no Slack call.
func (p *Plan) Empty() bool {
	return !p.CreateChannel && p.Topic == "" && len(p.Bookmarks) == 0 && len(p.Invite) == 0 &&
		len(p.InviteGroups) == 0 && len(p.InvitePeople) == 0 && !p.PostRoot && !p.UpdateRoot &&
		len(p.Boards) == 0 && p.Summary == nil && p.Reply == nil
}

// Thread returns the board the incident's updates are threaded under
// while it has no channel of its own, or nil.
func (p *Plan) Thread() *Board {
	for i := range p.Boards {
		if p.Boards[i].Thread {
			return &p.Boards[i]
		}
	}
	return nil
}

// Decide returns what Slack still needs for st and the event ev whose
// record is er. It is pure: no I/O, no clock.
//
// An incident whose route gives it a channel gets one, with its topic,
// bookmarks, invitees and root message, and the event's reply in the
// root's thread; once opened, the channel stays the incident's whatever
// later routes say. An incident without a channel gets, when its route
// names a post-only channel, one message there with the replies threaded
// under it. Messages in shared channels (announce, post-only) are edited
// whenever the snapshot changes.
func Decide(st State, er EventRecord, ev *Event, cfg Config) Plan {
	var p Plan
	if er.Done {
		return p
	}
	inc := st.Snapshot
	route := cfg.Route(inc)
	own := st.ChannelID != ""
	// An archived channel gets nothing more; the shared-channel messages
	// about the incident still follow it.
	if !st.ChannelArchived {
		if !own && route.Channel {
			p.CreateChannel = true
			p.ChannelName = ChannelName(route.Prefix, inc)
			p.Private = route.Private
		}
		if own || p.CreateChannel {
			p.ownChannel(st, ev, route, cfg)
		}
	}
	// Messages in shared channels: those posted are kept current, those
	// being posted are finished; an incident channel is announced; an
	// incident without one is posted in its post-only channel.
	for _, b := range st.Boards {
		switch {
		case b.GaveUp:
		case b.TS == "", b.Version != st.Version, b.HasChannel != own:
			p.Boards = append(p.Boards, b)
		}
	}
	want := func(channel string, thread bool) {
		if channel != "" && st.Board(channel) < 0 {
			p.Boards = append(p.Boards, Board{ChannelID: channel, Thread: thread})
		}
	}
	switch {
	case own || p.CreateChannel:
		if route.Channel && !st.ChannelArchived {
			want(route.Announce, false)
		}
	case !route.Channel && !slices.ContainsFunc(st.Boards, func(b Board) bool { return b.Thread }):
		// Only one post-only message per incident: a route moving to
		// another post-only channel keeps the thread where it is.
		want(route.PostChannel, true)
	}
	if er.ReplyTS == "" && !st.ChannelArchived && (own || p.CreateChannel || threadBoard(st) != nil || p.Thread() != nil) {
		p.Reply = ReplyFor(ev, inc)
	}
	return p
}

// ownChannel plans the incident's own channel: topic, bookmarks, invites,
// root message and the summary of what happened before it opened.
func (p *Plan) ownChannel(st State, ev *Event, route Route, cfg Config) {
	inc := st.Snapshot
	if t := Topic(inc); t != st.Topic {
		p.Topic = t
	}
	for _, b := range Bookmarks(inc) {
		if !slices.Contains(st.Bookmarks, b.Link) {
			p.Bookmarks = append(p.Bookmarks, b)
		}
	}
	if route.Channel {
		// By id, so a route that changes (priority raised to a rule with
		// more invitees) invites the newcomers.
		p.Invite = missing(route.InviteUsers, st.Invitees)
		p.InviteGroups = missing(route.InviteGroups, st.Invitees)
	}
	if cfg.Directory != nil {
		for _, r := range st.People {
			if !slices.Contains(st.PeopleDone, r.ID) {
				p.InvitePeople = append(p.InvitePeople, r)
			}
		}
	}
	switch {
	case st.RootTS == "":
		p.PostRoot = true
	case st.RootVersion != st.Version:
		p.UpdateRoot = true
	}
	if st.Deferred && !st.Summarized && len(st.History) > 0 {
		p.Summary = SummaryFor(st, ev)
	}
}

// missing returns the elements of want not in have; nil when none.
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// threadBoard returns the posted board the incident's updates are
// threaded under, or nil.
func threadBoard(st State) *Board {
	for i := range st.Boards {
		if b := &st.Boards[i]; b.Thread && b.TS != "" && !b.GaveUp {
			return b
		}
	}
	return nil
}

// SummaryFor is the reply that tells, in an incident's channel opened
// late, what happened before; the event that opened it has its own reply.
func SummaryFor(st State, ev *Event) *Reply {
	var b strings.Builder
	for _, l := range st.History {
		if l.EventID == ev.ID {
			continue
		}
		b.WriteString("• " + l.At.UTC().Format("Jan 2 15:04 UTC") + " — " + l.Text + "\n")
	}
	return &Reply{
		Headline: "What happened before this channel opened",
		Body:     strings.TrimSuffix(b.String(), "\n"),
		EventID:  "summary-" + st.Snapshot.ID,
	}
}

// Topic is the channel topic for inc: status · urgency · priority · service,
// plain text. The Slack adapter truncates it to Slack's 250 characters.
func Topic(inc Snapshot) string {
	var parts []string
	for _, s := range []string{titleCase(inc.Status), inc.Urgency, inc.Priority, inc.Service.Summary} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " · ")
}

// Bookmarks are the links the channel should carry: the PagerDuty incident
// and, when there is one, the conference bridge.
func Bookmarks(inc Snapshot) []Bookmark {
	var bs []Bookmark
	if inc.HTMLURL != "" {
		title := "PagerDuty incident"
		if inc.Number > 0 {
			title = "PagerDuty #" + strconv.Itoa(inc.Number)
		}
		bs = append(bs, Bookmark{Title: title, Link: inc.HTMLURL})
	}
	if strings.HasPrefix(inc.ConferenceURL, "https://") || strings.HasPrefix(inc.ConferenceURL, "http://") {
		bs = append(bs, Bookmark{Title: "Conference bridge", Link: inc.ConferenceURL})
	}
	return bs
}

// ReplyFor returns the thread reply an event deserves, written for a human
// responder, or nil for events the root message already tells (triggered).
func ReplyFor(ev *Event, inc Snapshot) *Reply {
	agent := ev.Agent.Summary
	by := ""
	if agent != "" {
		by = " by " + agent
	}
	r := &Reply{At: ev.OccurredAt, EventID: ev.ID}
	in := ev.Incident
	switch ev.Type {
	case EventAcknowledged:
		r.Headline = "Acknowledged" + by
	case EventUnacknowledged:
		r.Headline = "Unacknowledged: the incident is triggered again"
	case EventResolved:
		r.Headline = "Resolved" + by
		if !inc.CreatedAt.IsZero() && ev.OccurredAt.After(inc.CreatedAt) {
			r.Headline += " after " + humanDuration(ev.OccurredAt.Sub(inc.CreatedAt))
		}
		r.Broadcast = true
	case EventReopened:
		r.Headline = "Reopened" + by
	case EventEscalated:
		r.Headline = "Escalated to " + orDash(Names(in.Assignees))
		if in.EscalationPolicy.Summary != "" {
			r.Headline += " (" + in.EscalationPolicy.Summary + ")"
		}
	case EventReassigned:
		r.Headline = "Reassigned to " + orDash(Names(in.Assignees)) + by
	case EventDelegated:
		r.Headline = "Delegated to escalation policy " + orDash(in.EscalationPolicy.Summary) + by
	case EventPriorityUpdated:
		r.Headline = "Priority changed to " + orDash(in.Priority) + by
	case EventAnnotated:
		r.Headline = "Note" + strings.Replace(by, " by ", " from ", 1)
		r.Body = ev.Note
	case EventResponderAdded:
		r.Headline = orDash(agent) + " requested " + orDash(ev.Responder.Summary) + " as a responder"
		r.Body = ev.Message
	case EventResponderReplied:
		verb := "answered"
		switch ev.ResponderState {
		case "accepted":
			verb = "accepted"
		case "declined":
			verb = "declined"
		}
		r.Headline = orDash(ev.Responder.Summary) + " " + verb + " the responder request"
	case EventStatusUpdatePublished:
		r.Headline = "Status update" + strings.Replace(by, " by ", " from ", 1)
		r.Body = ev.Message
	case EventConferenceBridgeUpdated:
		r.Headline = "Conference bridge updated"
		r.Body = strings.TrimSpace(in.ConferenceURL + "\n" + in.ConferenceNumber)
	case EventServiceUpdated:
		r.Headline = "Moved to service " + orDash(in.Service.Summary) + by
	case EventIncidentTypeChanged:
		r.Headline = "Incident type changed to " + orDash(in.IncidentType) + by
	default:
		return nil
	}
	return r
}

// Names lists the refs' names, comma-separated; "" when none has one.
func Names(refs []Ref) string {
	var ns []string
	for _, r := range refs {
		if r.Summary != "" {
			ns = append(ns, r.Summary)
		}
	}
	return strings.Join(ns, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func titleCase(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh %dm", h, m)
}

// MaxChannelName is Slack's limit on channel name length.
const MaxChannelName = 80

var slugDashes = regexp.MustCompile(`-+`)

// ChannelName is "{prefix}-{number}-{slug of title}" within Slack's rules:
// at most 80 characters of lowercase letters, digits, '-' and '_'. Titles
// with no ASCII letters or digits (Japanese, emoji) give "{prefix}-{number}";
// an incident without a number uses its id.
func ChannelName(prefix string, inc Snapshot) string {
	base := Slug(prefix, MaxChannelName)
	if base == "" {
		base = "inc"
	}
	if inc.Number > 0 {
		base += "-" + strconv.Itoa(inc.Number)
	} else if id := Slug(inc.ID, 20); id != "" {
		base += "-" + id
	}
	if len(base) >= MaxChannelName-1 {
		return strings.TrimRight(base[:MaxChannelName], "-")
	}
	if slug := Slug(inc.Title, MaxChannelName-len(base)-1); slug != "" {
		return base + "-" + slug
	}
	return base
}

// Slug lowercases s, folds accented Latin letters to ASCII, turns every run
// of other characters into one '-', and cuts the result to at most max
// bytes at a word boundary where one is near.
func Slug(s string, max int) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r):
			// combining accent left by NFKD: drop it (é → e)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(slugDashes.ReplaceAllString(b.String(), "-"), "-")
	if len(out) <= max {
		return out
	}
	cut := out[:max]
	if i := strings.LastIndexByte(cut, '-'); i > max/2 {
		cut = cut[:i]
	}
	return strings.Trim(cut, "-")
}
