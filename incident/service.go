package incident

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome says what handling an event amounted to; it is logged.
type Outcome string

// Outcomes of Service.Handle.
const (
	OutcomeIgnored   Outcome = "ignored"   // not an incident event the service tracks
	OutcomeDuplicate Outcome = "duplicate" // already fully handled: no Slack call
	OutcomeProcessed Outcome = "processed" // Slack brought in line with the event
)

// ErrPanic marks a recovered panic: a bug, answered with 500.
var ErrPanic = errors.New("panic")

// ErrBusy means another attempt holds the incident's creation lease or the
// event itself and did not finish within the budget. It is retryable: the
// HTTP handler answers 503 and PagerDuty redelivers.
var ErrBusy = errors.New("incident is being handled by another attempt")

// LeaseTTL bounds how long one attempt may hold a lease. It is longer than
// any request budget, so a live holder never loses it, and short enough
// that a crashed holder delays the next redelivery only briefly.
const LeaseTTL = 15 * time.Second

// maxRounds bounds how often one request re-renders when concurrent
// deliveries keep moving the incident forward.
const maxRounds = 4

// Service records events and reconciles Slack with the stored state.
type Service struct {
	store  Store
	slack  Slack
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	pollMS time.Duration
}

// NewService returns a Service. A nil logger discards logs.
func NewService(store Store, slack Slack, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ChannelPrefix == "" {
		cfg.ChannelPrefix = "inc"
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = LeaseTTL
	}
	return &Service{store: store, slack: slack, cfg: cfg, log: log, now: time.Now, pollMS: 100 * time.Millisecond}
}

// Result describes a handled event for the request log.
type Result struct {
	Outcome   Outcome
	ChannelID string
}

// Handle records ev and brings Slack in line with it. It returns when the
// work is complete or ctx ends; unfinished work returns an error for which
// Retryable is true, and a redelivery of the same event resumes it.
func (s *Service) Handle(ctx context.Context, ev *Event) (Result, error) {
	if !ev.Handled() {
		return Result{Outcome: OutcomeIgnored}, nil
	}
	a := &attempt{Service: s, ev: ev, owner: newOwner()}
	return a.run(ctx)
}

// attempt is one request's work on one event.
type attempt struct {
	*Service
	ev      *Event
	owner   string
	st      State
	er      EventRecord
	resumed bool
	// createdChannel is set when this attempt created the channel: it is
	// empty, so there is no earlier root or bookmark to look for.
	createdChannel bool
	// keepEventLease is set when the event's reply may have been posted
	// unseen: the event lease is left to expire so that the redelivery's
	// FindReply sees the reply.
	keepEventLease bool
	// leaseUntil is when the incident lease this attempt took expires;
	// zero when it holds none.
	leaseUntil time.Time
	// earlierCreation is when an earlier attempt set out to create the
	// channel (zero when none did), and earlierNames the names it meant:
	// a channel of that name may be its orphan.
	earlierCreation time.Time
	earlierNames    []string
	// keepLease is set when a step that needs the incident's lease
	// (creating the channel, posting the root, adding a bookmark) failed
	// in a way that leaves open whether Slack did it, or the channel was
	// created but not recorded: the lease is then left to expire, so
	// nobody repeats the step before Slack's answer would show. Before, it
	// was set only when conversations.create failed in a way that
	// leaves open whether the channel was created.
	keepLease bool
}

func (a *attempt) run(ctx context.Context) (res Result, err error) {
	if err := a.record(ctx); err != nil {
		return Result{}, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
		if err != nil {
			a.release(ctx)
		}
	}()
	if a.er.Done {
		return Result{Outcome: OutcomeDuplicate, ChannelID: a.st.ChannelID}, nil
	}
	// Slack calls stop early enough to leave time to record what they did:
	// an effect Slack carried out but nobody recorded is only found again
	// by a lookup.
	slackCtx, cancel := reserve(ctx, recordReserve)
	defer cancel()
	// A resumed event re-asserts root and topic: an earlier attempt may
	// have stopped between a Slack write and recording it.
	force := force{root: a.resumed, topic: a.resumed, boards: a.resumed}
	for round := 0; ; round++ {
		plan := Decide(a.st, a.er, a.ev, a.cfg)
		force.apply(&plan, a.st)
		if plan.Empty() {
			if a.er.Done {
				break
			}
			// Nothing is left as of the state last read: mark the event
			// done. commit decides again from the state it reads, which
			// may have moved meanwhile (a full payload recorded, a channel
			// opened, so a reply is now owed): then it leaves the event
			// open, and this attempt plans again rather than answer 200
			// with the work undone (PagerDuty would never redeliver).
			if _, err := a.commit(ctx, &steps{}); err != nil {
				return Result{ChannelID: a.st.ChannelID}, err
			}
			if a.er.Done {
				break
			}
			continue
		}
		if round == maxRounds {
			return Result{ChannelID: a.st.ChannelID}, fmt.Errorf("event %s: %w: state kept moving for %d rounds", a.ev.ID, ErrBusy, maxRounds)
		}
		// Right after creating the channel this attempt still holds the
		// lease it took: no need to claim it again.
		if needsLease(plan) && !a.holding() {
			ready, err := a.claim(ctx)
			if err != nil {
				return Result{ChannelID: a.st.ChannelID}, err
			}
			if ready {
				continue // another attempt did what needs the lease: plan again
			}
			// The claim read the incident afresh; while this attempt
			// waited, the holder may have done part of the plan (created
			// the channel, then failed before the root, say). Plan from
			// what the claim read.
			plan = Decide(a.st, a.er, a.ev, a.cfg)
			force.apply(&plan, a.st)
		}
		if plan.CreateChannel {
			if err := a.createChannel(ctx, slackCtx, plan.ChannelName, plan.Private); err != nil {
				return Result{}, err
			}
			continue // plan again with the channel
		}
		done := a.reconcile(slackCtx, plan)
		var err error
		force, err = a.commit(ctx, done)
		if err != nil {
			return Result{ChannelID: a.st.ChannelID}, err
		}
		if done.err != nil {
			return Result{ChannelID: a.st.ChannelID}, done.err
		}
		if a.er.Done {
			break
		}
	}
	return Result{Outcome: OutcomeProcessed, ChannelID: a.st.ChannelID}, nil
}

