package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// step names a kind of Slack call the executor makes, for the policy
// table.
type step uint8

const (
	stepChannel       step = iota + 1 // conversations.create
	stepRootPost                      // the root message
	stepRootEdit                      // the root message, edited
	stepTopic                         // the channel topic
	stepBookmark                      // a bookmark
	stepInvite                        // invites and their look-ups
	stepThreadPost                    // summary, reply or note in the incident's channel
	stepPostOnlyPost                  // reply or summary under the post-only message
	stepBoardPost                     // the post-only message the updates are threaded under
	stepBoardEdit                     // the same, edited
	stepAnnouncePost                  // any other message in a shared channel (the announce line)
	stepAnnounceEdit                  // the same, edited
	stepLookup                        // a look-up of what an earlier attempt did
	stepArchiveNotice                 // the line saying the channel is being archived
	stepArchive                       // the channel archived by the sweep, after its notice
	stepMergeNote                     // the note in the channel of the incident this one was merged into
	stepBacklink                      // the PagerDuty note linking the channel, or its look-up
	stepReminder                      // the reminder to post a status update
	stepCanvas                        // the channel canvas, or the retrospective's file
)

// action is what a failure of a step comes to.
type action uint8

const (
	// fail: the attempt answers 503; PagerDuty redelivers.
	fail action = iota + 1
	// failMaybeDone: as fail, and the post may have landed: its ledger
	// entry stays, for the next attempt to look it up.
	failMaybeDone
	// skip: an optional step Slack refuses for good is logged and counted
	// done, rather than blocking the incident's webhooks for two days.
	skip
	// giveUp: a shared channel refuses the incident's message for good:
	// recorded, never tried again.
	giveUp
	// archived: the incident's channel is archived: recorded, and nothing
	// more is posted there.
	archived
	// gone: the message was deleted: it is posted anew.
	gone
	// putOff: an optional effect (topic, bookmark, announce message)
	// whose method Slack rate-limited is left to the incident's next
	// event: the essentials (channel, invites, root, replies) need not
	// wait for it, nor does PagerDuty redeliver for it.
	putOff
	// putOffMaybeDone: an optional effect whose call may have landed
	// unseen is put off keeping its ledger entry's owner and Until: a
	// later event waits till then, as for any entry in flight, and looks
	// it up; the delivery is answered.
	putOffMaybeDone
)

// policy maps each step and kind of failure to an action. A kind the
// adapters did not classify counts as refused.
var policy = map[step]map[Kind]action{
	stepChannel:  {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: fail, KindArchived: fail, KindRefused: fail},
	stepRootPost: {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: fail, KindArchived: archived, KindRefused: fail},
	stepRootEdit: {KindTransient: fail, KindMaybeDone: fail, KindGone: gone, KindArchived: archived, KindRefused: fail},
	stepTopic:    {KindTransient: putOff, KindMaybeDone: putOff, KindGone: skip, KindArchived: archived, KindRefused: skip},
	// The canvas is optional like the topic; a refusal (free plan,
	// missing scope) is recorded so it is never asked again.
	stepCanvas:        {KindTransient: putOff, KindMaybeDone: putOff, KindGone: skip, KindArchived: archived, KindRefused: skip},
	stepBookmark:      {KindTransient: putOff, KindMaybeDone: failMaybeDone, KindGone: skip, KindArchived: archived, KindRefused: skip},
	stepInvite:        {KindTransient: fail, KindMaybeDone: fail, KindGone: skip, KindArchived: archived, KindRefused: skip},
	stepThreadPost:    {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: gone, KindArchived: archived, KindRefused: fail},
	stepPostOnlyPost:  {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: gone, KindArchived: giveUp, KindRefused: giveUp},
	stepBoardPost:     {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: giveUp, KindArchived: giveUp, KindRefused: giveUp},
	stepBoardEdit:     {KindTransient: fail, KindMaybeDone: fail, KindGone: gone, KindArchived: giveUp, KindRefused: giveUp},
	stepAnnouncePost:  {KindTransient: putOff, KindMaybeDone: failMaybeDone, KindGone: giveUp, KindArchived: giveUp, KindRefused: giveUp},
	stepAnnounceEdit:  {KindTransient: putOff, KindMaybeDone: putOff, KindGone: gone, KindArchived: giveUp, KindRefused: giveUp},
	stepLookup:        {KindTransient: fail, KindMaybeDone: fail, KindGone: gone, KindArchived: archived, KindRefused: fail},
	stepArchiveNotice: {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: skip, KindArchived: archived, KindRefused: fail},
	stepArchive:       {KindTransient: fail, KindMaybeDone: fail, KindGone: archived, KindArchived: archived, KindRefused: fail},
	stepMergeNote:     {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: skip, KindArchived: skip, KindRefused: skip},
	stepReminder:      {KindTransient: fail, KindMaybeDone: failMaybeDone, KindGone: skip, KindArchived: archived, KindRefused: fail},
	// The back-link is optional: PagerDuty slow or down (no answer to the
	// note's POST included) puts it off to a later event, which looks it
	// up before writing it (see mayPutOff: not once resolved); a refusal (no such incident,
	// PAGERDUTY_FROM_EMAIL not a user) is logged and never blocks the
	// channel.
	stepBacklink: {KindTransient: putOff, KindMaybeDone: putOffMaybeDone, KindGone: skip, KindArchived: skip, KindRefused: skip},
}

