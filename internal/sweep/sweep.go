// Package sweep is the endpoint of the periodic work a Cloud Function
// cannot do after it answered (its CPU stops then): Cloud Scheduler POSTs
// Path every 15 minutes with an OIDC ID token Google signed for a service
// account, and the handler checks the token and runs a Sweeper within a
// budget. The package knows nothing of what a sweep does; the function
// composes the Sweeper.
package sweep

import (
	"context"
	"log/slog"
	"time"
)

// Path is where the function serves the sweep.
const Path = "/tasks/sweep"

// DefaultBudget bounds one sweep. Cloud Scheduler, unlike PagerDuty,
// waits longer than 5 s; the function's timeout must exceed it.
const DefaultBudget = 50 * time.Second

// Sweeper does the periodic work once. It stops when ctx ends and reports
// what it did; an error means work was left that the next run resumes.
type Sweeper interface {
	Sweep(ctx context.Context) (Report, error)
}

// Func adapts a function to a Sweeper.
type Func func(ctx context.Context) (Report, error)

// Sweep implements Sweeper.
func (f Func) Sweep(ctx context.Context) (Report, error) { return f(ctx) }

// Report says what one sweep did.
type Report struct {
	// Due counts the channels whose time had come.
	Due int
	// Archived counts the channels archived by this sweep.
	Archived int
	// Failed counts the due channels it could not archive (a rate limit,
	// an outage); the next sweep tries again.
	Failed int
	// Left counts the due channels it had no time for.
	Left int
	// Reminded counts the channels reminded to post a status update.
	Reminded int
	// Duration is how long the sweep took; Run sets it.
	Duration time.Duration
}

// LogAttrs are the report's fields for a log line: due, archived,
// failed, left, reminded and sweep_ms.
func (r Report) LogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.Int("due", r.Due), slog.Int("archived", r.Archived), slog.Int("failed", r.Failed), slog.Int("left", r.Left),
		slog.Int("reminded", r.Reminded), slog.Float64("sweep_ms", milliseconds(r.Duration)),
	}
}

// Run runs s once, for at most budget, and returns its report with
// Duration set.
func Run(ctx context.Context, s Sweeper, budget time.Duration) (Report, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	r, err := s.Sweep(ctx)
	r.Duration = time.Since(start)
	return r, err
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