// leaseEnd is when a lease taken now ends: LeaseTTL from now, and never
// before this attempt's own deadline has passed, so no second attempt can
// take over the event or the incident while this one may still act.
func (a *attempt) leaseEnd(ctx context.Context, now time.Time) time.Time {
	end := now.Add(a.cfg.LeaseTTL)
	if dl, ok := ctx.Deadline(); ok {
		if min := dl.Add(releaseTimeout + time.Second); min.After(end) {
			end = min
		}
	}
	return end
}

// holding reports whether this attempt holds the incident lease with at
// least half its time left, as it does right after creating the channel.
func (a *attempt) holding() bool {
	return a.st.LeaseOwner == a.owner && a.now().Add(a.cfg.LeaseTTL/2).Before(a.leaseUntil)
}

// recordReserve is the part of the budget kept for recording progress
// after the Slack calls of a round.
const recordReserve = 600 * time.Millisecond

// reserve returns ctx with a deadline d earlier than ctx's, if it has one.
func reserve(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-d))
}

// force holds re-renders owed because this attempt's own write may have
// landed after a newer one.
type force struct{ root, topic, boards bool }

func (f force) apply(p *Plan, st State) {
	if f.boards {
		for _, b := range st.Boards {
			if b.TS != "" && !b.GaveUp && !slices.ContainsFunc(p.Boards, func(o Board) bool { return o.ChannelID == b.ChannelID }) {
				p.Boards = append(p.Boards, b)
			}
		}
	}
	if st.ChannelID == "" || p.CreateChannel {
		return
	}
	if f.root && !p.PostRoot && st.RootTS != "" {
		p.UpdateRoot = true
	}
	if f.topic && p.Topic == "" {
		p.Topic = Topic(st.Snapshot)
	}
}

// record applies the event to the stored state and takes the event's lease.
func (a *attempt) record(ctx context.Context) error {
	now := a.now()
	err := a.store.Update(ctx, a.ev.IncidentID, a.ev.ID, func(st *State, er *EventRecord) (Change, error) {
		resumed := er.Exists
		if er.Exists && !er.Done && er.Owner != "" && er.Owner != a.owner && now.Before(er.LeaseUntil) {
			return 0, fmt.Errorf("event %s: %w", a.ev.ID, ErrBusy)
		}
		ch := Record(st, er, a.ev)
		if !er.Done {
			er.Owner, er.LeaseUntil = a.owner, a.leaseEnd(ctx, now)
			ch |= ChangeEvent
		}
		a.st, a.er, a.resumed = st.Clone(), *er, resumed
		return ch, nil
	})
	if err != nil {
		return fmt.Errorf("record event %s: %w", a.ev.ID, err)
	}
	return nil
}

// needsLease reports whether a plan holds steps that must not be done
// twice and are not protected by the event's own lease: creating the
// channel, posting the root or a shared-channel message, adding bookmarks,
// the summary, invites (and their note). Only the holder of the incident's
// lease does them.
func needsLease(p Plan) bool {
	return p.CreateChannel || p.PostRoot || len(p.Bookmarks) > 0 ||
		slices.ContainsFunc(p.Boards, func(b Board) bool { return b.TS == "" }) ||
		// Posted once per incident, not per event: the summary, and the
		// line naming who could not be invited.
		p.Summary != nil || len(p.Invite)+len(p.InviteGroups)+len(p.InvitePeople) > 0
}

