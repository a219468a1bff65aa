package incident

import (
	"context"
	"slices"
	"strings"
	"time"
)

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
	// ArchiveAfter is how long after it resolved an incident's channel is
	// archived by the sweep (ARCHIVE_AFTER); 0 for never.
	ArchiveAfter time.Duration
	// Reminders are when the sweep reminds a channel to post a status
	// update (UPDATE_REMINDERS); none for never.
	Reminders Reminders
	// LeaseMargin is how long a lease outlasts its holder's deadline; 0
	// means LeaseMargin. Tests shorten it.
	LeaseMargin time.Duration
	// Interactive puts the responders' buttons on the root message
	// (Actions): set when Slack's interactions reach the function and it
	// can act on PagerDuty.
	Interactive bool
	// PagerDuty writes the back-link: a note on each incident naming its
	// channel. Nil for none (no PAGERDUTY_FROM_EMAIL).
	PagerDuty PagerDuty
	// Poll is how often a waiter reads the incident while another
	// attempt holds its lease; 0 means 100 ms.
	Poll time.Duration
	// Memory holds the past incidents a new channel's root recalls; nil
	// for none. PastIncidents adds PagerDuty's own look-up; nil for none
	// (no PAGERDUTY_API_TOKEN).
	Memory        Memory
	PastIncidents PastIncidentFinder
	// RecallWait is how long the root, once its channel exists, waits
	// for the look-up of past incidents begun beside the channel's
	// creation; 0 means RecallWait.
	RecallWait time.Duration
	// ExternalChannels, when set, keeps the incident's messages out of
	// announce and post-only channels shared with another organisation:
	// each is checked before it is posted or edited, and one found shared
	// is given up (ErrExternalChannel). Nil checks nothing
	// (ALLOW_SHARED_CHANNELS=true).
	ExternalChannels ExternalChannels
	// Canvases gives each incident channel a canvas with the incident's
	// summary, which becomes the retrospective draft at resolve (a file
	// in the thread where the workspace cannot have canvases).
	Canvases bool
}

