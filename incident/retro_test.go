package incident

import (
	"strings"
	"testing"
	"time"
)

func retroState() State {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return State{
		Exists: true,
		Snapshot: Snapshot{
			ID: "PABC", Number: 42, Title: "Checkout latency high", Status: StatusResolved,
			Urgency: UrgencyHigh, Priority: "P1", HTMLURL: "https://acme.pagerduty.com/incidents/PABC",
			Service:   Ref{ID: "PSVC", Summary: "checkout"},
			Assignees: []Ref{{ID: "PU1", Summary: "Ada Lovelace"}},
			CreatedAt: t0, ResolvedAt: t0.Add(95 * time.Minute),
		},
		ChannelID: "C42", ChannelName: "inc-42-checkout-latency-high",
		Timeline: []HistoryLine{
			{At: t0, Text: "Triggered (high urgency)"},
			{At: t0.Add(5 * time.Minute), Text: "Acknowledged by Ada Lovelace"},
			{At: t0.Add(95 * time.Minute), Text: "Resolved by Bob Stone after 1h 35m"},
		},
		People:     []Ref{{ID: "PU1", Summary: "Ada Lovelace"}, {ID: "PU2", Summary: "Bob Stone"}},
		AckedAt:    t0.Add(5 * time.Minute),
		AckedBy:    "Ada Lovelace",
		ResolvedBy: "Bob Stone", LastResolvedAt: t0.Add(95 * time.Minute),
		FollowUps: []string{"Alert on pool size"},
	}
}

func TestRetrospective(t *testing.T) {
	t.Parallel()
	open := retroState()
	open.Snapshot.Status, open.Snapshot.ResolvedAt = StatusAcknowledged, time.Time{}
	open.Timeline, open.FollowUps, open.People, open.Snapshot.Assignees = nil, nil, nil, nil
	open.AckedBy, open.ResolvedBy, open.ChannelID = "", "", ""

	cut := retroState()
	cut.TimelineCut = 7

	hostile := retroState()
	hostile.Snapshot.Title = "<!channel> db down\n# pwned ![](@U123) [x](javascript:alert(1))"
	hostile.FollowUps = []string{"ping <@U999> *now*"}
	hostile.Timeline = []HistoryLine{{At: hostile.Snapshot.CreatedAt, Text: "Note from Eve: <!here> _go_\n- [ ] fake"}}
	hostile.Snapshot.HTMLURL = "javascript:alert(1)"

	tests := []struct {
		name   string
		st     State
		want   []string
		absent []string
	}{
		{
			name: "resolved",
			st:   retroState(),
			want: []string{
				"# Incident #42: Checkout latency high\n",
				"- **Service:** checkout\n",
				"- **Status:** Resolved\n",
				"- **Priority:** P1\n",
				"- **Assigned to:** Ada Lovelace\n",
				"- **Links:** [PagerDuty #42](https://acme.pagerduty.com/incidents/PABC) · [#inc-42-checkout-latency-high](https://slack.com/app_redirect?channel=C42)\n",
				"## Impact window\n\n- **Triggered:** 2026-03-01 09:00 UTC\n",
				"- **First acknowledged:** 2026-03-01 09:05 UTC by Ada Lovelace\n",
				"- **Resolved:** 2026-03-01 10:35 UTC by Bob Stone\n- **Duration:** 1h 35m\n",
				"## Timeline\n\n- 2026-03-01 09:00 UTC — Triggered (high urgency)\n",
				"- 2026-03-01 10:35 UTC — Resolved by Bob Stone after 1h 35m\n",
				"## People involved\n\n- Ada Lovelace\n- Bob Stone\n\n",
				"## Follow-ups\n\n- [ ] Alert on pool size\n",
				"## What went well\n",
				"## What to improve\n",
			},
		},
		{
			name:   "still open",
			st:     open,
			want:   []string{"- **Status:** Acknowledged\n", "- **Resolved:** not yet\n", "_No events recorded._", "_No one recorded._", "_None noted yet"},
			absent: []string{"Duration", "Slack channel", "app_redirect"},
		},
		{
			name: "timeline cut",
			st:   cut,
			want: []string{"UTC — Triggered (high urgency)\n- … 7 more events …\n- 2026-03-01 09:05 UTC"},
		},
		{
			name: "untrusted text",
			st:   hostile,
			want: []string{
				"# Incident #42: \\<\\!channel\\> db down # pwned \\!\\[\\](\\@U123) \\[x\\](javascript:alert(1))\n",
				"- [ ] ping \\<\\@U999\\> \\*now\\*\n",
				"— Note from Eve: \\<\\!here\\> \\_go\\_ - \\[ \\] fake\n",
			},
			absent: []string{"<!", "<@", "](@", "x](javascript", "[PagerDuty", "\n# pwned", "\n- [ ] fake"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Retrospective(tt.st)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Retrospective() =\n%s\nwant it to contain %q", got, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("Retrospective() =\n%s\nwant no %q", got, a)
				}
			}
		})
	}
}

func TestMarkdownText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a\n\n# heading\n- item", "a # heading - item"},
		{"<@U1> <!subteam^S1>", "\\<\\@U1\\> \\<\\!subteam^S1\\>"},
		{"`code` *b* _i_ ~s~ | a", "\\`code\\` \\*b\\* \\_i\\_ \\~s\\~ \\| a"},
		{"back\\slash", "back\\\\slash"},
		{"日本語 ✓", "日本語 ✓"},
		{strings.Repeat("x", maxMarkdownText+5), strings.Repeat("x", maxMarkdownText-1) + "…"},
	}
	for _, tt := range tests {
		if got := markdownText(tt.in); got != tt.want {
			t.Errorf("markdownText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