// claim takes the incident's lease, needed for the steps of needsLease, so
// exactly one attempt does each. If another attempt holds it, claim waits
// for that attempt while the budget allows. It reports ready when,
// meanwhile, nothing needing the lease is left (someone else did it); in
// either case a.st is the state it read, to plan again from.
func (a *attempt) claim(ctx context.Context) (ready bool, err error) {
	for {
		now := a.now()
		held, free := false, false
		err := a.store.Update(ctx, a.ev.IncidentID, "", func(st *State, _ *EventRecord) (Change, error) {
			// The function may run more than once: set every output anew.
			held, free = false, false
			a.earlierCreation, a.earlierNames = time.Time{}, nil
			a.st = st.Clone()
			plan := Decide(*st, a.er, a.ev, a.cfg)
			if !needsLease(plan) {
				free = true
				return 0, nil
			}
			if st.LeaseOwner != "" && st.LeaseOwner != a.owner && now.Before(st.LeaseUntil) {
				held = true
				return 0, nil
			}
			st.LeaseOwner, st.LeaseUntil = a.owner, a.leaseEnd(ctx, now)
			if plan.CreateChannel {
				// Remember when creation started and under which name,
				// so a later attempt can recognise (and adopt) a channel
				// this one creates but cannot record.
				a.earlierCreation, a.earlierNames = st.CreatingSince, slices.Clone(st.CreatingNames)
				if st.CreatingSince.IsZero() {
					st.CreatingSince = now
				}
				if name := ChannelName(a.cfg.Route(st.Snapshot).Prefix, st.Snapshot); !slices.Contains(st.CreatingNames, name) && len(st.CreatingNames) < maxCreatingNames {
					st.CreatingNames = append(st.CreatingNames, name)
				}
			}
			a.st = st.Clone()
			return ChangeState, nil
		})
		if err != nil {
			return false, fmt.Errorf("claim channel of incident %s: %w", a.ev.IncidentID, err)
		}
		if free {
			return true, nil
		}
		if !held {
			a.leaseUntil = a.st.LeaseUntil
			return false, nil
		}
		// Wait for the holder while enough budget remains to do the work
		// after it: a second of Slack calls and the time to record them.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < recordReserve+time.Second+a.pollMS {
			return false, fmt.Errorf("incident %s: %w (creation lease held until %s)", a.ev.IncidentID, ErrBusy, a.st.LeaseUntil.Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("incident %s: %w", a.ev.IncidentID, ErrBusy)
		case <-time.After(a.pollMS):
		}
	}
}

// maxCreatingNames bounds the channel names remembered for adoption: a
// name changes only when a full incident payload replaces a reference.
const maxCreatingNames = 4

// maxNameTries bounds conversations.create calls (Tier 2) for one name.
const maxNameTries = 5

// createChannel creates the channel, trying suffixed names when the name is
// taken, and records it at once.
func (a *attempt) createChannel(ctx, slackCtx context.Context, name string, private bool) error {
	var id, got string
	adopted := false
	if !a.earlierCreation.IsZero() {
		// An earlier attempt may have created the channel, perhaps under
		// another name (a reference's title, before the full incident
		// arrived), and lost Slack's answer or failed to record it.
		var names []string
		for _, n := range append(a.earlierNames, name) {
			for i := 1; i <= maxNameTries; i++ {
				if s := withSuffix(n, i); !slices.Contains(names, s) {
					names = append(names, s)
				}
			}
		}
		found, foundName, err := a.slack.FindChannel(slackCtx, names, a.earlierCreation.Add(-time.Minute))
		if IsRetryable(err) {
			return fmt.Errorf("look for an orphan channel of incident %s: %w", a.ev.IncidentID, err)
		}
		if err != nil {
			a.log.WarnContext(ctx, "cannot look for an orphan channel", "incident_id", a.ev.IncidentID, "error", err.Error())
		}
		if found != "" {
			id, got, adopted = found, foundName, true
			a.log.InfoContext(ctx, "adopted a channel an earlier attempt created but did not record",
				"incident_id", a.ev.IncidentID, "channel_id", found, "channel_name", foundName)
		}
	}
	for i := 1; i <= maxNameTries && got == ""; i++ {
		try := withSuffix(name, i)
		var err error
		id, err = a.slack.CreateChannel(slackCtx, try, private)
		if errors.Is(err, ErrNameTaken) {
			continue
		}
		if err != nil {
			// After a timeout or a 5xx the channel may exist even though
			// Slack's answer was lost: keep the lease until it expires, so
			// nobody creates another meanwhile.
			a.keepLease = maybeDone(err)
			return err
		}
		got = try
		// Created: until it is recorded, a failure must not free the
		// lease, or the next attempt creates a second channel.
		a.keepLease = true
		break
	}
	if got == "" {
		return fmt.Errorf("create channel for incident %s: %w: %q and %d suffixed names", a.ev.IncidentID, ErrNameTaken, name, maxNameTries-1)
	}
	err := a.store.Update(ctx, a.ev.IncidentID, "", func(st *State, _ *EventRecord) (Change, error) {
		if st.ChannelID == "" {
			st.ChannelID, st.ChannelName = id, got
			if slices.ContainsFunc(st.Boards, func(b Board) bool { return b.Thread }) {
				// Updates went to a post-only thread before: the channel
				// owes the summary even if no event finished there.
				st.Deferred = true
			}
			if !st.Deferred {
				// Opened with its first events: no summary is owed.
				st.History = nil
			}
		}
		a.st = st.Clone()
		return ChangeState, nil
	})
	if err != nil {
		return fmt.Errorf("record channel %s (%s) of incident %s: %w", got, id, a.ev.IncidentID, err)
	}
	a.keepLease = false
	a.createdChannel = a.st.ChannelID == id && !adopted
	if a.st.ChannelID != id {
		a.log.WarnContext(ctx, "channel created twice; keeping the first",
			"incident_id", a.ev.IncidentID, "channel_id", a.st.ChannelID, "orphan_channel_id", id)
	}
	return nil
}

