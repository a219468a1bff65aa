package perf

import (
	"context"
	"fmt"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/soak"
)

// calls counts, event by event of whole lifecycles, the Slack calls (from
// the fake), the store's transactions, document reads and writes (from a
// CountingStore) and the connections opened to Slack; then what a
// lifecycle costs in Firestore operations and money, and what a
// redelivered, finished event costs.
func (rn *runner) calls(ctx context.Context) error {
	in, err := rn.newComposed(ctx, composeOptions{countConns: true})
	if err != nil {
		return err
	}
	defer in.Close()

	row := func(name, unit string) Row {
		return Row{Section: "calls per event", Name: name, Where: "composed", Unit: unit}
	}
	var (
		slackTrig = row("Slack calls, triggered", "")
		slackAck  = row("Slack calls, acknowledged", "")
		txTrig    = row("store transactions, triggered", "")
		rdTrig    = row("document reads, triggered", "")
		wrTrig    = row("document writes, triggered", "")
		txAck     = row("store transactions, acknowledged", "")
		rdAck     = row("document reads, acknowledged", "")
		wrAck     = row("document writes, acknowledged", "")
		conns     = row("new Slack connections per event, warm", "")
		dupSlack  = row("Slack calls, redelivered finished event", "")
		dupRW     = row("document reads + writes, redelivered finished event", "")
		lifeOps   = row("Firestore operations per lifecycle (reads + writes + TTL deletes)", "")
		lifeCost  = row("Firestore cost per 1,000 incidents", "USD")
	)
	conns.Digits, lifeCost.Digits = 2, 4
	dupSlack.Goal, dupSlack.Met = "0", equal(0)

	// Run 0 warms up (connections) and is not kept.
	for r := 0; r <= rn.o.Runs; r++ {
		life := soak.Lifecycle(seedCalls, r)
		var steps []Step
		var total Counts
		newConns := 0
		for _, body := range life {
			before, calls0, conns0, log0 := in.counts.Counts(), in.fake.TotalCalls(), in.proxy.Conns(), len(in.fake.Log())
			if _, err := in.send(ctx, body); err != nil {
				return err
			}
			_, typ, _, _ := eventOf(body)
			st := Step{
				EventType:  typ,
				SlackCalls: in.fake.TotalCalls() - calls0,
				Store:      in.counts.Counts().Sub(before),
				SlackConns: in.proxy.Conns() - conns0,
			}
			for _, c := range in.fake.Log()[log0:] {
				st.Methods = append(st.Methods, c.Method)
			}
			steps = append(steps, st)
			total = addCounts(total, st.Store)
			newConns += st.SlackConns
		}
		// Redeliver the finished triggered event: a duplicate.
		before, calls0 := in.counts.Counts(), in.fake.TotalCalls()
		msg, err := in.send(ctx, life[0])
		if err != nil {
			return err
		}
		if msg != string(incident.OutcomeDuplicate) {
			return fmt.Errorf("redelivered finished event answered %q, want %q", msg, incident.OutcomeDuplicate)
		}
		dup := in.counts.Counts().Sub(before)
		if r == 0 {
			continue
		}
		rn.rep.Lifecycle = steps
		for _, s := range steps {
			switch s.EventType {
			case incident.EventTriggered:
				slackTrig.Samples = append(slackTrig.Samples, float64(s.SlackCalls))
				txTrig.Samples = append(txTrig.Samples, float64(s.Store.Transactions))
				rdTrig.Samples = append(rdTrig.Samples, float64(s.Store.Reads))
				wrTrig.Samples = append(wrTrig.Samples, float64(s.Store.Writes))
			case incident.EventAcknowledged:
				slackAck.Samples = append(slackAck.Samples, float64(s.SlackCalls))
				txAck.Samples = append(txAck.Samples, float64(s.Store.Transactions))
				rdAck.Samples = append(rdAck.Samples, float64(s.Store.Reads))
				wrAck.Samples = append(wrAck.Samples, float64(s.Store.Writes))
			}
		}
		conns.Samples = append(conns.Samples, float64(newConns)/float64(len(steps)))
		dupSlack.Samples = append(dupSlack.Samples, float64(in.fake.TotalCalls()-calls0))
		dupRW.Samples = append(dupRW.Samples, float64(dup.Reads+dup.Writes))
		lifeOps.Samples = append(lifeOps.Samples, float64(total.Reads+total.Writes+total.EventDocs))
		lifeCost.Samples = append(lifeCost.Samples, 1000*rn.o.Prices.cost(total))
	}
	for _, r := range []Row{slackTrig, slackAck, txTrig, rdTrig, wrTrig, txAck, rdAck, wrAck, conns, dupSlack, dupRW, lifeOps, lifeCost} {
		rn.rep.add(r)
	}
	return nil
}

// cost returns what c costs at p in USD: reads, writes, and the TTL
// delete of every event document created.
func (p Prices) cost(c Counts) float64 {
	return (float64(c.Reads)*p.Read + float64(c.Writes)*p.Write + float64(c.EventDocs)*p.Delete) / 100000
}
