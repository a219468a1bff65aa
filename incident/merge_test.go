package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// When PagerDuty merges incident A into B, A's channel gets a broadcast
// "Merged into B" linking B's channel (B's PagerDuty page when B has
// none), B's channel gets "Merged in: A" linking A's channel, once, and
// A's root says it was merged. B gets no event of its own.
func TestServiceMergedIncident(t *testing.T) {
	t.Parallel()
	for _, survivorHasChannel := range []bool{true, false} {
		t.Run(map[bool]string{true: "survivor has a channel", false: "survivor has none"}[survivorHasChannel], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			handle := func(ev *incident.Event) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				if _, err := e.svc.Handle(ctx, ev); err != nil {
					t.Fatalf("Handle(%s %s) = %v", ev.Type, ev.IncidentID, err)
				}
			}
			if survivorHasChannel {
				b := loadEvent(t, "triggered.json")
				b.ID, b.IncidentID, b.Incident.ID, b.Incident.Number, b.Incident.Title = "EB1", "QSURVIVOR", "QSURVIVOR", 2000, "Checkout down"
				handle(b)
			}
			e.mustHandle(t, "triggered.json")
			merged := loadEvent(t, "resolved.json")
			merged.Incident.MergedInto = incident.Ref{ID: "QSURVIVOR", Type: "incident_reference", Summary: "Checkout down",
				HTMLURL: "https://acme.pagerduty.com/incidents/QSURVIVOR"}
			handle(merged)
			handle(merged) // a redelivery posts nothing twice

			var a, b fakeChannel
			for _, c := range e.slack.ownChannels() {
				if c.rootInc.ID == "QSURVIVOR" {
					b = c
				} else {
					a = c
				}
			}
			last := a.replies[len(a.replies)-1]
			if !strings.HasPrefix(last.Headline, "Merged into Checkout down") || !last.Broadcast {
				t.Errorf("A's last reply %+v, want a broadcast Merged into Checkout down", last)
			}
			if a.rootInc.MergedInto.ID != "QSURVIVOR" {
				t.Errorf("A's root shows merged into %q, want QSURVIVOR", a.rootInc.MergedInto.ID)
			}
			if !survivorHasChannel {
				if last.Channel != "" || last.URL != "https://acme.pagerduty.com/incidents/QSURVIVOR" {
					t.Errorf("A's reply links channel %q, url %q; want the survivor's PagerDuty page", last.Channel, last.URL)
				}
				return
			}
			if last.Channel != e.slack.names[b.name] {
				t.Errorf("A's reply links %q, want B's channel %s", last.Channel, e.slack.names[b.name])
			}
			if n := countPrefix(b.replies, "Merged in: #1234"); n != 1 {
				t.Fatalf("B's thread %q: %d merged-in notes, want 1", headlines(b.replies), n)
			}
			for _, r := range b.replies {
				if strings.HasPrefix(r.Headline, "Merged in") && r.Channel != e.slack.names[a.name] {
					t.Errorf("B's note links %q, want A's channel %s", r.Channel, e.slack.names[a.name])
				}
			}
		})
	}
}