// release gives up the leases of a failed attempt so that PagerDuty's
// redelivery can start at once: the event's, and the incident's creation
// lease unless conversations.create may have succeeded unseen (then it is
// left to expire, so no second channel is created meanwhile). It runs even
// when the budget is spent, bounded by its own short timeout, before the
// response is written.
func (a *attempt) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := a.store.Update(ctx, a.ev.IncidentID, a.ev.ID, func(st *State, er *EventRecord) (Change, error) {
		var ch Change
		if er.Owner == a.owner && !er.Done && !a.keepEventLease {
			er.Owner, er.LeaseUntil = "", time.Time{}
			ch |= ChangeEvent
		}
		if st.LeaseOwner == a.owner && !a.keepLease {
			st.LeaseOwner, st.LeaseUntil = "", time.Time{}
			if st.ChannelID == "" && a.earlierCreation.IsZero() && !st.CreatingSince.IsZero() {
				// This attempt started the creation and certainly made no
				// channel (conversations.create was not called, or was
				// refused): forget it, so the next attempt does not pay a
				// channel-list scan for an orphan that cannot exist.
				st.CreatingSince, st.CreatingNames = time.Time{}, nil
			}
			ch |= ChangeState
		}
		return ch, nil
	})
	if err != nil {
		a.log.WarnContext(ctx, "release leases", "incident_id", a.ev.IncidentID, "event_id", a.ev.ID, "error", err.Error())
	}
}

// releaseTimeout bounds the lease release after a failure; the request
// budget leaves room for it under PagerDuty's 5 s.
const releaseTimeout = 300 * time.Millisecond

// withSuffix returns name for the first try and name-N (within 80
// characters) for later ones.
func withSuffix(name string, try int) string {
	if try == 1 {
		return name
	}
	suffix := "-" + strconv.Itoa(try)
	if len(name)+len(suffix) > MaxChannelName {
		name = name[:MaxChannelName-len(suffix)]
	}
	return name + suffix
}

// steps collects what one reconcile round completed.
type steps struct {
	rootTS      string // set when the root was posted
	rootVersion int64  // the Version rendered, when the root was written
	rootWritten bool
	topic       string
	topicSet    bool
	bookmarks   []string
	// invitees are the route's users and groups invited.
	invitees []string
	// peopleDone are the PagerDuty users invited or reported.
	peopleDone []string
	// boards are the shared-channel messages posted or edited (a board
	// with no TS was given up: the channel refused it for good).
	boards []Board
	// goneBoards are board ts Slack said no longer exist.
	goneBoards []string
	summarized bool
	replyTS    string
	// goneRoot is the root ts Slack said no longer exists.
	goneRoot string
	// archived is set when Slack said the channel is archived.
	archived bool
	// maybeDone is set when a lease-protected step (root, bookmark)
	// failed in a way that leaves open whether Slack did it.
	maybeDone bool
	// replyMaybeDone is the same for the event's reply, protected by the
	// event's own lease.
	replyMaybeDone bool
	err            error
}

// thread is where the incident's updates are threaded: the root of its
// channel, or its post-only message.
type thread struct{ channelID, ts string }

