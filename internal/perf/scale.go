package perf

import (
	"context"
	"fmt"
	"time"

	"github.com/incident-channels/incident-channels/internal/soak"
)

// scale compares an acknowledged event of an incident that has had one
// event (its triggered) with one of an incident that has had PriorEvents
// events (triggered, then notes, each a thread reply): the handling time
// and the store operations must not grow, and neither may the incident
// document, because events are documents of their own. It also builds one
// incident of BigEvents events and reports its document's size against
// Firestore's 1 MiB limit.
func (rn *runner) scale(ctx context.Context) error {
	in, err := rn.newComposed(ctx, composeOptions{})
	if err != nil {
		return err
	}
	defer in.Close()

	prior := rn.o.PriorEvents
	row := func(name, unit string, digits int) Row {
		return Row{Section: "scale", Name: name, Where: "composed", Unit: unit, Digits: digits}
	}
	sizeUnit := "bytes, Firestore size rules on incident.State"
	if in.fsClient != nil {
		sizeUnit = "bytes, Firestore size of the document read back"
	}
	var (
		t1      = row("acknowledged, incident with 1 earlier event", "ms", 2)
		tN      = row(fmt.Sprintf("acknowledged, incident with %d earlier events", prior), "ms", 2)
		ops1    = row("document reads + writes, 1 earlier event", "", 0)
		opsN    = row(fmt.Sprintf("document reads + writes, %d earlier events", prior), "", 0)
		size1   = row("incident document after 2 events", sizeUnit, 0)
		sizeN   = row(fmt.Sprintf("incident document after %d events", prior+1), sizeUnit, 0)
		sizeBig = row("incident document after "+format(float64(rn.o.BigEvents+2), 0)+" events", sizeUnit, 0)
	)
	limit := fmt.Sprintf("< %s (1 MiB)", format(MaxDocumentBytes, 0))
	size1.Goal, size1.Met = limit, below(MaxDocumentBytes)
	sizeN.Goal, sizeN.Met = limit, below(MaxDocumentBytes)
	sizeBig.Goal, sizeBig.Met = limit, below(MaxDocumentBytes)

	// measure sends an acknowledged event, newer than any note, to the
	// incident of life and returns its time, reads + writes and the size
	// of the incident document afterwards.
	measure := func(life [][]byte) (time.Duration, int64, int, error) {
		id, _, _, incID := eventOf(life[1])
		ack := withEvent(life[1], id+"-measured", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "")
		before := in.counts.Counts()
		d, err := in.timedSend(ctx, ack)
		if err != nil {
			return 0, 0, 0, err
		}
		c := in.counts.Counts().Sub(before)
		size, err := rn.docSize(ctx, in, incID)
		return d, c.Reads + c.Writes, size, err
	}
	// Incident numbers from 1000 on keep titles and channel names the same
	// length, so document sizes compare.
	for r := range rn.o.Runs {
		fresh, old := soak.Lifecycle(seedScale, 1000+2*r), soak.Lifecycle(seedScale, 1000+2*r+1)
		if _, err := in.send(ctx, fresh[0]); err != nil {
			return err
		}
		if err := rn.notes(ctx, in, old, prior-1); err != nil {
			return err
		}
		d, ops, size, err := measure(fresh)
		if err != nil {
			return err
		}
		t1.Samples, ops1.Samples, size1.Samples = append(t1.Samples, ms(d)), append(ops1.Samples, float64(ops)), append(size1.Samples, float64(size))
		d, ops, size, err = measure(old)
		if err != nil {
			return err
		}
		tN.Samples, opsN.Samples, sizeN.Samples = append(tN.Samples, ms(d)), append(opsN.Samples, float64(ops)), append(sizeN.Samples, float64(size))
	}
	for _, r := range []Row{t1, tN, ops1, opsN, size1, sizeN} {
		rn.rep.add(r)
	}
	if rn.o.BigEvents > 0 {
		start := time.Now()
		big := soak.Lifecycle(seedScale, 1000+2*rn.o.Runs)
		if err := rn.notes(ctx, in, big, rn.o.BigEvents); err != nil {
			return err
		}
		_, _, size, err := measure(big)
		if err != nil {
			return err
		}
		sizeBig.Samples = []float64{float64(size)}
		rn.rep.add(sizeBig)
		rn.logf("scale: %d events of one incident in %v; document %d bytes", rn.o.BigEvents+2, time.Since(start).Round(time.Millisecond), size)
	}
	return nil
}

// notes sends life's triggered event and then n notes (thread replies),
// one second apart.
func (rn *runner) notes(ctx context.Context, in *instance, life [][]byte, n int) error {
	if _, err := in.send(ctx, life[0]); err != nil {
		return err
	}
	note := life[2]
	id, _, at, _ := eventOf(note)
	for k := range n {
		if _, err := in.send(ctx, withEvent(note, fmt.Sprintf("%s-n%d", id, k), at.Add(time.Duration(k)*time.Second), "")); err != nil {
			return err
		}
	}
	return nil
}

// docSize returns the size of the incident's stored document: read back
// from Firestore and sized by Firestore's rules, or with the memory store
// the stored incident.State sized by the same rules.
func (rn *runner) docSize(ctx context.Context, in *instance, incidentID string) (int, error) {
	if in.fsClient != nil {
		path := "incidents/" + incidentID
		snap, err := in.fsClient.Doc(path).Get(ctx)
		if err != nil {
			return 0, fmt.Errorf("read back %s: %w", path, err)
		}
		return DocumentSize(path, snap.Data()), nil
	}
	st, err := in.counts.Peek(ctx, incidentID)
	if err != nil {
		return 0, err
	}
	return StructSize("incidents/"+incidentID, st), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
