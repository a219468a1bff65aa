package app

import (
	"strings"
	"testing"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// TestEndToEndSimilarPastIncidents drives an incident to its resolution,
// then a similar one of the same service, through the real handler, the
// store (memory and Firestore on the emulator), slack-go and the fake
// PagerDuty's past incidents: the second channel's root shows the first
// incident (its channel, how it ended, its note, escaped) and PagerDuty's.
func TestEndToEndSimilarPastIncidents(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "firestore"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			project := ""
			if kind == "firestore" {
				project = firestoretest.Project(t)
			}
			runOn(t, kind, func(t *testing.T) {
				nw := netfake.New()
				fake := newSlack(t, nw)
				pd := pdfake.NewServerOn(nw.Listen(), pdToken)
				t.Cleanup(pd.Close)
				pd.AddIncident(pdfake.Incident{ID: "Q2CHECKOUT", Number: 1300, Title: "Checkout latency above 3s (p99)"})
				pd.SetPastIncidents("Q2CHECKOUT", pdfake.PastIncident{ID: "QPDPAST", Title: "Checkout slow for EU shoppers",
					CreatedAt: time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC), Score: 40})
				fn := newInstance(t, nw, fake, kind, project, map[string]string{"PAGERDUTY_API_TOKEN": pdToken, "PAGERDUTY_API_URL": pd.URL()})

				for _, name := range []string{"triggered.json", "annotated.json", "resolved.json"} {
					fn.mustDeliver(t, name, "processed")
				}
				first := onlyChannel(t, fake)

				second := strings.NewReplacer(
					"Q1CHECKOUT", "Q2CHECKOUT", `"number": 1234`, `"number": 1300`,
					"Checkout latency above 2s (p99)", "Checkout latency above 3s (p99)",
					"01HT0TRIGGERED0000000000001", "01HT0TRIGGERED0000000000002",
				).Replace(string(testdata(t, "triggered.json")))
				if code, body := fn.deliver(t, []byte(second)); code != 200 || body != "processed" {
					t.Fatalf("deliver the second incident = %d %q; logs:\n%s", code, body, fn.logs)
				}
				ch, ok := fake.Channel("inc-1300-checkout-latency-above-3s-p99")
				if !ok {
					t.Fatalf("no channel for the second incident; channels: %v", fake.Channels())
				}
				// The blocks as Slack renders them: JSON's escapes undone.
				root := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(rootOf(t, ch).Blocks))
				wantContains(t, "root of the second incident", root,
					"Seen before: similar past incidents of this service",
					"<#"+first.ID+">", "#1234 Checkout latency above 2s (p99)", "resolved in 42m by Ada Lovelace",
					"Rolled back deploy 7f3a; watching p99. &lt;!channel&gt; ignore this",
					"<https://acme.pagerduty.com/incidents/QPDPAST|Checkout slow for EU shoppers>")
				if strings.Contains(root, "<!channel>") {
					t.Errorf("root of the second incident pings the channel:\n%s", root)
				}
			})
		})
	}
}