// reconcile runs the plan's Slack calls, independent ones concurrently:
// {root or post-only message → summary → reply} ∥ topic ∥ bookmarks ∥
// {invites → note in the thread} ∥ each shared-channel message. Every
// goroutine ends before it returns.
func (a *attempt) reconcile(ctx context.Context, p Plan) *steps {
	st := a.st
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		done = &steps{}
	)
	locked := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		f()
	}
	fail := func(err error) {
		locked(func() {
			switch {
			case errors.Is(err, ErrChannelArchived):
				// Not a failure to retry: the channel is closed for good.
				done.archived = true
			case errors.Is(err, ErrRootGone):
				// The next round posts a new root.
				done.goneRoot = st.RootTS
			default:
				done.err = errors.Join(done.err, err)
			}
		})
	}
	bestEffort := func(what string, err error) bool {
		if err == nil {
			return true
		}
		if errors.Is(err, ErrChannelArchived) {
			fail(err)
			return false
		}
		if IsRetryable(err) {
			fail(err)
			return false
		}
		// A permanent failure of an optional step (a user who cannot be
		// invited, a rejected bookmark) must not block the incident's
		// webhooks for 48 hours: log it and go on.
		a.log.WarnContext(ctx, what+" failed; not retried", "incident_id", a.ev.IncidentID, "channel_id", st.ChannelID, "error", err.Error())
		return true
	}
	ch := st.ChannelID
	// A panic on a goroutine would kill the process: turn it into an error.
	safe := func(f func()) func() {
		return func() {
			defer func() {
				if p := recover(); p != nil {
					fail(fmt.Errorf("%w: %v", ErrPanic, p))
				}
			}()
			f()
		}
	}
	// post posts a thread reply unless a resumed attempt finds it posted.
	post := func(th thread, r Reply, find bool) (string, error) {
		if find {
			ts, err := a.slack.FindReply(ctx, th.channelID, th.ts, r.EventID)
			if err != nil || ts != "" {
				return ts, err
			}
		}
		ts, err := a.slack.PostReply(ctx, th.channelID, th.ts, r)
		if maybeDone(err) {
			locked(func() { done.replyMaybeDone = true })
		}
		return ts, err
	}
	entry := func(b Board) BoardEntry {
		e := BoardEntry{Incident: st.Snapshot, ChannelID: st.ChannelID, Thread: b.Thread}
		if b.Thread {
			for _, l := range st.History {
				if l.Early {
					e.Before = append(e.Before, l)
				}
			}
		}
		return e
	}
	// giveUp records that a shared channel refuses the incident's message
	// for good (a private channel the bot is not in, a deleted or archived
	// channel): it is logged and left alone rather than failing every
	// webhook of the incident for two days.
	giveUp := func(b Board, err error) {
		a.log.ErrorContext(ctx, "shared channel refuses the incident's message; giving it up", "incident_id", a.ev.IncidentID,
			"channel_id", b.ChannelID, "error", err.Error())
		b.GaveUp = true
		locked(func() { done.boards = append(done.boards, b) })
	}
	// postBoard posts a shared-channel message. The store first records
	// that it is being posted; a later attempt that finds it so looks
	// for a message posted but not recorded before posting one.
	postBoard := func(b Board) string {
		var ts string
		var err error
		if st.Board(b.ChannelID) >= 0 {
			ts, err = a.slack.FindBoard(ctx, b.ChannelID, st.Snapshot.ID)
		} else if err := a.markBoard(ctx, b); err != nil {
			fail(err)
			return ""
		}
		if err == nil && ts == "" {
			ts, err = a.slack.PostBoard(ctx, b.ChannelID, entry(b))
			if maybeDone(err) {
				locked(func() { done.maybeDone = true })
			}
		}
		switch {
		case IsRetryable(err):
			fail(err)
			return ""
		case err != nil:
			giveUp(b, err)
			return ""
		}
		b.TS, b.Version, b.HasChannel = ts, st.Version, st.ChannelID != ""
		locked(func() { done.boards = append(done.boards, b) })
		return ts
	}
	// The post-only message the updates are threaded under, if posted.
	posted := threadBoard(st)
	ready := make(chan thread, 1)
	wg.Go(safe(func() {
		var (
			th thread
			tb Board // the post-only message, when th is its thread
		)
		defer func() { ready <- th }()
		switch {
		case ch != "":
			th = thread{ch, st.RootTS}
			switch {
			case p.PostRoot:
				// A channel this attempt did not create may hold a root
				// that an earlier attempt posted but could not record:
				// adopt it (a later round brings it up to date) rather
				// than post a second one.
				if !a.createdChannel {
					ts, err := a.slack.FindRoot(ctx, ch, st.Snapshot.ID)
					if err != nil {
						fail(err)
						return
					}
					if ts != "" {
						locked(func() { done.rootTS = ts })
						th.ts = ts
						break
					}
				}
				ts, err := a.slack.PostRoot(ctx, ch, RootOf(st))
				if err != nil {
					fail(err)
					if maybeDone(err) {
						locked(func() { done.maybeDone = true })
					}
					return
				}
				locked(func() { done.rootTS, done.rootVersion, done.rootWritten = ts, st.Version, true })
				th.ts = ts
			case p.UpdateRoot:
				wg.Go(safe(func() {
					if err := a.slack.UpdateRoot(ctx, ch, st.RootTS, RootOf(st)); err != nil {
						fail(err)
						return
					}
					locked(func() { done.rootVersion, done.rootWritten = st.Version, true })
				}))
			}
		case posted != nil:
			tb = *posted
			th = thread{tb.ChannelID, tb.TS}
		case p.Thread() != nil:
			tb = *p.Thread()
			if tb.TS = postBoard(tb); tb.TS == "" {
				return
			}
			tb.Version, tb.HasChannel = st.Version, st.ChannelID != ""
			th = thread{tb.ChannelID, tb.TS}
		}
		if th.ts == "" {
			return
		}
		failThread := func(err error) {
			switch {
			case ch != "" || IsRetryable(err):
				fail(err)
			case errors.Is(err, ErrRootGone):
				// Someone deleted the post-only message: post it anew.
				locked(func() { done.goneBoards = append(done.goneBoards, th.ts) })
			default:
				// The post-only channel is archived or gone, or the bot
				// was removed from it: updates have nowhere to go until
				// the incident gets a channel of its own.
				giveUp(tb, err)
			}
		}
		if p.Summary != nil {
			ts, err := post(th, *p.Summary, !a.createdChannel)
			if err != nil {
				failThread(err)
				return
			}
			locked(func() { done.summarized = ts != "" })
		}
		if p.Reply != nil {
			// A resumed event's reply may have been posted by the attempt
			// that could not record it — in the post-only thread, when
			// the incident's channel opened since.
			var ts string
			if a.resumed && ch != "" && posted != nil {
				var err error
				if ts, err = a.slack.FindReply(ctx, posted.ChannelID, posted.TS, p.Reply.EventID); err != nil {
					fail(err)
					return
				}
			}
			if ts == "" {
				var err error
				if ts, err = post(th, *p.Reply, a.resumed); err != nil {
					failThread(err)
					return
				}
			}
			locked(func() { done.replyTS = ts })
		}
	}))
	for _, b := range p.Boards {
		if b.Thread && b.TS == "" && ch == "" {
			continue // posted above, before the replies threaded under it
		}
		wg.Go(safe(func() {
			if b.TS == "" {
				postBoard(b)
				return
			}
			err := a.slack.UpdateBoard(ctx, b.ChannelID, b.TS, entry(b))
			switch {
			case err == nil:
				b.Version, b.HasChannel = st.Version, st.ChannelID != ""
				locked(func() { done.boards = append(done.boards, b) })
			case errors.Is(err, ErrRootGone):
				// Someone deleted the message: the next round posts it anew.
				locked(func() { done.goneBoards = append(done.goneBoards, b.TS) })
			case IsRetryable(err):
				fail(err)
			default:
				giveUp(b, err)
			}
		}))
	}
	if p.Topic != "" {
		wg.Go(safe(func() {
			if bestEffort("set topic", a.slack.SetTopic(ctx, ch, p.Topic)) {
				locked(func() { done.topic, done.topicSet = p.Topic, true })
			}
		}))
	}
	if len(p.Bookmarks) > 0 {
		wg.Go(safe(func() {
			// In a channel this attempt did not create, an earlier attempt
			// may have added bookmarks it could not record.
			var have []string
			if !a.createdChannel {
				var err error
				if have, err = a.slack.Bookmarks(ctx, ch); !bestEffort("list bookmarks", err) {
					return
				}
			}
			for _, b := range p.Bookmarks {
				if slices.Contains(have, b.Link) {
					locked(func() { done.bookmarks = append(done.bookmarks, b.Link) })
					continue
				}
				wg.Go(safe(func() {
					err := a.slack.AddBookmark(ctx, ch, b)
					if maybeDone(err) {
						locked(func() { done.maybeDone = true })
					}
					if bestEffort("add bookmark", err) {
						locked(func() { done.bookmarks = append(done.bookmarks, b.Link) })
					}
				}))
			}
		}))
	}
	if len(p.Invite)+len(p.InviteGroups)+len(p.InvitePeople) > 0 {
		wg.Go(safe(func() {
			cannot, err := a.invite(ctx, ch, p)
			if err != nil {
				fail(err)
				return
			}
			if len(cannot) > 0 {
				// One short line in the thread names who is missing, so
				// responders know whom to fetch by hand.
				th := <-ready
				if th.ts == "" {
					return // the thread failed; a redelivery invites again
				}
				headline := "Could not add to this channel: " + strings.Join(cannot, ", ")
				// Keyed by what it says: an attempt that invites the same
				// people again after a failure finds the line it posted.
				sum := sha256.Sum256([]byte(a.ev.IncidentID + "\n" + headline))
				note := Reply{Headline: headline, EventID: "invites-" + hex.EncodeToString(sum[:8])}
				if _, err := post(th, note, true); err != nil {
					fail(err)
					return
				}
			}
			locked(func() {
				done.invitees = append(done.invitees, p.Invite...)
				done.invitees = append(done.invitees, p.InviteGroups...)
				for _, r := range p.InvitePeople {
					done.peopleDone = append(done.peopleDone, r.ID)
				}
			})
		}))
	}
	wg.Wait()
	return done
}

