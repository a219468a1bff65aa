package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// A resolution posts its reply with the incident's summary, broadcast to
// the channel; a reopen and a second resolution post a second summary,
// and a redelivered resolution no second copy.
func TestServiceResolutionSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range []string{"triggered.json", "acknowledged.json", "annotated.json", "resolved.json", "resolved.json"} {
		e.mustHandle(t, f)
	}
	res := loadEvent(t, "resolved.json")
	reopened := loadEvent(t, "resolved.json")
	reopened.ID, reopened.Type = "01REOPENED0000000000000000", incident.EventReopened
	reopened.OccurredAt = res.OccurredAt.Add(10 * time.Minute)
	reopened.Incident.Status, reopened.Incident.ResolvedAt = "triggered", time.Time{}
	again := loadEvent(t, "resolved.json")
	again.ID = "01RESOLVEDAGAIN00000000000"
	again.OccurredAt = res.OccurredAt.Add(40 * time.Minute)
	for _, ev := range []*incident.Event{reopened, again} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := e.svc.Handle(ctx, ev)
		cancel()
		if err != nil {
			t.Fatalf("Handle(%s) = %v", ev.Type, err)
		}
	}
	var summaries []incident.Reply
	for _, r := range e.slack.only().replies {
		if strings.HasPrefix(r.Headline, "Resolved") {
			summaries = append(summaries, r)
		}
	}
	if len(summaries) != 2 {
		t.Fatalf("%d resolution replies, want 2 (one per resolution): %q", len(summaries), headlines(e.slack.only().replies))
	}
	for i, r := range summaries {
		if !r.Broadcast || !strings.Contains(r.Body, "Lasted") || !strings.Contains(r.Body, "first acknowledged after") || !strings.Contains(r.Body, "1 note") {
			t.Errorf("resolution %d: broadcast %v, body %q; want a broadcast summary", i+1, r.Broadcast, r.Body)
		}
	}
	if !strings.Contains(summaries[1].Body, "Reopened") || strings.Contains(summaries[0].Body, "Reopened") {
		t.Errorf("timelines: first %q, second %q; want the reopen in the second only", summaries[0].Body, summaries[1].Body)
	}
}
