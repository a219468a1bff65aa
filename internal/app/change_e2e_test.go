package app

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// TestEndToEndChangeFromSlack: /inc priority, urgency, title, reassign,
// page and oncall over HTTP, each answered to the asker within Slack's
// 3 s and done in PagerDuty as them; what PagerDuty refuses is told and
// changes nothing.
func TestEndToEndChangeFromSlack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.pd.AddPriority("PP1", "P1")
		l.pd.AddPriority("PP2", "P2")
		l.pd.NamePolicy("PEP0001", "Checkout Ops")
		l.slack.AddUserGroup("SOPS", "ops", "UADA", "UNOPD")
		l.pd.AddService("PSVC001", "Checkout API", "PEP0001")
		l.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, l.slack)
		var changes []pdfake.Change
		l.pd.SetOnChange(func(c pdfake.Change) { changes = append(changes, c) })

		for _, c := range []struct{ text, want string }{
			{"priority P9", "PagerDuty has no priority P9; its priorities are P1, P2."},
			{"priority p2", "#1234 is already P2."},
			{"priority p1", "✓ Set #1234's priority to p1 in PagerDuty as Ada Lovelace."},
			{"urgency low", "✓ Set #1234's urgency to low"},
			{"title Checkout &amp; cart down", "✓ Renamed #1234 to “Checkout &amp; cart down”"},
			{"reassign <@UADA|ada>", "✓ Reassigned #1234 to Ada Lovelace"},
			{"reassign <@UNOPD|nobody>", "<@UNOPD> has no PagerDuty user"},
			{"page Checkout Ops join the bridge", "✓ Paged Checkout Ops for #1234"},
			{"page <!subteam^SOPS|@ops> db-1 is down", "✓ Paged Ada Lovelace for #1234 as Ada Lovelace; the thread shows their answers. 1 member of the user groups, without a PagerDuty user, left out."},
			{"oncall", "Level 1: On Call"},
			{"oncall checkout api", "*On call for Checkout Ops (service Checkout API):*\n• Level 1: On Call"},
		} {
			start := time.Now()
			code, body := l.command(t, "UADA", ch.ID, c.text)
			if code != http.StatusOK || time.Since(start) > 3*time.Second {
				t.Fatalf("/inc %s = %d after %v, want 200 within 3 s", c.text, code, time.Since(start))
			}
			wantContains(t, "/inc "+c.text, answerText(t, body), c.want)
		}
		inc, _ := l.pd.Incident(e2eIncident)
		if inc.Priority != "PP1" || inc.Urgency != "low" || inc.Title != "Checkout & cart down" || !slices.Equal(inc.Assignees, []string{"PADA"}) {
			t.Errorf("PagerDuty incident = %+v, want P1, low, renamed, assigned to Ada", inc)
		}
		var kinds []string
		for _, c := range changes {
			if c.UserID != "PADA" {
				t.Errorf("change %+v not made as Ada", c)
			}
			kinds = append(kinds, c.Kind)
		}
		want := []string{pdfake.ChangePriority, pdfake.ChangeUrgency, pdfake.ChangeTitle, pdfake.ChangeReassigned, pdfake.ChangeResponder, pdfake.ChangeResponder}
		if !slices.Equal(kinds, want) {
			t.Errorf("PagerDuty changes = %v, want %v", kinds, want)
		}

		// An account without coordinated responding: told, nothing sent.
		l.pd.FailOn(http.MethodPost, "/incidents/"+e2eIncident+"/responder_requests", pdfake.Fault{Status: http.StatusPaymentRequired})
		_, body := l.command(t, "UADA", ch.ID, "page <@UADA|ada> please look")
		wantContains(t, "/inc page without the feature", answerText(t, body), "PagerDuty refused to page more responders: the account's plan does not include it (HTTP 402).")
		if strings.Contains(body, "✓") {
			t.Errorf("/inc page refused by PagerDuty = %s, want no success", body)
		}
	})
}

// answerText is the text of a slash command's answer.
func answerText(t *testing.T, body string) string {
	t.Helper()
	var a struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer %s is not JSON: %v", body, err)
	}
	return a.Text
}
