package incident_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// benchLatency is the fixed latency of every fake Slack call. Results are
// reported as a ratio to it (x_latency): 2.0 for a new incident means the
// critical path is create → {root ∥ topic ∥ bookmarks ∥ invite}, two round
// trips; 1.0 for a status change means {update ∥ reply ∥ topic}.
const benchLatency = 20 * time.Millisecond

func benchEvent(b *testing.B, name string, i int) *incident.Event {
	ev := loadEvent(b, name)
	id := fmt.Sprintf("PBENCH%06d", i)
	ev.ID = ev.ID + id
	ev.IncidentID, ev.Incident.ID = id, id
	ev.Incident.Number = 100000 + i
	return ev
}

func BenchmarkHandleTriggered(b *testing.B) {
	slack := newFakeSlack()
	slack.delay = benchLatency
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{InviteUsers: []string{"U1"}}, nil)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := svc.Handle(ctx, benchEvent(b, "triggered.json", i)); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(benchLatency), "x_latency")
	b.ReportMetric(float64(slack.total())/float64(b.N), "slack_calls/op")
}

func BenchmarkHandleStatusChange(b *testing.B) {
	slack := newFakeSlack()
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{}, nil)
	ctx := context.Background()
	const incidents = 64
	for i := range incidents {
		if _, err := svc.Handle(ctx, benchEvent(b, "triggered.json", i)); err != nil {
			b.Fatal(err)
		}
	}
	slack.delay = benchLatency
	slack.resetCalls()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		// Alternate acknowledged/unacknowledged so every event changes state.
		ev := benchEvent(b, "acknowledged.json", n%incidents)
		ev.ID = fmt.Sprintf("bench-%d", n)
		ev.OccurredAt = ev.OccurredAt.Add(time.Duration(n) * time.Second)
		if n/incidents%2 == 1 {
			ev.Type, ev.Incident.Status = incident.EventUnacknowledged, "triggered"
		}
		n++
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if _, err := svc.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(benchLatency), "x_latency")
	b.ReportMetric(float64(slack.total())/float64(b.N), "slack_calls/op")
}

func BenchmarkHandleDuplicate(b *testing.B) {
	slack := newFakeSlack()
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{}, nil)
	ev := loadEvent(b, "triggered.json")
	ctx := context.Background()
	if _, err := svc.Handle(ctx, ev); err != nil {
		b.Fatal(err)
	}
	slack.resetCalls()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := svc.Handle(ctx, ev); err != nil || res.Outcome != incident.OutcomeDuplicate {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(slack.total())/float64(b.N), "slack_calls/op")
}

func BenchmarkVerifyParseDecide(b *testing.B) {
	body := fixture(b, "acknowledged.json")
	secrets := [][]byte{[]byte("whsec-bench")}
	sig := pagerduty.Sign(body, secrets[0])
	var st incident.State
	b.ReportAllocs()
	for b.Loop() {
		if err := pagerduty.VerifySignature(body, sig, secrets); err != nil {
			b.Fatal(err)
		}
		ev, _, err := pagerduty.Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		var er incident.EventRecord
		s := st
		incident.Record(&s, &er, ev)
		_ = incident.Decide(s, er, ev, incident.Config{})
	}
}