// ExternalChannels tells whether people of another organisation can read
// a channel (Slack Connect). The answer is expected to be remembered: it
// is asked before every message in an announce or post-only channel.
type ExternalChannels interface {
	ExternallyShared(ctx context.Context, channelID string) (bool, error)
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
// stored state for one event. Decide is its only author. The zero Plan
// does nothing.
//
// The Find fields say which effects an earlier attempt set out to do and
// did not record (a pending ledger entry): the executor looks each up in
// Slack, by the metadata key the effect carries, before doing it again.
type Plan struct {
	// CreateChannel is set when the incident has no channel yet and its
	// route gives it one.
	CreateChannel bool
	// ChannelName is the wanted name (without collision suffix).
	ChannelName string
	// ChannelNames are the names to create the channel under, in order
	// until one is free: ChannelName, its numbered suffixes, and last the
	// name with the incident id (see channelNames).
	ChannelNames []string
	// Private makes the new channel private.
	Private bool
	// Adopt is the pending channel entry of an earlier attempt: a channel
	// it created under one of AdoptNames since Adopt.Since is adopted
	// rather than created twice. Nil when no attempt set out before.
	// AdoptNames are the names that attempt, or one planned from an
	// earlier snapshot (Adopt.Names), may have created it under.
	Adopt      *Entry
	AdoptNames []string
	// Topic is the topic to set; empty when the channel's is current.
	Topic string
	// Canvas is the canvas work the channel still owes (canvas.go).
	Canvas CanvasWork
	// Bookmarks still to add; FindBookmarks when an earlier attempt may
	// have added some of them unrecorded.
	Bookmarks     []Bookmark
	FindBookmarks bool
	// Invite holds Slack users, InviteGroups Slack user groups, and
	// InvitePeople PagerDuty users still to invite.
	Invite       []string
	InviteGroups []string
	InvitePeople []Ref
	// PostRoot is set when the root message was never posted (FindRoot
	// when it may have been, unrecorded); UpdateRoot when it shows an
	// older version of the snapshot.
	PostRoot   bool
	FindRoot   bool
	UpdateRoot bool
	// Boards are the messages in shared channels to post (TS "") or to
	// edit in place; FindBoards the channels where an earlier attempt may
	// have posted one unrecorded.
	Boards     []Board
	FindBoards []string
	// Summary is the reply telling what happened before the channel
	// opened; nil when none is owed. FindSummary as above.
	Summary     *Reply
	FindSummary bool
	// PutOffEarlier are the optional effects (topic, bookmarks, announce
	// message) an earlier event put off under Slack's rate limits, by key,
	// with that event: this event must do them rather than put them off
	// again.
	PutOffEarlier map[string]string
	// MergedIn is the note for the thread of the incident this one was
	// merged into (Survivor), posted once; FindMergeNote as above.
	MergedIn      *Reply
	Survivor      Survivor
	FindMergeNote bool
	// ArchiveNotice is set when the sweep finds the incident's channel
	// due: the line saying so, posted before the channel is archived.
	// FindArchive when an earlier attempt may have posted it.
	ArchiveNotice *Reply
	FindArchive   bool
	// Reminder is set when the sweep finds the incident due a reminder to
	// post a status update; FindReminder when an earlier attempt may have
	// posted it.
	Reminder     *Reply
	FindReminder bool
	// InviteNote is the line in the thread naming who could not be added
	// to the channel (State.CannotInvite); FindInviteNote as above.
	InviteNote     *Reply
	FindInviteNote bool
	// Backlink is set when the incident's PagerDuty note should link its
	// channel (created in this plan, or opened before the note was
	// written); FindBacklink when an earlier attempt may have written it.
	Backlink     bool
	FindBacklink bool
	// Reply is the thread reply the event still owes; nil when none.
	// FindReply when an earlier attempt may have posted it unrecorded.
	Reply     *Reply
	FindReply bool
	// Recall is set when the root is to be posted and the similar past
	// incidents it shows are still to be looked up: a read, beside the
	// channel's creation, so it needs no ledger entry.
	Recall bool
}

// Empty reports whether the plan makes no Slack call.
func (p *Plan) Empty() bool {
	return !p.CreateChannel && p.Topic == "" && p.Canvas.Markdown == "" && len(p.Bookmarks) == 0 && len(p.Invite) == 0 &&
		len(p.InviteGroups) == 0 && len(p.InvitePeople) == 0 && !p.PostRoot && !p.UpdateRoot &&
		len(p.Boards) == 0 && p.Summary == nil && p.Reply == nil && !p.Backlink && p.ArchiveNotice == nil && p.Reminder == nil && p.MergedIn == nil &&
		p.InviteNote == nil
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

// Posts lists the ledger keys of the plan's effects that must not be
// done twice: creating the channel, each post and note, the archive. The
// attempt records them in flight before it acts.
func (p *Plan) Posts() []string {
	var keys []string
	if p.CreateChannel {
		keys = append(keys, KeyChannel)
	}
	if p.PostRoot {
		keys = append(keys, KeyRoot)
	}
	for _, b := range p.Bookmarks {
		keys = append(keys, BookmarkKey(b.Link))
	}
	for _, b := range p.Boards {
		if b.TS == "" {
			keys = append(keys, BoardKey(b.ChannelID))
		}
	}
	if p.Summary != nil {
		keys = append(keys, KeySummary)
	}
	if p.Backlink {
		keys = append(keys, KeyBacklink)
	}
	if p.MergedIn != nil {
		keys = append(keys, KeyMergeNote)
	}
	if p.ArchiveNotice != nil {
		keys = append(keys, KeyArchive)
	}
	if p.Reminder != nil {
		keys = append(keys, KeyReminder)
	}
	if p.InviteNote != nil {
		keys = append(keys, KeyInviteNote)
	}
	return keys
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
// whenever the snapshot changes. Effects an earlier attempt left pending
// are looked up before they are done again.
func Decide(st State, er EventRecord, ev *Event, cfg Config) Plan {
	var p Plan
	if er.Done {
		return p
	}
	round := 1
	if reopenedAfterArchive(st) {
		// Planned as the new channel will start.
		st = nextChannel(st)
		round = len(st.PastChannels) + 1
	}
	inc := st.Snapshot
	route := cfg.Route(inc)
	own := st.ChannelID != ""
	// An archived channel gets nothing more; the shared-channel messages
	// about the incident still follow it.
	if !st.ChannelArchived {
		if !own && route.Channel {
			p.CreateChannel = true
			p.ChannelName = withRound(ChannelName(route.Prefix, inc), round)
			p.ChannelNames = channelNames(p.ChannelName, idChannelName(route.Prefix, inc, round))
			p.Private = route.Private
			if e := st.Entry(KeyChannel); e != nil && !e.PutOff {
				adopt := *e
				adopt.Names = slices.Clone(e.Names)
				p.Adopt = &adopt
				p.AdoptNames = adoptNames(e.Names, p.ChannelNames)
			}
		}
		if own || p.CreateChannel {
			p.ownChannel(st, ev, route, cfg)
		}
	}
	// Messages in shared channels: those posted are kept current, those
	// being posted are finished; an incident channel is announced; an
	// incident without one is posted in its post-only channel.
	for _, b := range st.Boards {
		if !b.GaveUp && (b.Version != st.Version || b.HasChannel != own) && !putOffBy(st, BoardKey(b.ChannelID), ev.ID) {
			p.Boards = append(p.Boards, b)
		}
	}
	want := func(channel string, thread bool) {
		if channel != "" && st.Board(channel) < 0 && p.board(channel) < 0 && !putOffBy(st, BoardKey(channel), ev.ID) {
			p.Boards = append(p.Boards, Board{ChannelID: channel, Thread: thread})
		}
	}
	// A board an earlier attempt set out to post is finished, wherever
	// the route now points.
	for _, e := range st.Ledger {
		if ch, ok := strings.CutPrefix(e.Key, boardPrefix); ok && st.Board(ch) < 0 {
			want(ch, e.Thread)
		}
	}
	hasThread := slices.ContainsFunc(st.Boards, func(b Board) bool { return b.Thread }) || p.Thread() != nil
	switch {
	case own || p.CreateChannel:
		if route.Channel && !st.ChannelArchived {
			want(route.Announce, false)
		}
	case !route.Channel && !hasThread:
		// Only one post-only message per incident: a route moving to
		// another post-only channel keeps the thread where it is.
		want(route.PostChannel, true)
	}
	for _, b := range p.Boards {
		if b.TS == "" && pendingPost(st, BoardKey(b.ChannelID)) {
			p.FindBoards = append(p.FindBoards, b.ChannelID)
		}
		p.recallPutOff(st, BoardKey(b.ChannelID))
	}
	// The incident this one was merged into gets a note in its thread,
	// when the service read it and it has one.
	if m := inc.MergedInto; m.ID != "" && inc.Status == StatusResolved && !st.MergeNoted && (own || p.CreateChannel) &&
		ev.Survivor.thread() && ev.Survivor.ID == m.ID {
		p.MergedIn, p.Survivor = MergedInNote(inc, ev.OccurredAt), *ev.Survivor
		p.FindMergeNote = pendingPost(st, KeyMergeNote)
	}
	if ev.Type == EventSweep && own && !st.ChannelArchived && cfg.ArchiveAfter > 0 && inc.Status == StatusResolved &&
		!inc.ResolvedAt.IsZero() && !ev.OccurredAt.Before(inc.ResolvedAt.Add(cfg.ArchiveAfter)) {
		p.ArchiveNotice = ArchiveNotice(st, ev)
		// Always looked for: an archive that failed after its notice
		// was posted leaves no entry in flight.
		p.FindArchive = true
	}
	if ev.Type == EventSweep && own && !st.ChannelArchived && p.ArchiveNotice == nil {
		if due, ok := NextReminder(st, cfg.Reminders, ev.OccurredAt); ok {
			p.Reminder = ReminderFor(st, due)
			p.FindReminder = pendingPost(st, KeyReminder)
		}
	}
	if er.ReplyTS == "" && !st.ChannelArchived && (own || p.CreateChannel || threadBoard(st) != nil || p.Thread() != nil) {
		p.Reply = ReplyFor(ev, inc)
		p.FindReply = p.Reply != nil && er.Owner != ""
		if p.Reply != nil && ev.Type == EventResolved {
			p.Reply.Body = ResolutionSummary(st, ev)
		}
		// "Merged into" links the survivor's channel when it has one
		// open, its PagerDuty page otherwise.
		if sv := ev.Survivor; p.Reply != nil && p.Reply.URL != "" && sv != nil && sv.ID == inc.MergedInto.ID &&
			sv.ChannelID != "" && !sv.ChannelArchived {
			p.Reply.Channel = sv.ChannelID
		}
	}
	return p
}

// recallPutOff adds key to p.PutOffEarlier when an earlier event put its effect off.
func (p *Plan) recallPutOff(st State, key string) {
	if e := st.Entry(key); e != nil && e.PutOff {
		if p.PutOffEarlier == nil {
			p.PutOffEarlier = map[string]string{}
		}
		p.PutOffEarlier[key] = e.Event
	}
}

// board returns the index in p.Boards of the message in channelID, or -1.
func (p *Plan) board(channelID string) int {
	return slices.IndexFunc(p.Boards, func(b Board) bool { return b.ChannelID == channelID })
}

// ownChannel plans the incident's own channel: topic, bookmarks, invites,
// root message and the summary of what happened before it opened.
func (p *Plan) ownChannel(st State, ev *Event, route Route, cfg Config) {
	inc := st.Snapshot
	// The topic, bookmarks and announce message are optional: one that
	// Slack's rate limit put off while handling this event waits for the
	// next event.
	if t := leadTopic(st); t != st.Topic && !putOffBy(st, KeyTopic, ev.ID) {
		p.Topic = t
		p.recallPutOff(st, KeyTopic)
	}
	if cfg.Canvases && !putOffBy(st, KeyCanvas, ev.ID) {
		if p.Canvas = canvasWork(st); p.Canvas.Markdown != "" {
			p.recallPutOff(st, KeyCanvas)
		}
	}
	for _, b := range Bookmarks(inc) {
		if !slices.Contains(st.Bookmarks, b.Link) && !putOffBy(st, BookmarkKey(b.Link), ev.ID) {
			p.Bookmarks = append(p.Bookmarks, b)
			p.FindBookmarks = p.FindBookmarks || pendingPost(st, BookmarkKey(b.Link))
			p.recallPutOff(st, BookmarkKey(b.Link))
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
	if cfg.PagerDuty != nil && (st.ChannelID == "" || st.Backlinked != st.ChannelID) && !putOffBy(st, KeyBacklink, ev.ID) {
		// Any entry, put off or pending, may stand for a note PagerDuty
		// saved without answering: it is looked up first.
		p.Backlink = true
		p.FindBacklink = st.Entry(KeyBacklink) != nil
	}
	switch {
	case st.RootTS == "":
		p.PostRoot = true
		p.FindRoot = pendingPost(st, KeyRoot)
		p.Recall = cfg.Memory != nil && !st.Recalled && inc.Complete
	case st.RootVersion != st.Version:
		p.UpdateRoot = true
	}
	if st.LateChannel && !st.Summarized && len(st.History) > 0 {
		p.Summary = SummaryFor(st, ev)
		p.FindSummary = pendingPost(st, KeySummary)
	}
	if len(st.CannotInvite) > 0 && st.ChannelID != "" {
		p.InviteNote = InviteNote(st.Snapshot.ID, st.CannotInvite)
		p.FindInviteNote = pendingPost(st, KeyInviteNote)
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