// markBoard records that this attempt sets out to post the incident's
// message in a shared channel.
func (a *attempt) markBoard(ctx context.Context, b Board) error {
	err := a.store.Update(ctx, a.ev.IncidentID, "", func(st *State, _ *EventRecord) (Change, error) {
		if st.Board(b.ChannelID) >= 0 {
			return 0, nil
		}
		st.Boards = append(st.Boards, Board{ChannelID: b.ChannelID, Thread: b.Thread})
		return ChangeState, nil
	})
	if err != nil {
		return fmt.Errorf("record posting in %s: %w", b.ChannelID, err)
	}
	return nil
}

// invite invites the plan's Slack users, the members of its user groups
// and the Slack users of its PagerDuty users to the channel. It returns
// who could not be added, named for people, and an error only when a
// redelivery may do better (rate limit, outage, archived channel).
func (a *attempt) invite(ctx context.Context, channelID string, p Plan) (cannot []string, err error) {
	// The look-ups are independent: run them at once, so the invite waits
	// for the slowest, not for their sum.
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		errs  error
		users = slices.Clone(p.Invite)
		names = map[string]string{} // Slack user id → PagerDuty name
	)
	add := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	for _, g := range p.InviteGroups {
		wg.Go(func() {
			members, err := a.slack.GroupMembers(ctx, g)
			switch {
			case IsRetryable(err):
				add(func() { errs = errors.Join(errs, err) })
			case err != nil:
				a.log.WarnContext(ctx, "cannot list user group members", "incident_id", a.ev.IncidentID, "group", g, "error", err.Error())
				reason := "cannot be read"
				if errors.Is(err, ErrGroupNotFound) {
					reason = "not found"
				}
				add(func() { cannot = append(cannot, "user group "+g+" ("+reason+")") })
			default:
				add(func() { users = append(users, members...) })
			}
		})
	}
	if len(p.InvitePeople) > 0 {
		wg.Go(func() {
			found, missing, err := a.cfg.Directory.SlackUsers(ctx, p.InvitePeople)
			if IsRetryable(err) {
				add(func() { errs = errors.Join(errs, err) })
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// A refused PagerDuty token, say: retrying will not help.
				// Responders learn from the thread whom to fetch by hand.
				a.log.ErrorContext(ctx, "cannot look up PagerDuty users; they are not invited", "incident_id", a.ev.IncidentID, "error", err.Error())
				for _, r := range p.InvitePeople {
					cannot = append(cannot, orDash(r.Summary)+" (look-up failed; see the function's logs)")
				}
			}
			for _, r := range p.InvitePeople {
				if id, ok := found[r.ID]; ok {
					users = append(users, id)
					names[id] = r.Summary
				}
			}
			for _, m := range missing {
				cannot = append(cannot, orDash(m.User.Summary)+" ("+m.Reason+")")
			}
		})
	}
	wg.Wait()
	if errs != nil {
		return nil, errs
	}
	// The same people give the same line, whatever order they answered
	// in: the note is keyed by its text.
	slices.Sort(cannot)
	slices.Sort(users)
	users = slices.Compact(users)
	if len(users) == 0 {
		return cannot, nil
	}
	failed, err := a.slack.Invite(ctx, channelID, users)
	if IsRetryable(err) || errors.Is(err, ErrChannelArchived) {
		return nil, err
	}
	if err != nil {
		a.log.WarnContext(ctx, "invite users failed; not retried", "incident_id", a.ev.IncidentID, "channel_id", channelID, "error", err.Error())
	}
	for _, f := range failed {
		name := names[f.UserID]
		if name == "" {
			name = f.UserID
		}
		cannot = append(cannot, name+" ("+f.Reason+")")
	}
	return cannot, nil
}

