package perf

import (
	"context"
	"fmt"
	"time"

	"github.com/incident-channels/incident-channels/internal/soak"
)

// Seeds of soak.Lifecycle, one per section, so incident ids differ.
const (
	seedCritical = 101
	seedCalls    = 202
	seedDup      = 303
	seedProcess  = 404
	seedScale    = 505
)

// critical measures the critical path against the fake Slack's latency L:
// a new incident is create → {root ∥ topic ∥ bookmarks ∥ invite}, two
// round trips; a status change {update ∥ reply ∥ topic}, one.
func (rn *runner) critical(ctx context.Context) error {
	var trig, ack []Row
	for _, l := range rn.o.Latencies {
		t, a, err := rn.criticalAt(ctx, l)
		if err != nil {
			return fmt.Errorf("L=%v: %w", l, err)
		}
		trig, ack = append(trig, t), append(ack, a)
	}
	for _, r := range append(trig, ack...) {
		rn.rep.add(r)
	}
	return nil
}

func (rn *runner) criticalAt(ctx context.Context, l time.Duration) (trig, ack Row, err error) {
	in, err := rn.newFunction(ctx, nil)
	if err != nil {
		return trig, ack, err
	}
	defer in.Close()
	in.fake.SetLatency(l)
	ms := fmt.Sprintf("L=%d ms", l.Milliseconds())
	if l < time.Millisecond {
		ms = "L=" + l.String()
	}
	trig = Row{Section: "critical path", Name: "triggered → answered, " + ms, Where: "New", Unit: "× L", Digits: 2, Goal: "≤ 2.6", Met: atMost(2.6)}
	ack = Row{Section: "critical path", Name: "acknowledged → answered, " + ms, Where: "New", Unit: "× L", Digits: 2, Goal: "≤ 1.3", Met: atMost(1.3)}
	// Run 0 warms up (connections, the lazily built parts) and is not kept.
	for r := 0; r <= rn.o.Runs; r++ {
		life := soak.Lifecycle(seedCritical, r)
		dt, err := in.timedSend(ctx, life[0])
		if err != nil {
			return trig, ack, err
		}
		da, err := in.timedSend(ctx, life[1])
		if err != nil {
			return trig, ack, err
		}
		if r == 0 {
			continue
		}
		trig.Samples = append(trig.Samples, ratio(dt, l))
		ack.Samples = append(ack.Samples, ratio(da, l))
	}
	rn.logf("critical L=%v: triggered %.2f × L, acknowledged %.2f × L (medians)", l, trig.Median(), ack.Median())
	return trig, ack, nil
}

// ratio returns d in units of l; with no latency, in milliseconds.
func ratio(d, l time.Duration) float64 {
	if l <= 0 {
		return float64(d) / float64(time.Millisecond)
	}
	return float64(d) / float64(l)
}
