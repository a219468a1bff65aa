package slackops

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// TestLatestUpdateShown: the root message and the announce line show the
// latest status update with its author, escaped, and nothing without one.
func TestLatestUpdateShown(t *testing.T) {
	t.Parallel()
	inc := incident.Snapshot{ID: "Q1", Number: 7, Title: "Checkout down", Status: incident.StatusAcknowledged, Complete: true}
	up := incident.StatusUpdate{Text: "<!channel> rolled back", By: "Ada Lovelace", At: time.Date(2026, 11, 23, 3, 12, 0, 0, time.UTC)}
	render := func(blocks any) string {
		b, err := json.Marshal(blocks)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	root := render(RootMessageBlocks(incident.Root{Incident: inc, Update: up}))
	board := render(BoardBlocks(incident.BoardEntry{Incident: inc, Update: up}))
	for what, got := range map[string]string{"root": root, "announce line": board} {
		if !strings.Contains(got, "\\u0026lt;!channel\\u0026gt; rolled back") || strings.Contains(got, "<!channel>") {
			t.Errorf("%s = %s, want the update's text, escaped", what, got)
		}
	}
	if !strings.Contains(root, "Latest update") || !strings.Contains(root, "Ada Lovelace") || !strings.Contains(root, "2026-11-23 03:12 UTC") {
		t.Errorf("root = %s, want the latest update with its author and time", root)
	}
	if got := render(RootMessageBlocks(incident.Root{Incident: inc})); strings.Contains(got, "Latest update") {
		t.Errorf("root without an update = %s, want no update section", got)
	}
}

// TestReminderReply: a reminder mentions the lead's Slack user (so Slack
// notifies them) and names, escaped, those without one, and carries the
// buttons acting on its incident.
func TestReminderReply(t *testing.T) {
	t.Parallel()
	r := incident.Reply{Headline: "Time for a status update", IncidentID: "Q1", Mention: []string{"U0ADA", "<!channel>"},
		MentionPeople: []incident.Ref{{ID: "PGRACE", Summary: "Grace <Hopper>"}},
		Buttons:       []incident.Action{incident.ActionUpdate, incident.ActionSnooze30m, incident.ActionSnooze2h}}
	b, err := json.Marshal(ReplyBlocks(r))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b) + ReplyText(r)
	for _, want := range []string{`\u003c@U0ADA\u003e`, "Grace \u0026lt;Hopper\u0026gt;", `"action_id":"incident_snooze_30m","value":"Q1"`,
		`"action_id":"incident_snooze_2h","value":"Q1"`, `"action_id":"incident_update","value":"Q1"`, "<@U0ADA> Grace &lt;Hopper&gt;: "} {
		if !strings.Contains(got, want) {
			t.Errorf("reminder = %s, want it to hold %s", got, want)
		}
	}
	if strings.Contains(got, "<!channel>") || strings.Contains(got, `\u003c!channel`) {
		t.Errorf("reminder = %s, want no mention that is not a user id", got)
	}
}

// TestRootShowsLeadAndRoles: the root names the lead by a mention of
// their Slack user, and the roles given in PagerDuty by name, escaped.
func TestRootShowsLeadAndRoles(t *testing.T) {
	t.Parallel()
	inc := incident.Snapshot{ID: "Q1", Number: 7, Title: "Checkout down", Status: incident.StatusAcknowledged, Complete: true}
	b, err := json.Marshal(RootMessageBlocks(incident.Root{Incident: inc, Lead: incident.Lead{SlackUserID: "U0ADA", Name: "ada"},
		Roles: []incident.Role{{Name: "Incident Commander", Assignee: incident.Ref{Summary: "Grace <Hopper>"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`*Lead*\n\u003c@U0ADA\u003e`, `*Roles*\nIncident Commander: Grace \u0026lt;Hopper\u0026gt;`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("root = %s, want it to hold %s", b, want)
		}
	}
	b, _ = json.Marshal(RootMessageBlocks(incident.Root{Incident: inc, Lead: incident.Lead{SlackUserID: "<!channel>", Name: "Ada"}}))
	if !strings.Contains(string(b), `*Lead*\nAda`) {
		t.Errorf("root with a lead whose id is not a user id = %s, want the name", b)
	}
}
