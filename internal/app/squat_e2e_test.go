package app

import (
	"testing"
	"testing/synctest"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// TestEndToEndSquattedChannelName: someone took an incident's channel
// name and its numbered suffixes in advance (one of them archived, whose
// name Slack keeps taken). The incident still gets its channel, under the
// name with its PagerDuty id, and the first delivery answers 200.
func TestEndToEndSquattedChannelName(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		fake := newSlack(t, nw)
		const name = "inc-1234-checkout-latency-above-2s-p99"
		squatted := map[string]bool{}
		for i, n := range []string{name, name + "-2", name + "-3", name + "-4", name + "-5"} {
			fake.CreateChannel(n, i == 2)
			squatted[n] = true
		}
		fn := newInstance(t, nw, fake, "memory", "")
		fn.mustDeliver(t, "triggered.json", "processed")

		var ours []slackfake.Channel
		for _, c := range fake.Channels() {
			if !squatted[c.Name] {
				ours = append(ours, c)
			}
		}
		if len(ours) != 1 || ours[0].Name != "inc-1234-q1checkout" {
			t.Fatalf("channels besides the squatted ones = %+v, want one named inc-1234-q1checkout", ours)
		}
		wantContains(t, "root", rootOf(t, ours[0]).BlockText(), "Checkout latency above 2s")
		if got := fake.Calls("conversations.create"); got != 6 {
			t.Errorf("conversations.create calls = %d, want 6 (the name, four suffixes, the id name)", got)
		}
	})
}
