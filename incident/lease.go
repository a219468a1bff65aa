package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// One lease per incident covers all of its Slack work. Each transaction
// of an attempt is step: it records what the last round did, decides
// what is left (Decide), and takes or keeps the lease for it, recording
// the posts it sets out to do in the ledger first. A waiter polls with
// plain reads and opens a transaction only when the lease looks free, so
// it never locks what the holder is about to write.

// next is what a transaction leaves the attempt to do.
type next struct {
	plan Plan
	// done: nothing is left; the event is recorded done.
	done bool
	// duplicate: the event was done before this attempt.
	duplicate bool
	// busy: another attempt holds the lease.
	busy bool
}

// begin records the event and, when Slack work is owed and the lease is
// free, takes the lease.
func (a *attempt) begin(ctx context.Context) (next, error) {
	return a.txn(ctx, func(st *State, er *EventRecord, now time.Time) (Change, next) {
		if er.Exists && er.Done {
			return 0, next{duplicate: true}
		}
		if a.ev.Type == EventSweep {
			if !st.Exists {
				return 0, next{done: true}
			}
			return a.step(ctx, st, er, nil, now)
		}
		ch := Record(st, er, a.ev)
		c, n := a.step(ctx, st, er, nil, now)
		return ch | c, n
	})
}

// finish records what a round did and, when more is owed, keeps the
// lease for the next round; otherwise it marks the event done or, after
// a failure, releases the lease.
func (a *attempt) finish(ctx context.Context, r Results) (next, error) {
	n, err := a.txn(ctx, func(st *State, er *EventRecord, now time.Time) (Change, next) {
		return a.step(ctx, st, er, &r, now)
	})
	if err == nil && r.Archived {
		a.log.WarnContext(ctx, "channel archived: nothing more is posted for this incident",
			"incident_id", a.ev.IncidentID, "channel_id", a.st.ChannelID, "event_id", a.ev.ID)
	}
	if err == nil && r.RootGone != "" {
		a.log.WarnContext(ctx, "root message deleted: posting a new one", "incident_id", a.ev.IncidentID, "channel_id", a.st.ChannelID)
	}
	return n, err
}

// txn runs fn in one store transaction on the incident and the event and
// keeps what it left in a.st and a.er.
func (a *attempt) txn(ctx context.Context, fn func(st *State, er *EventRecord, now time.Time) (Change, next)) (next, error) {
	now := a.now()
	var n next
	err := a.store.Update(ctx, a.ev.IncidentID, a.eventID(), func(st *State, er *EventRecord) (Change, error) {
		// The function may run more than once: set every output anew.
		var ch Change
		ch, n = fn(st, er, now)
		a.st, a.er = st.Clone(), *er
		return ch, nil
	})
	if err != nil {
		return next{}, fmt.Errorf("update incident %s for event %s: %w", a.ev.IncidentID, a.ev.ID, err)
	}
	return n, nil
}

// step is the body of every transaction after the event is recorded: it
// applies r (nil before the first round), decides what is left and takes
// or keeps the lease for it. It is a function of its arguments and the
// attempt's identity only.
func (a *attempt) step(ctx context.Context, st *State, er *EventRecord, r *Results, now time.Time) (Change, next) {
	var ch Change
	if r != nil {
		ch = Apply(st, er, *r)
	}
	mine := st.LeaseOwner == a.owner
	free := func() {
		if mine {
			st.LeaseOwner, st.LeaseUntil = "", time.Time{}
			ch |= ChangeState
		}
	}
	if r != nil && r.Err != nil {
		// A failed round ends the attempt; the redelivery may start at
		// once. An effect that may have landed unseen keeps its ledger
		// entry in flight until its Until, so the look-up sees what
		// happened; edits need none (the next attempt edits again).
		free()
		return ch, next{}
	}
	p := Decide(*st, *er, a.ev, a.cfg)
	if p.Empty() {
		er.Done, er.Owner = true, ""
		ch |= ChangeEvent
		if st.ChannelID == "" && !st.LateChannel {
			// Completed without a channel of its own: a channel opened
			// later owes a summary.
			st.LateChannel = true
			ch |= ChangeState
		}
		free()
		return ch, next{done: true}
	}
	if (!mine && st.LeaseOwner != "" && now.Before(st.LeaseUntil)) || inFlightElsewhere(*st, *er, p, a.owner, now) {
		free()
		return ch, next{busy: true}
	}
	until := a.leaseEnd(ctx, now)
	st.LeaseOwner, st.LeaseUntil = a.owner, until
	markInFlight(st, p, a.owner, now, until)
	if p.Reply != nil {
		er.Owner, er.Until = a.owner, until
		ch |= ChangeEvent
	}
	return ch | ChangeState, next{plan: p}
}

