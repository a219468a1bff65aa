package incident

import (
	"context"
	"fmt"
	"time"
)

// SweepReport says what one sweep did.
type SweepReport struct {
	// Due is how many channels were due for archiving; Archived how many
	// of them the sweep archived; Failed how many it could not (a rate
	// limit, an outage: the next sweep tries again); Left how many it had
	// no time for.
	Due, Archived, Failed, Left int
}

// sweepBatch bounds the incidents one sweep looks at.
const sweepBatch = 500

// sweepEach is the budget of the sweep's work on one incident.
const sweepEach = 5 * time.Second

// Sweep archives the channels of incidents resolved ArchiveAfter before
// now, oldest first, while ctx's deadline leaves time. Each archive is a
// ledger effect under the incident's lease, so two sweeps at once, or a
// sweep stopped half-way and run again, archive each channel once; an
// incident reopened meanwhile is no longer due. Without ArchiveAfter it
// does nothing.
func (s *Service) Sweep(ctx context.Context, now time.Time) (SweepReport, error) {
	var rep SweepReport
	if s.cfg.ArchiveAfter <= 0 {
		return rep, nil
	}
	ids, err := s.store.Due(ctx, now.Add(-s.cfg.ArchiveAfter), sweepBatch)
	if err != nil {
		return rep, fmt.Errorf("list incidents due for archiving: %w", err)
	}
	rep.Due = len(ids)
	for i, id := range ids {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < recordReserve+minWork {
			rep.Left = len(ids) - i
			break
		}
		ev := &Event{ID: "sweep", Type: EventSweep, OccurredAt: now, IncidentID: id}
		a := &attempt{Service: s, ev: ev, owner: newOwner()}
		ictx, cancel := context.WithTimeout(ctx, sweepEach)
		_, err := a.run(ictx)
		cancel()
		switch {
		case err != nil:
			rep.Failed++
			s.log.WarnContext(ctx, "sweep: channel not archived; the next sweep tries again", "incident_id", id, "error", err.Error())
		case a.st.Closed:
			rep.Archived++
			s.log.InfoContext(ctx, "sweep: channel archived", "incident_id", id, "channel_id", a.st.ChannelID)
		}
	}
	return rep, nil
}
