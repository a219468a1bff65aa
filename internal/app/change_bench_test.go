package app

import (
	"fmt"
	"strings"
	"testing"

	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// BenchmarkCommand measures /inc update, priority, urgency, page and
// oncall as BenchmarkClick measures a click: from Slack's request to the
// answer, every PagerDuty call taking P, and the overhead beyond the
// command's serial PagerDuty round trips (goal ≤ 50 ms). Warm: the
// asker's PagerDuty identity is cached.
func BenchmarkCommand(b *testing.B) {
	for _, bc := range []struct {
		name, text string
		serial     int
		done       func(pd *pdfake.Server, n int) bool
	}{
		{"update/warm", "update Rolled back", 1, answered("✓ Posted your status update")},
		{"priority/warm", "priority P1", 2, func(pd *pdfake.Server, n int) bool { // priorities, write
			inc, _ := pd.Incident(fmt.Sprintf("QBENCH%06d", n))
			return inc.Priority == "PP1"
		}},
		{"urgency/warm", "urgency low", 1, func(pd *pdfake.Server, n int) bool {
			inc, _ := pd.Incident(fmt.Sprintf("QBENCH%06d", n))
			return inc.Urgency == "low"
		}},
		{"page/warm", "page Checkout Ops join the bridge", 2, answered("✓ Paged Checkout Ops")}, // policies, request
		{"oncall/warm", "oncall", 1, answered("Level 1: On Call")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchResponder(b, false, bc.serial, func(l *loop, user string, n int) int {
				if n == 0 {
					l.pd.AddPriority("PP1", "P1")
					l.pd.NamePolicy("PEP0001", "Checkout Ops")
				}
				status, body := l.command(b, user, benchChannel(b, l, n), bc.text)
				lastAnswer.Store(body)
				return status
			}, bc.done)
		})
	}
}

// answered reports whether the last answer says want.
func answered(want string) func(*pdfake.Server, int) bool {
	return func(*pdfake.Server, int) bool { return strings.Contains(fmt.Sprint(lastAnswer.Load()), want) }
}

// benchChannel is the id of incident n's channel (#inc-{100000+n}-…).
func benchChannel(b *testing.B, l *loop, n int) string {
	b.Helper()
	prefix := fmt.Sprintf("inc-%d-", 100000+n)
	for _, c := range l.slack.Channels() {
		if strings.HasPrefix(c.Name, prefix) {
			return c.ID
		}
	}
	b.Fatalf("no channel %s…", prefix)
	return ""
}
