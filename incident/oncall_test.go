package incident_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// TestOnCall: /inc oncall lists who is on call by level, with schedule
// and end, for the incident's policy or the one named; read-only roles
// may read it, people without a PagerDuty user may not; names are
// escaped.
func TestOnCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, channel, text string
		want                      []string
	}{
		{"the incident's policy", "UADA", "C42", "oncall", []string{
			"*On call for Ops:*",
			"• Level 1: Ada Lovelace (Primary &lt;eu&gt;, until <!date^1796634000^{date_short_pretty} {time}|2026-12-07 09:00 UTC>); Alan Turing (Primary &lt;us&gt;",
			"\n• Level 2: Grace Hopper"}},
		{"a policy named, anywhere", "UADA", "CRANDOM", "oncall ops", []string{"*On call for Ops:*", "Level 2: Grace Hopper"}},
		{"an observer", "UOBS", "C42", "oncall", []string{"Level 1: Ada Lovelace"}},
		{"no one on call", "UADA", "C42", "oncall Database Ops", []string{"No one is on call for *Database Ops* right now."}},
		{"no policy outside an incident channel", "UADA", "CRANDOM", "oncall", []string{"Name an escalation policy"}},
		{"a service's policy", "UADA", "C42", "oncall checkout api", []string{"*On call for Ops (service Checkout API):*", "Level 2: Grace Hopper"}},
		{"several services", "UADA", "C42", "oncall checkout", []string{"Several services match “checkout”: Checkout API, Checkout Web"}},
		{"an unknown policy or service", "UADA", "C42", "oncall Payments", []string{"no escalation policy or service matching “Payments”"}},
		{"several policies", "UADA", "C42", "oncall data", []string{"Several escalation policies match “data”: Database, Database Ops"}},
		{"no PagerDuty user", "UANN", "C42", "oncall", []string{errNoPagerDutyUser.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, "triggered")
			req := incident.ParseCommand(tt.text)
			req.UserID, req.ChannelID = tt.user, tt.channel
			a := h.do(req)
			for _, w := range tt.want {
				if !strings.Contains(a.Text, w) {
					t.Errorf("answer = %q, want %q in it", a.Text, w)
				}
			}
		})
	}
}

// TestOnCallRefused: PagerDuty's refusal is told.
func TestOnCallRefused(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.err = errors.New("PagerDuty is rate limiting requests; try again in 3s.")
	if a := h.do(incident.Request{Kind: incident.RequestOnCall, ChannelID: "C42", UserID: "UADA"}); a.Text != h.pd.err.Error() {
		t.Errorf("answer = %q, want PagerDuty's refusal", a.Text)
	}
}

// TestHelpListsEverySubcommand: /inc help shows every row of the table,
// and every row's subcommand is one /inc understands.
func TestHelpListsEverySubcommand(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	help := h.do(incident.ParseCommand("help")).Text
	for _, c := range incident.Subcommands {
		if !strings.Contains(help, "`"+c.Usage+"`") {
			t.Errorf("help lacks %s", c.Usage)
		}
		word := strings.Fields(c.Usage)[1]
		if req := incident.ParseCommand(word + " x"); req.Kind == incident.RequestHelp && req.Unknown != "" {
			t.Errorf("the help's %q is not a subcommand /inc understands", c.Usage)
		}
	}
	for _, word := range []string{"priority", "urgency", "title", "reassign", "page", "oncall"} {
		if !strings.Contains(help, "`/inc "+word) {
			t.Errorf("help lacks /inc %s", word)
		}
	}
}
