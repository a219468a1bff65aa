package app

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// TestEndToEndLead: I'll lead names the clicker, on the root message,
// in the topic and in the thread, within Slack's 3 s; two clicks at once
// name them once; /inc lead @person names another; what is not a
// mention, or an observer, or a resolved incident, changes nothing.
func TestEndToEndLead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.slack.AddUser("UBOB", "bob@example.com", false)
		l.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, l.slack)

		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if status, took := l.click(t, "UADA", "incident_lead", slackfake.DefaultTeamID); status != http.StatusOK || took > 3*time.Second {
					t.Errorf("I'll lead answered %d after %v, want 200 within 3 s", status, took)
				}
			})
		}
		wg.Wait()
		ch = onlyChannel(t, l.slack)
		root := rootOf(t, ch)
		wantContains(t, "root", string(root.Blocks), "*Lead*", inJSON("<@UADA>"))
		wantContains(t, "topic", ch.Topic, "Lead: ")
		leads := func() int {
			n := 0
			for _, m := range onlyChannel(t, l.slack).Replies(root.TS) {
				if strings.Contains(m.Text, "leads the incident") {
					n++
				}
			}
			return n
		}
		if n := leads(); n != 1 {
			t.Errorf("two clicks at once posted %d lead replies, want 1", n)
		}
		l.click(t, "UADA", "incident_lead", slackfake.DefaultTeamID)
		wantContains(t, "a later click", l.lastEphemeral(), "already leads")

		_, body := l.command(t, "UADA", ch.ID, "lead <@UBOB|bob>")
		wantContains(t, "/inc lead @bob", body, inJSON("<@UBOB> leads #1234"))
		wantContains(t, "root", string(rootOf(t, onlyChannel(t, l.slack)).Blocks), inJSON("<@UBOB>"))
		if n := leads(); n != 2 {
			t.Errorf("after /inc lead @bob the thread has %d lead replies, want 2", n)
		}

		_, body = l.command(t, "UADA", ch.ID, "lead bob")
		wantContains(t, "/inc lead without a mention", body, "Name the lead with an @mention")
		_, body = l.command(t, "UADA", "C0ELSEWHERE", "lead")
		wantContains(t, "/inc lead outside an incident channel", body, "not an incident channel")
		_, body = l.command(t, "UNOPD", ch.ID, "lead")
		wantContains(t, "/inc lead by someone without a PagerDuty user", body, "PagerDuty")
		l.mustDeliver(t, "resolved.json", "processed")
		_, body = l.command(t, "UADA", ch.ID, "lead")
		wantContains(t, "/inc lead on a resolved incident", body, "needs no lead")
		wantContains(t, "root", string(rootOf(t, onlyChannel(t, l.slack)).Blocks), inJSON("<@UBOB>"))
	})
}

// inJSON is s as encoding/json writes it in a string: < and > escaped.
func inJSON(s string) string {
	return strings.NewReplacer("<", `\u003c`, ">", `\u003e`).Replace(s)
}
