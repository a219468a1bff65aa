package perf

import (
	"context"
	"fmt"
	"time"

	"github.com/incident-channels/incident-channels/internal/soak"
)

// seedRoundTrips is soak.Lifecycle's seed of the roundtrips section.
const seedRoundTrips = 707

// roundTrips counts the Firestore round trips on the critical path of a
// triggered and an acknowledged event: with the fake Slack at latency L
// and the emulator's answers held back by F (a proxy between them), a
// triggered event is answered in about 2 L + k F and an acknowledged one
// in L + k F. k is read from the difference between F and no delay (the
// emulator's own time cancels out), and also as (answer − 2 L) / F, which
// counts the emulator's and the function's own time as round trips too.
// The emulator only: the memory store has no round trips.
func (rn *runner) roundTrips(ctx context.Context) error {
	if rn.o.FirestoreProject == "" {
		rn.logf("roundtrips: skipped: needs the Firestore emulator (-store firestore)")
		return nil
	}
	in, err := rn.newComposed(ctx, composeOptions{storeProxy: true})
	if err != nil {
		return err
	}
	defer in.Close()
	l, f := rn.o.Latencies[0], rn.o.StoreDelay
	in.fake.SetLatency(l)

	row := func(name string) Row {
		return Row{Section: "Firestore round trips", Name: fmt.Sprintf(name, l.Milliseconds(), f.Milliseconds()), Where: "composed",
			Unit: "k", Digits: 1}
	}
	goal := func(r Row, k float64) Row {
		r.Goal, r.Met = fmt.Sprintf("≤ %g", k), atMost(k)
		return r
	}
	var (
		trig       = goal(row("triggered: answer ≈ 2 L + k F, L=%d ms, F=%d ms, k from the difference with F=0"), 4)
		ack        = goal(row("acknowledged: answer ≈ L + k F, L=%d ms, F=%d ms, k from the difference with F=0"), 3)
		trigDirect = row("triggered: k = (answer − 2 L) / F, L=%d ms, F=%d ms")
		ackDirect  = row("acknowledged: k = (answer − L) / F, L=%d ms, F=%d ms")
	)
	// answers returns the answer times of a new incident's triggered and
	// acknowledged events with Firestore's answers held back by delay.
	n := 0
	answers := func(delay time.Duration) (time.Duration, time.Duration, error) {
		in.storeProxy.SetDelay(delay)
		life := soak.Lifecycle(seedRoundTrips, n)
		n++
		t, err := in.timedSend(ctx, life[0])
		if err != nil {
			return 0, 0, err
		}
		a, err := in.timedSend(ctx, life[1])
		return t, a, err
	}
	// Run 0 warms up (connections, the emulator's first transactions)
	// and is not kept.
	for r := 0; r <= rn.o.Runs; r++ {
		t0, a0, err := answers(0)
		if err != nil {
			return err
		}
		tf, af, err := answers(f)
		if err != nil {
			return err
		}
		if r == 0 {
			continue
		}
		trig.Samples = append(trig.Samples, float64(tf-t0)/float64(f))
		ack.Samples = append(ack.Samples, float64(af-a0)/float64(f))
		trigDirect.Samples = append(trigDirect.Samples, float64(tf-2*l)/float64(f))
		ackDirect.Samples = append(ackDirect.Samples, float64(af-l)/float64(f))
	}
	for _, r := range []Row{trig, ack, trigDirect, ackDirect} {
		rn.rep.add(r)
	}
	rn.logf("roundtrips: k = %.1f triggered, %.1f acknowledged (medians)", trig.Median(), ack.Median())
	return nil
}
