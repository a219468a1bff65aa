package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RecallWait is how long a new channel's root waits, once the channel
// exists, for the look-up of similar past incidents begun beside its
// creation. The look-up (one store query and, with a PagerDuty token,
// one PagerDuty call) is usually done by then; one that is not is
// dropped rather than hold up the root.
const RecallWait = 250 * time.Millisecond

// recallFromPagerDuty is how many past incidents PagerDuty is asked for.
const recallFromPagerDuty = 5

// ErrNotOnPlan means the PagerDuty account does not have the feature
// asked for (Past Incidents needs Event Intelligence or Digital
// Operations): PagerDuty answered 402 or 403. The look-up then uses the
// function's own memory only, and says nothing.
var ErrNotOnPlan = errors.New("not on this PagerDuty plan")

// recall is the look-up of similar past incidents of one round: the own
// memory and PagerDuty's asked at once.
type recall struct {
	cancel  context.CancelFunc
	own, pd chan []PastIncident // each sent once, then closed
	past    []PastIncident
	ok      bool
}

// startRecall starts the plan's look-up of past incidents, if it has one.
func (x *executor) startRecall(ctx context.Context) {
	cfg := x.a.cfg
	if !x.p.Recall || cfg.Memory == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &recall{cancel: cancel, own: make(chan []PastIncident, 1), pd: make(chan []PastIncident, 1)}
	x.recall = r
	inc := x.st.Snapshot
	x.goLookup(ctx, r.own, func() ([]PastIncident, error) {
		past, err := cfg.Memory.Recall(ctx, inc.Service.ID, recallCandidates)
		if err != nil {
			err = fmt.Errorf("recall past incidents of service %s: %w", inc.Service.ID, err)
		}
		return past, err
	})
	if cfg.PastIncidents == nil {
		close(r.pd)
	} else {
		x.goLookup(ctx, r.pd, func() ([]PastIncident, error) {
			past, err := cfg.PastIncidents.PastIncidents(ctx, inc.ID, recallFromPagerDuty)
			if errors.Is(err, ErrNotOnPlan) {
				return nil, nil // own memory only, quietly
			}
			return past, err
		})
	}
}

// goLookup runs one look-up on its own goroutine and sends what it found
// on out. A failure or panic is logged: past incidents are advice, and
// a channel opens without them.
func (x *executor) goLookup(ctx context.Context, out chan<- []PastIncident, f func() ([]PastIncident, error)) {
	go func() {
		defer close(out)
		defer func() {
			if p := recover(); p != nil {
				x.a.log.ErrorContext(ctx, "look-up of past incidents panicked", "incident_id", x.a.ev.IncidentID, "error", fmt.Sprint(p))
			}
		}()
		past, err := f()
		if err != nil {
			x.a.log.WarnContext(ctx, "look-up of past incidents failed; the channel opens without them", "incident_id", x.a.ev.IncidentID, "error", err.Error())
		}
		out <- past
	}()
}

// recalled returns the similar past incidents for the root about to be
// posted: what the look-up found by now, or within RecallWait more; none
// when it takes longer (then it is given up).
func (x *executor) recalled(ctx context.Context) []PastIncident {
	r := x.recall
	if r == nil {
		return nil
	}
	if !r.ok {
		r.past, r.ok = x.awaitRecall(ctx, r)
		if !r.ok {
			x.a.log.InfoContext(ctx, "look-up of past incidents too slow; the root is posted without them", "incident_id", x.a.ev.IncidentID)
		}
	}
	return r.past
}

// awaitRecall waits for both look-ups, at most RecallWait.
func (x *executor) awaitRecall(ctx context.Context, r *recall) ([]PastIncident, bool) {
	timer := time.NewTimer(x.a.cfg.RecallWait)
	defer timer.Stop()
	own, pd := r.own, r.pd
	var mine, theirs []PastIncident
	for own != nil || pd != nil {
		select {
		case p, ok := <-own:
			if ok {
				mine = p
			} else {
				own = nil
			}
		case p, ok := <-pd:
			if ok {
				theirs = p
			} else {
				pd = nil
			}
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
	return Recalled(x.st.Snapshot, mine, theirs), true
}

// endRecall stops the look-up, if it still runs, and waits for its
// goroutines: none outlives the round.
func (x *executor) endRecall() {
	r := x.recall
	if r == nil {
		return
	}
	r.cancel()
	for range r.own {
	}
	for range r.pd {
	}
}
