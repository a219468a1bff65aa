package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// benchSlackLatency is the fixed latency of every fake Slack call in the
// end-to-end benchmarks; times are reported as a ratio to it (x_latency).
const benchSlackLatency = 50 * time.Millisecond

// variant returns a testdata payload rewritten for incident n: its own
// incident id, number, event id and occurred_at (seq seconds later).
func variant(b *testing.B, file string, n, seq int, eventType, status string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(testdata(b, file), &doc); err != nil {
		b.Fatal(err)
	}
	ev := doc["event"].(map[string]any)
	data := ev["data"].(map[string]any)
	ev["id"] = fmt.Sprintf("bench-%s-%d-%d", file, n, seq)
	at, _ := time.Parse(time.RFC3339, ev["occurred_at"].(string))
	ev["occurred_at"] = at.Add(time.Duration(seq) * time.Second).Format(time.RFC3339Nano)
	data["id"] = fmt.Sprintf("QBENCH%06d", n)
	data["number"] = 100000 + n
	if eventType != "" {
		ev["event_type"], data["status"] = eventType, status
	}
	out, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchInstance(b *testing.B) (*instance, *slackfake.Server) {
	nw := netfake.New()
	fake := newSlack(b, nw)
	return serve(b, nw, instanceConfig(b, fake, "memory", "")), fake
}

// BenchmarkEndToEndTriggered measures a new incident through the real
// handler, slack-go over HTTP and the fake Slack with a fixed latency per
// call: the critical path is conversations.create → {root ∥ topic ∥
// bookmarks ∥ invite}, so the goal is ≤ 1.3 × 2 latencies.
func BenchmarkEndToEndTriggered(b *testing.B) {
	fn, fake := benchInstance(b)
	fake.SetLatency(benchSlackLatency)
	n := 0
	for b.Loop() {
		n++
		if code, body := fn.deliver(b, variant(b, "triggered.json", n, 0, "", "")); code != http.StatusOK {
			b.Fatalf("deliver = %d %s", code, body)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(benchSlackLatency), "x_latency")
	b.ReportMetric(float64(fake.TotalCalls())/float64(b.N), "slack_calls/op")
}

// BenchmarkEndToEndStatusChange measures a status change of a known
// incident: {chat.update ∥ reply ∥ topic}, so the goal is ≤ 1.3 latencies.
func BenchmarkEndToEndStatusChange(b *testing.B) {
	fn, fake := benchInstance(b)
	const incidents = 32
	for i := range incidents {
		if code, body := fn.deliver(b, variant(b, "triggered.json", i, 0, "", "")); code != http.StatusOK {
			b.Fatalf("deliver = %d %s", code, body)
		}
	}
	fake.SetLatency(benchSlackLatency)
	fake.ResetCalls()
	seq := 0
	for b.Loop() {
		seq++
		// Alternate acknowledged and unacknowledged so each event changes
		// the status, the root and the topic.
		typ, status := "incident.acknowledged", "acknowledged"
		if seq/incidents%2 == 1 {
			typ, status = "incident.unacknowledged", "triggered"
		}
		body := variant(b, "acknowledged.json", seq%incidents, seq, typ, status)
		if code, resp := fn.deliver(b, body); code != http.StatusOK {
			b.Fatalf("deliver = %d %s", code, resp)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(benchSlackLatency), "x_latency")
	b.ReportMetric(float64(fake.TotalCalls())/float64(b.N), "slack_calls/op")
}

// BenchmarkEndToEndDuplicate measures a redelivered, finished event: no
// Slack call, answered from the store.
func BenchmarkEndToEndDuplicate(b *testing.B) {
	fn, fake := benchInstance(b)
	body := testdata(b, "triggered.json")
	if code, resp := fn.deliver(b, body); code != http.StatusOK {
		b.Fatalf("deliver = %d %s", code, resp)
	}
	fake.ResetCalls()
	b.ReportAllocs()
	for b.Loop() {
		if code, resp := fn.deliver(b, body); code != http.StatusOK || resp != "duplicate" {
			b.Fatalf("deliver = %d %s", code, resp)
		}
	}
	b.ReportMetric(float64(fake.TotalCalls())/float64(b.N), "slack_calls/op")
}

// BenchmarkEndToEndTriggeredRouted is BenchmarkEndToEndTriggered with
// routing and people on: a routing file, an announce channel, and the
// incident's assignee invited through the PagerDuty API and
// users.lookupByEmail. "warm": the assignee is cached after the first
// incident; "cold": every incident has a new assignee, so each one pays
// the PagerDuty look-up and users.lookupByEmail before the invite.
func BenchmarkEndToEndTriggeredRouted(b *testing.B) {
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			nw := netfake.New()
			fake := newSlack(b, nw)
			pd := pdfake.NewServerOn(nw.Listen(), pdToken)
			b.Cleanup(pd.Close)
			announce := fake.CreateChannel("incidents", false)
			rules := filepath.Join(b.TempDir(), "routing.yaml")
			if err := os.WriteFile(rules, []byte("rules:\n  - name: high\n    match: {urgency: high}\n    invite: [\"@sre\"]\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			fake.AddUserGroup("S0SRE", "sre", "U0SRE")
			for _, u := range []string{"U0LEAD", "U0SRE"} {
				fake.AddUser(u, strings.ToLower(u)+"@example.com", false)
			}
			fn := serve(b, nw, instanceConfig(b, fake, "memory", "", map[string]string{
				"ROUTING_FILE": rules, "SLACK_ANNOUNCE_CHANNEL": announce,
				"PAGERDUTY_API_TOKEN": pdToken, "PAGERDUTY_API_URL": pd.URL(),
			}))
			user := func(n int) string {
				if mode == "warm" {
					return "PUSER00"
				}
				return fmt.Sprintf("PBENCH%06d", n)
			}
			addUser := func(n int) {
				id := user(n)
				pd.AddUser(id, "Responder "+id, strings.ToLower(id)+"@example.com")
				fake.AddUser("U"+id, strings.ToLower(id)+"@example.com", false)
			}
			addUser(0)
			body := func(n int) []byte {
				return []byte(strings.ReplaceAll(string(variant(b, "triggered.json", n, 0, "", "")), `"PUSER00"`, `"`+user(n)+`"`))
			}
			// The first incident joins the announce channel and, warm, fills the cache.
			if code, resp := fn.deliver(b, body(0)); code != http.StatusOK {
				b.Fatalf("deliver = %d %s", code, resp)
			}
			fake.SetLatency(benchSlackLatency)
			fake.ResetCalls()
			pd.ResetCalls()
			n := 0
			for b.Loop() {
				n++
				if mode == "cold" {
					addUser(n)
				}
				if code, resp := fn.deliver(b, body(n)); code != http.StatusOK {
					b.Fatalf("deliver = %d %s", code, resp)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(benchSlackLatency), "x_latency")
			b.ReportMetric(float64(fake.TotalCalls())/float64(b.N), "slack_calls/op")
			b.ReportMetric(float64(pd.Calls())/float64(b.N), "pagerduty_calls/op")
		})
	}
}