// commit records what a round completed in one transaction, even when
// other steps failed, so a redelivery does not repeat it. When nothing is
// left to do the event is marked done in the same transaction. It returns
// the re-renders this attempt owes because the snapshot moved on while it
// was writing.
func (a *attempt) commit(ctx context.Context, done *steps) (force, error) {
	// Decided before the transaction: if it fails, release must still
	// keep the lease of a step Slack may have carried out unseen.
	if done.maybeDone {
		a.keepLease = true
	}
	if done.replyMaybeDone {
		a.keepEventLease = true
	}
	var f force
	err := a.store.Update(ctx, a.ev.IncidentID, a.ev.ID, func(st *State, er *EventRecord) (Change, error) {
		f = force{}
		// The incident document is written only when this changes it: an
		// event that only posted a reply (a note) writes its own record.
		before := st.Clone()
		var ch Change
		if done.rootTS != "" && st.RootTS == "" {
			st.RootTS = done.rootTS
		}
		if st.LeaseOwner == a.owner && !done.maybeDone {
			// Release even after a failure: a redelivery need not wait
			// for the lease to expire. The channel id is recorded, so
			// nobody creates a second one. After a root or bookmark
			// Slack may have carried out unseen, the lease is left to
			// expire instead, so the next attempt's lookup sees it.
			st.LeaseOwner, st.LeaseUntil = "", time.Time{}
		}
		if done.rootWritten {
			// Recording the rendered version, even an old one, marks the
			// root stale whenever our write may have landed last.
			st.RootVersion = done.rootVersion
			f.root = done.rootVersion != st.Version
		}
		if done.topicSet {
			st.Topic = done.topic
			f.topic = done.topic != Topic(st.Snapshot)
		}
		for _, b := range done.bookmarks {
			if !slices.Contains(st.Bookmarks, b) {
				st.Bookmarks = append(st.Bookmarks, b)
			}
		}
		for _, id := range done.invitees {
			if !slices.Contains(st.Invitees, id) {
				st.Invitees = append(st.Invitees, id)
			}
		}
		for _, id := range done.peopleDone {
			if !slices.Contains(st.PeopleDone, id) {
				st.PeopleDone = append(st.PeopleDone, id)
			}
		}
		for _, b := range done.boards {
			// An edit rendered from an older version may have landed after
			// a newer one: render again.
			f.boards = f.boards || (b.TS != "" && !b.GaveUp && b.Version != st.Version)
			switch i := st.Board(b.ChannelID); {
			case i < 0:
				st.Boards = append(st.Boards, b)
			case st.Boards[i].TS == b.TS, st.Boards[i].TS == "" && !st.Boards[i].GaveUp:
				// The same message, or the one this attempt set out to post.
				st.Boards[i] = b
			}
		}
		st.Boards = slices.DeleteFunc(st.Boards, func(b Board) bool { return b.TS != "" && slices.Contains(done.goneBoards, b.TS) })
		if done.summarized {
			// History stays: the root message shows it.
			st.Summarized = true
		}
		if done.archived {
			st.ChannelArchived = true
		}
		if done.goneRoot != "" && st.RootTS == done.goneRoot {
			st.RootTS, st.RootVersion = "", 0
		}
		if done.replyTS != "" && er.ReplyTS == "" {
			er.ReplyTS = done.replyTS
			ch |= ChangeEvent
		}
		if !stateEqual(before, *st) {
			ch |= ChangeState
		}
		if done.err == nil && !f.root && !f.topic && !f.boards {
			if p := Decide(*st, *er, a.ev, a.cfg); p.Empty() {
				er.Done, er.Owner, er.LeaseUntil = true, "", time.Time{}
				ch |= ChangeEvent
				if st.ChannelID == "" && !st.Deferred {
					st.Deferred = true
					ch |= ChangeState
				}
			}
		}
		a.st, a.er = st.Clone(), *er
		return ch, nil
	})
	if err != nil {
		return f, fmt.Errorf("record progress of event %s: %w", a.ev.ID, err)
	}
	if done.archived {
		a.log.WarnContext(ctx, "channel archived: nothing more is posted for this incident",
			"incident_id", a.ev.IncidentID, "channel_id", a.st.ChannelID, "event_id", a.ev.ID)
	}
	if done.goneRoot != "" {
		a.log.WarnContext(ctx, "root message deleted: posting a new one",
			"incident_id", a.ev.IncidentID, "channel_id", a.st.ChannelID)
	}
	return f, nil
}

// IsRetryable reports whether err is worth a redelivery: Slack rate limits,
// 5xx and timeouts, a busy lease, or an unavailable store. The HTTP handler
// answers 503 for these.
func IsRetryable(err error) bool {
	var re *RetryableError
	return errors.As(err, &re) || errors.Is(err, ErrBusy) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// stateEqual compares the fields commit changes.
func stateEqual(a, b State) bool {
	return a.RootTS == b.RootTS && a.RootVersion == b.RootVersion && a.LeaseOwner == b.LeaseOwner &&
		a.LeaseUntil.Equal(b.LeaseUntil) && a.Topic == b.Topic && slices.Equal(a.Bookmarks, b.Bookmarks) &&
		slices.Equal(a.Invitees, b.Invitees) && a.ChannelArchived == b.ChannelArchived &&
		slices.Equal(a.PeopleDone, b.PeopleDone) && slices.Equal(a.Boards, b.Boards) &&
		a.Summarized == b.Summarized && len(a.History) == len(b.History) && a.Deferred == b.Deferred
}

// maybeDone reports whether a failed Slack call may have taken effect.
func maybeDone(err error) bool {
	var re *RetryableError
	return errors.As(err, &re) && re.MaybeDone
}

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
