package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
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

// LeaseTTL bounds how long one attempt may hold the incident's lease. It
// is longer than any request budget, so a live holder never loses it,
// and short enough that a crashed holder delays the next redelivery only
// briefly.
const LeaseTTL = 15 * time.Second

// LeaseMargin is how long a lease outlasts its holder's deadline: the
// clock skew between instances that the lease tolerates, and time for a
// call cut off at the deadline to settle in Slack.
const LeaseMargin = time.Second

// maxRounds bounds how often one request plans again while concurrent
// deliveries keep moving the incident forward.
const maxRounds = 4

// Service records events and brings Slack in line with the stored state.
type Service struct {
	store Store
	slack Slack
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
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
	if cfg.LeaseMargin <= 0 {
		cfg.LeaseMargin = LeaseMargin
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.RecallWait <= 0 {
		cfg.RecallWait = RecallWait
	}
	return &Service{store: store, slack: slack, cfg: cfg, log: log, now: time.Now}
}

// Result describes a handled event for the request log.
type Result struct {
	Outcome   Outcome
	ChannelID string
}

// Handle records ev and brings Slack in line with it. It returns when the
// work is complete or ctx ends. Any error means the work is unfinished
// and a redelivery of the same event resumes it from the ledger, so the
// caller answers 503 (KindOf tells transient from maybe-done, RetryAfter
// how long Slack asked to wait); ErrPanic alone marks a bug.
func (s *Service) Handle(ctx context.Context, ev *Event) (Result, error) {
	if !ev.Handled() {
		return Result{Outcome: OutcomeIgnored}, nil
	}
	if m := ev.Incident.MergedInto; m.ID != "" && ev.Incident.Status == StatusResolved {
		// Decide plans the note in the survivor's thread and the link
		// to it from what the store holds of it.
		sv, _, err := s.store.Get(ctx, m.ID, "")
		if err != nil {
			return Result{}, fmt.Errorf("read incident %s merged into: %w", m.ID, err)
		}
		merged := *ev
		merged.Survivor = &Survivor{ID: m.ID, ChannelID: sv.ChannelID, RootTS: sv.RootTS, ChannelArchived: sv.ChannelArchived}
		ev = &merged
	}
	a := &attempt{Service: s, ev: ev, owner: NewOwner()}
	return a.run(ctx)
}

// attempt is one request's work on one event.
type attempt struct {
	*Service
	ev    *Event
	owner string
	// st and er are the state and event record as the last transaction
	// left them.
	st State
	er EventRecord
	// maybeDone is set once a call of this attempt may still land in
	// Slack (no answer came): its ledger entries then wait out their
	// Until. Otherwise every call it made has answered, and a failed
	// attempt leaves its entries to be looked up at once.
	maybeDone bool
}

func (a *attempt) run(ctx context.Context) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
		if err != nil {
			a.release(ctx)
		}
		res.ChannelID = a.st.ChannelID
	}()
	// Slack calls stop early enough to leave time to record what they did:
	// an effect Slack carried out but nobody recorded is only found again
	// by a look-up.
	slackCtx, cancel := reserve(ctx, recordReserve)
	defer cancel()
	next, err := a.begin(ctx)
	if err != nil {
		return Result{}, err
	}
	if next.duplicate {
		return Result{Outcome: OutcomeDuplicate}, nil
	}
	for round := 0; ; round++ {
		if next.busy {
			if next, err = a.wait(ctx); err != nil {
				return Result{}, err
			}
		}
		if next.done {
			break
		}
		if round == maxRounds {
			return Result{}, fmt.Errorf("event %s: %w: the incident kept moving for %d rounds", a.ev.ID, ErrBusy, maxRounds)
		}
		r := a.execute(slackCtx, next.plan)
		if next, err = a.finish(ctx, r); err != nil {
			return Result{}, err
		}
		if r.Err != nil {
			return Result{}, r.Err
		}
	}
	return Result{Outcome: OutcomeProcessed}, nil
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

// NewOwner is a random name for an attempt or a request, as ledger
// entries and claims record their owner: the one way to name one.
func NewOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
