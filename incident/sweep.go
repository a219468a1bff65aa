package incident

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// SweepReport says what one sweep did.
type SweepReport struct {
	// Due is how many channels were due for archiving; Archived how many
	// of them the sweep archived; Failed how many incidents it could not
	// bring in line (a rate limit, an outage: the next sweep tries again);
	// Left how many it had no time for.
	Due, Archived, Failed, Left int
	// RemindersDue is how many channels were due a reminder to post a
	// status update; Reminded how many the sweep reminded.
	RemindersDue, Reminded int
}

// sweepBatch bounds the incidents one sweep looks at.
const sweepBatch = 500

// sweepEach is the budget of the sweep's work on one incident.
const sweepEach = 5 * time.Second

// Sweep archives the channels of incidents resolved ArchiveAfter before
// now, oldest first, and reminds the channels of unresolved incidents
// without a status update for their Reminders interval, while ctx's
// deadline leaves time. Each archive and reminder is a ledger effect
// under the incident's lease, so two sweeps at once, or a sweep stopped
// half-way and run again, archive each channel and post each reminder
// once; an incident reopened (or resolved) meanwhile is no longer due.
// Without ArchiveAfter and Reminders it does nothing.
func (s *Service) Sweep(ctx context.Context, now time.Time) (SweepReport, error) {
	var rep SweepReport
	var ids []string
	if s.cfg.ArchiveAfter > 0 {
		due, err := s.store.Due(ctx, now.Add(-s.cfg.ArchiveAfter), sweepBatch)
		if err != nil {
			return rep, fmt.Errorf("list incidents due for archiving: %w", err)
		}
		rep.Due, ids = len(due), due
	}
	remind, err := s.dueReminders(ctx, now)
	if err != nil {
		return rep, err
	}
	rep.RemindersDue = len(remind)
	for _, id := range remind {
		// A resolved incident is never due a reminder: the lists are
		// apart.
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < recordReserve+minWork {
			rep.Left = len(ids) - i
			break
		}
		ev := &Event{ID: "sweep", Type: EventSweep, OccurredAt: now, IncidentID: id}
		a := &attempt{Service: s, ev: ev, owner: NewOwner()}
		ictx, cancel := context.WithTimeout(ctx, sweepEach)
		_, err := a.run(ictx)
		cancel()
		switch {
		case err != nil:
			rep.Failed++
			s.log.WarnContext(ctx, "sweep: incident not brought in line; the next sweep tries again", "incident_id", id, "error", err.Error())
		case a.st.Closed && a.st.Snapshot.Status == StatusResolved:
			rep.Archived++
			s.log.InfoContext(ctx, "sweep: channel archived", "incident_id", id, "channel_id", a.st.ChannelID)
		case a.st.RemindedAt.Equal(now):
			rep.Reminded++
			s.log.InfoContext(ctx, "sweep: reminded to post a status update", "incident_id", id, "channel_id", a.st.ChannelID)
		}
	}
	return rep, nil
}
