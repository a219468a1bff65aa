package app

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// benchPagerDutyLatency is P, the latency added to every PagerDuty REST
// call in the click benchmarks.
const benchPagerDutyLatency = 50 * time.Millisecond

var lastAnswer atomic.Value

// slowProxy serves next on nw after a fixed latency, as a distant API
// would.
func slowProxy(b *testing.B, nw *netfake.Network, next string, latency time.Duration) string {
	u, err := url.Parse(next)
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = nw.Transport()
	srv := nw.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkClick measures a responder's click, from Slack's request to
// the function's answer (the ephemeral posted to response_url, then the
// 200), with every PagerDuty call taking P. It reports the time as a
// multiple of P, the PagerDuty calls a click makes, and the overhead: the
// time beyond the click's PagerDuty round trips one after another
// (serial; goal ≤ 50 ms). Warm: the user's PagerDuty identity is cached
// (every click after a user's first); cold: the user's first click
// (Slack users.info, then a PagerDuty user search).
func BenchmarkClick(b *testing.B) {
	for _, bc := range []struct {
		name   string
		action string
		cold   bool
		// serial is how many PagerDuty round trips the click waits for
		// one after another.
		serial int
	}{
		{"acknowledge/warm", "incident_acknowledge", false, 2}, // read (never reopen a resolved incident), write
		{"acknowledge/cold", "incident_acknowledge", true, 3},  // user search, read, write
		{"resolve/warm", "incident_resolve", false, 1},
		{"escalate/warm", "incident_escalate", false, 2}, // policy ∥ on-calls, write
		{"lead/warm", "incident_lead", false, 0},         // no PagerDuty call: the root, topic and thread
	} {
		b.Run(bc.name, func(b *testing.B) { benchClick(b, bc.action, bc.cold, bc.serial) })
	}
}

func benchClick(b *testing.B, action string, cold bool, serial int) {
	benchResponder(b, cold, serial, func(l *loop, user string, n int) int { return l.clickOn(b, user, action, n) },
		func(pd *pdfake.Server, n int) bool {
			switch action {
			case "incident_lead": // nothing in PagerDuty to look at
				return answered("✓")(pd, n)
			case "incident_escalate":
				return true
			}
			inc, _ := pd.Incident(fmt.Sprintf("QBENCH%06d", n))
			return inc.Status != "triggered"
		})
}

// benchResponder measures act, a responder's request about incident n
// by user answered with an HTTP status, which done confirms took effect;
// see BenchmarkClick for what it reports.
func benchResponder(b *testing.B, cold bool, serial int, act func(l *loop, user string, n int) int, done func(pd *pdfake.Server, n int) bool) {
	nw := netfake.New()
	fake := newSlack(b, nw)
	pd := pdfake.NewServerOn(nw.Listen(), e2ePagerDutyKey)
	b.Cleanup(pd.Close)
	pd.AddPolicy("PEP0001", 3, 0)
	pd.AddOnCall("PEP0001", "PUSER00", 1)
	pd.AddUser("PUSER00", "On Call", "oncall@example.com")
	answers := nw.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bb, _ := io.ReadAll(r.Body)
		lastAnswer.Store(string(bb))
	}))
	b.Cleanup(answers.Close)
	cfg := instanceConfig(b, fake, "memory", "", map[string]string{
		"SLACK_SIGNING_SECRET": e2eSigningSecret,
		"PAGERDUTY_API_TOKEN":  e2ePagerDutyKey,
		"PAGERDUTY_API_URL":    slowProxy(b, nw, pd.URL(), benchPagerDutyLatency),
	})
	l := &loop{instance: serve(b, nw, cfg), nw: nw, slack: fake, pd: pd, answerURL: answers.URL}
	user := func(n int) string {
		if cold {
			return fmt.Sprintf("UBENCH%05d", n)
		}
		return "UBENCH"
	}
	addUser := func(n int) {
		id := user(n)
		fake.AddUser(id, strings.ToLower(id)+"@example.com", false)
		pd.AddUser("P"+id, "Responder "+id, strings.ToLower(id)+"@example.com")
	}
	// Warm up: the team id, and for warm clicks the user.
	addUser(0)
	l.setUp(b, 0)
	act(l, user(0), 0)
	var pdCalls int
	n := 0
	for b.Loop() {
		n++
		b.StopTimer()
		addUser(n)
		l.setUp(b, n)
		pd.ResetCalls()
		b.StartTimer()
		if status := act(l, user(n), n); status != http.StatusOK {
			b.Fatalf("request answered %d", status)
		}
		b.StopTimer()
		pdCalls += pd.Calls()
		if !done(pd, n) {
			inc, _ := pd.Incident(fmt.Sprintf("QBENCH%06d", n))
			b.Fatalf("the request did not act: incident %+v, answer %v", inc, lastAnswer.Load())
		}
		b.StartTimer()
	}
	perOp := float64(b.Elapsed()) / float64(b.N)
	trips := float64(pdCalls) / float64(b.N)
	b.ReportMetric(perOp/float64(benchPagerDutyLatency), "x_P")
	b.ReportMetric(trips, "pd_calls/op")
	b.ReportMetric((perOp-float64(serial)*float64(benchPagerDutyLatency))/float64(time.Millisecond), "overhead_ms/op")
}

// setUp opens incident n's channel and makes it known to PagerDuty.
func (l *loop) setUp(b *testing.B, n int) {
	b.Helper()
	id := fmt.Sprintf("QBENCH%06d", n)
	l.pd.AddIncident(pdfake.Incident{ID: id, Number: 100000 + n, Status: "triggered", PolicyID: "PEP0001", Assignees: []string{"PUSER00"}})
	if code, body := l.deliver(b, variant(b, "triggered.json", n, 0, "", "")); code/100 != 2 {
		b.Fatalf("triggered %s: %d %s", id, code, body)
	}
}