// actionFor returns what err means for step s. An optional effect is put
// off at most once, and only while a later event is to come: one that an
// earlier event put off already, or one of a resolved incident, must be
// done before the delivery is answered, so nothing put off is lost.
func actionFor(s step, err error, mayPutOff bool) action {
	k := KindOf(err)
	if k == 0 || k == KindNameTaken {
		k = KindRefused
	}
	act := policy[s][k]
	switch {
	case act == putOff && !mayPutOff:
		act = fail
	case act == putOffMaybeDone && !mayPutOff:
		act = failMaybeDone
	}
	return act
}

// mayPutOff reports whether the effect of key may be put off to the
// incident's next event.
func (x *executor) mayPutOff(key string) bool {
	if key == KeyBacklink {
		// Any later event may write it, after looking it up (Decide
		// looks up whatever entry it left): the note is not worth a
		// 503 that holds up the incident's Slack updates while more
		// events are to come. A resolved incident's event may be its
		// last, so its note is written (or found) before the delivery
		// is answered.
		return x.st.Snapshot.Status != StatusResolved
	}
	_, again := x.p.PutOffEarlier[key]
	// One an earlier attempt may have made is looked up first: put off,
	// its entry would no longer say so.
	return x.st.Snapshot.Status != StatusResolved && !again && !x.mustFind(key)
}

// executor runs one round of a plan: independent Slack calls at once,
// {root or post-only message → summary → reply} ∥ root edit ∥ topic ∥
// bookmarks ∥ {invites → note in the thread} ∥ each shared-channel
// message. Every goroutine ends before run returns.
type executor struct {
	a   *attempt
	st  State
	p   Plan
	wg  sync.WaitGroup
	mu  sync.Mutex
	r   Results
	ran map[string]bool // ledger keys whose step ran to an outcome
	// thread is where the incident's updates are threaded, once known.
	thread chan thread
	// recall is the look-up of similar past incidents, when the plan
	// has one.
	recall *recall
}

// thread is where the incident's updates are threaded: the root of its
// channel, or its post-only message (board).
type thread struct {
	channelID, ts string
	board         *Board
}

// execute runs the plan and returns what it came to.
func (a *attempt) execute(ctx context.Context, p Plan) Results {
	x := &executor{a: a, st: a.st, p: p, ran: map[string]bool{}, thread: make(chan thread, 1)}
	if p.CreateChannel && reopenedAfterArchive(x.st) {
		x.st = nextChannel(x.st) // as Decide planned it
	}
	// Beside the channel's creation: the root waits for it only once
	// the channel exists.
	x.startRecall(ctx)
	switch {
	case p.CreateChannel:
		// The rest of the plan goes to the channel created, in the same
		// round: its posts were set out with the channel.
		if x.createChannel(ctx) {
			x.st.ChannelID, x.st.ChannelName = x.r.ChannelID, x.r.ChannelName
			x.run(ctx)
		}
	default:
		x.run(ctx)
	}
	if p.ArchiveNotice != nil && x.r.Err == nil && !x.r.Archived {
		x.archive(ctx)
	}
	if p.MergedIn != nil && x.r.Err == nil {
		x.mergeNote(ctx)
	}
	if p.Reminder != nil && x.r.Err == nil && !x.r.Archived {
		x.remind(ctx)
	}
	x.endRecall()
	// Posts set out but never tried are known not done, unless an
	// earlier attempt's entry is still to be looked up.
	for _, key := range p.Posts() {
		if !x.ran[key] && !x.mustFind(key) {
			x.r.Settled = append(x.r.Settled, key)
		}
	}
	if p.Reply != nil && !x.ran[KeyReply] && !p.FindReply {
		x.r.Settled = append(x.r.Settled, KeyReply)
	}
	a.maybeDone = a.maybeDone || x.r.MaybeDone
	return x.r
}