// leaseEnd is when a lease taken now ends: LeaseTTL from now, and never
// before this attempt's own deadline and the margin have passed, so no
// second attempt can take over the incident while this one may still act.
func (a *attempt) leaseEnd(ctx context.Context, now time.Time) time.Time {
	end := now.Add(a.cfg.LeaseTTL)
	if dl, ok := ctx.Deadline(); ok {
		if min := dl.Add(releaseTimeout + a.cfg.LeaseMargin); min.After(end) {
			end = min
		}
	}
	return end
}

// wait polls the incident with plain reads while another attempt holds
// the lease, or may still be carrying out an effect the plan needs, and
// the budget leaves time to do the work after it; then it takes the
// lease in a transaction.
func (a *attempt) wait(ctx context.Context) (next, error) {
	for {
		st, er, err := a.store.Get(ctx, a.ev.IncidentID, a.eventID())
		if err != nil {
			return next{}, fmt.Errorf("read incident %s: %w", a.ev.IncidentID, err)
		}
		if er.Done {
			return next{done: true}, nil // another attempt finished the event
		}
		now := a.now()
		free := st.LeaseOwner == "" || !now.Before(st.LeaseUntil)
		if free && !inFlightElsewhere(st, er, Decide(st, er, a.ev, a.cfg), a.owner, now) {
			n, err := a.txn(ctx, func(st *State, er *EventRecord, now time.Time) (Change, next) {
				if er.Done {
					return 0, next{done: true}
				}
				return a.step(ctx, st, er, nil, now)
			})
			if err != nil || !n.busy {
				return n, err
			}
		}
		// Wait while enough budget remains to do the work after the
		// holder: a round of Slack calls and the time to record it.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < recordReserve+minWork+a.cfg.Poll {
			if now.Before(st.LeaseUntil) {
				return next{}, fmt.Errorf("incident %s: %w (lease held until %s)", a.ev.IncidentID, ErrBusy, st.LeaseUntil.Format(time.RFC3339))
			}
			// Free, but an effect the plan needs may still land: its
			// entry is waited out.
			return next{}, fmt.Errorf("incident %s: %w (waiting for an effect an earlier attempt may still complete)", a.ev.IncidentID, ErrBusy)
		}
		select {
		case <-ctx.Done():
			return next{}, fmt.Errorf("incident %s: %w", a.ev.IncidentID, ErrBusy)
		case <-time.After(a.cfg.Poll):
		}
	}
}

// release gives up the lease of a failed attempt, so that PagerDuty's
// redelivery can start at once. The ledger keeps what the attempt set
// out to do; unless a call may still land, its entries may be looked up
// at once. It runs even when the budget is spent, bounded by its own short
// timeout, before the response is written.
func (a *attempt) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := a.store.Update(ctx, a.ev.IncidentID, a.eventID(), func(st *State, er *EventRecord) (Change, error) {
		var ch Change
		if st.LeaseOwner == a.owner {
			st.LeaseOwner, st.LeaseUntil = "", time.Time{}
			ch |= ChangeState
		}
		if a.maybeDone {
			return ch, nil
		}
		for i := range st.Ledger {
			if e := &st.Ledger[i]; e.Owner == a.owner && !e.Until.IsZero() {
				e.Until = time.Time{}
				ch |= ChangeState
			}
		}
		if er.Exists && er.Owner == a.owner && !er.Until.IsZero() {
			er.Until = time.Time{}
			ch |= ChangeEvent
		}
		return ch, nil
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.log.WarnContext(ctx, "release lease", "incident_id", a.ev.IncidentID, "event_id", a.ev.ID, "error", err.Error())
	}
}

// minWork is the least budget worth starting a round of Slack calls with
// after waiting for the lease: a round trip or two on a slow day.
const minWork = 400 * time.Millisecond

// releaseTimeout bounds the lease release after a failure; the request
// budget leaves room for it under PagerDuty's 5 s.
const releaseTimeout = 300 * time.Millisecond

// eventID is the event record the attempt keeps: none for the sweep.
func (a *attempt) eventID() string {
	if a.ev.Type == EventSweep {
		return ""
	}
	return a.ev.ID
}