// mustFind reports whether the effect of key may have been done by an
// earlier attempt, as Decide found from the ledger before this attempt
// set out.
func (x *executor) mustFind(key string) bool {
	p := x.p
	switch {
	case key == KeyChannel:
		return p.Adopt != nil
	case key == KeyRoot:
		return p.FindRoot
	case key == KeySummary:
		return p.FindSummary
	case key == KeyBacklink:
		return p.FindBacklink
	case key == KeyMergeNote:
		return p.FindMergeNote
	case key == KeyArchive:
		return p.FindArchive
	case key == KeyReminder:
		return p.FindReminder
	case key == KeyInviteNote:
		return p.FindInviteNote
	case key == KeyReply:
		return p.FindReply
	case strings.HasPrefix(key, bookmarkPrefix):
		return p.FindBookmarks
	case strings.HasPrefix(key, boardPrefix):
		return slices.Contains(p.FindBoards, strings.TrimPrefix(key, boardPrefix))
	}
	return false
}

func (x *executor) locked(f func(r *Results)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	f(&x.r)
}

// goSafe runs f on a goroutine; a panic becomes the round's error
// rather than killing the process.
func (x *executor) goSafe(f func()) {
	x.wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				x.locked(func(r *Results) { r.Err = errors.Join(r.Err, fmt.Errorf("%w: %v", ErrPanic, p)) })
			}
		}()
		f()
	})
}

// failed applies the policy to a failed step and reports whether the
// step may be counted done (skip).
func (x *executor) failed(ctx context.Context, s step, key string, b *Board, err error) bool {
	act := actionFor(s, err, key != "" && x.mayPutOff(key))
	x.locked(func(r *Results) {
		if key != "" {
			x.ran[key] = true
			// The effect is settled unless the call may have landed, or
			// an earlier attempt's effect is still to be looked up.
			if act != failMaybeDone && KindOf(err) != KindMaybeDone && !x.mustFind(key) {
				r.Settled = append(r.Settled, key)
			}
			// One an earlier event put off stays put off by that event
			// until done.
			if by, ok := x.p.PutOffEarlier[key]; ok && act == fail {
				r.addPutOff(key, by)
			}
		}
		switch act {
		case fail, failMaybeDone:
			r.Err = errors.Join(r.Err, err)
			r.MaybeDone = r.MaybeDone || act == failMaybeDone
		case archived:
			r.Archived = true
		case gone:
			if b != nil {
				r.GoneBoards = append(r.GoneBoards, b.TS)
			} else {
				r.RootGone = x.st.RootTS
			}
		case giveUp:
			if b != nil {
				g := *b
				g.GaveUp = true
				r.Boards = append(r.Boards, g)
			}
		case putOff:
			r.addPutOff(key, x.a.ev.ID)
		case putOffMaybeDone:
			if r.PutOffMaybeDone == nil {
				r.PutOffMaybeDone = map[string]string{}
			}
			r.PutOffMaybeDone[key] = x.a.ev.ID
		}
	})
	switch act {
	case skip:
		x.a.log.WarnContext(ctx, "optional Slack step failed; not retried", "incident_id", x.a.ev.IncidentID,
			"channel_id", x.st.ChannelID, "error", err.Error())
		return true
	case putOff, putOffMaybeDone:
		x.a.log.InfoContext(ctx, "optional step put off to the incident's next event", "incident_id", x.a.ev.IncidentID,
			"key", key, "error", err.Error())
	case giveUp:
		ch := ""
		if b != nil {
			ch = b.ChannelID
		}
		x.a.log.ErrorContext(ctx, "shared channel refuses the incident's message; giving it up", "incident_id", x.a.ev.IncidentID,
			"channel_id", ch, "error", err.Error())
	}
	return false
}

func (x *executor) run(ctx context.Context) {
	p, st := x.p, x.st
	x.goSafe(func() { x.threadWork(ctx) })
	if p.UpdateRoot && st.ChannelID != "" {
		x.goSafe(func() {
			if err := x.a.slack.UpdateRoot(ctx, st.ChannelID, st.RootTS, x.root(st)); err != nil {
				x.failed(ctx, stepRootEdit, "", nil, err)
				return
			}
			x.locked(func(r *Results) { r.RootVersion, r.RootWritten = st.Version, true })
		})
	}
	for _, b := range p.Boards {
		if b.Thread && b.TS == "" && st.ChannelID == "" {
			continue // posted by threadWork, before the replies under it
		}
		x.goSafe(func() { x.board(ctx, b) })
	}
	if p.Topic != "" {
		x.goSafe(func() {
			err := x.a.slack.SetTopic(ctx, st.ChannelID, p.Topic)
			if err == nil || x.failed(ctx, stepTopic, KeyTopic, nil, err) {
				x.locked(func(r *Results) { r.Topic, r.TopicSet = p.Topic, true })
			}
		})
	}
	if p.Canvas.Markdown != "" && st.ChannelID != "" {
		x.goSafe(func() { x.canvas(ctx) })
	}
	if len(p.Bookmarks) > 0 {
		x.goSafe(func() { x.bookmarks(ctx) })
	}
	if len(p.Invite)+len(p.InviteGroups)+len(p.InvitePeople) > 0 {
		x.goSafe(func() { x.invites(ctx) })
	}
	if p.Backlink && st.ChannelID != "" {
		x.goSafe(func() { x.backlink(ctx) })
	}
	x.wg.Wait()
}

// anchor returns where the updates are threaded, posting the root or the
// post-only message first when the plan says so; ok is false when there
// is no thread (yet).
func (x *executor) anchor(ctx context.Context) (th thread, ok bool) {
	p, st := x.p, x.st
	switch {
	case st.ChannelID != "":
		th = thread{channelID: st.ChannelID, ts: st.RootTS}
		if !p.PostRoot {
			return th, th.ts != ""
		}
		if p.FindRoot {
			ts, err := x.a.slack.FindRoot(ctx, st.ChannelID, st.Snapshot.ID)
			if err != nil {
				x.failed(ctx, stepLookup, KeyRoot, nil, err)
				return th, false
			}
			if ts != "" {
				// Adopted; the next round brings it up to date.
				x.locked(func(r *Results) { r.RootTS = ts; x.ran[KeyRoot] = true })
				th.ts = ts
				return th, true
			}
		}
		st.Past = x.recalled(ctx)
		ts, err := x.a.slack.PostRoot(ctx, st.ChannelID, x.root(st))
		if err != nil {
			x.failed(ctx, stepRootPost, KeyRoot, nil, err)
			return th, false
		}
		x.locked(func(r *Results) {
			r.RootTS, r.RootVersion, r.RootWritten = ts, st.Version, true
			x.ran[KeyRoot] = true
			r.Recalled, r.Past = x.p.Recall, st.Past
		})
		th.ts = ts
		return th, true
	case threadBoard(st) != nil:
		b := *threadBoard(st)
		return thread{channelID: b.ChannelID, ts: b.TS, board: &b}, true
	case p.Thread() != nil:
		b := *p.Thread()
		ts, ok := x.postBoard(ctx, b)
		if !ok {
			return th, false
		}
		b.TS = ts
		return thread{channelID: b.ChannelID, ts: ts, board: &b}, true
	}
	return th, false
}

// threadWork posts the thread's anchor if needed, then the summary and
// the reply under it, in that order.
func (x *executor) threadWork(ctx context.Context) {
	// Closed however this ends (a panic included), so the invites' note
	// never waits for a thread that will not come.
	defer close(x.thread)
	th, ok := x.anchor(ctx)
	if !ok {
		return
	}
	x.thread <- th
	p := x.p
	s := stepThreadPost
	if th.board != nil {
		s = stepPostOnlyPost
	}
	if p.Summary != nil {
		ts, err := x.post(ctx, th, *p.Summary, p.FindSummary)
		if err != nil {
			x.failed(ctx, s, KeySummary, th.board, err)
			return
		}
		x.locked(func(r *Results) { r.Summarized = ts != ""; x.ran[KeySummary] = true })
	}
	if p.InviteNote != nil && th.board == nil {
		if _, err := x.post(ctx, th, *p.InviteNote, p.FindInviteNote); err != nil {
			x.failed(ctx, s, KeyInviteNote, nil, err)
			return
		}
		x.locked(func(r *Results) { r.InviteNoted = slices.Clone(x.st.CannotInvite); x.ran[KeyInviteNote] = true })
	}
	if p.Reply == nil {
		return
	}
	var ts string
	if posted := threadBoard(x.st); p.FindReply && th.board == nil && posted != nil {
		// The earlier attempt may have posted the reply in the post-only
		// thread, before the incident's channel opened.
		var err error
		if ts, err = x.a.slack.FindReply(ctx, posted.ChannelID, posted.TS, p.Reply.EventID); err != nil {
			x.failed(ctx, stepLookup, KeyReply, nil, err)
			return
		}
	}
	if ts == "" {
		var err error
		if ts, err = x.post(ctx, th, *p.Reply, p.FindReply); err != nil {
			x.failed(ctx, s, KeyReply, th.board, err)
			return
		}
	}
	x.locked(func(r *Results) { r.ReplyTS = ts; x.ran[KeyReply] = true })
}

// root returns the root message of st, with the responders' buttons when
// they can act from Slack.
func (x *executor) root(st State) Root {
	r := RootOf(st)
	if x.a.cfg.Interactive && !st.ChannelArchived {
		r.Actions = Actions(st.Snapshot)
	}
	return r
}

// post posts a thread reply, unless find is set and the reply is found
// posted already.
func (x *executor) post(ctx context.Context, th thread, r Reply, find bool) (string, error) {
	if find {
		ts, err := x.a.slack.FindReply(ctx, th.channelID, th.ts, r.EventID)
		if err != nil || ts != "" {
			return ts, err
		}
	}
	return x.a.slack.PostReply(ctx, th.channelID, th.ts, r)
}
