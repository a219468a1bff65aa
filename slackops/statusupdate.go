package slackops

import (
	"context"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

// Ids of the status update modal, the contract between UpdateModal and
// the handler of its submission.
const (
	UpdateCallbackID = "incident_update_modal"
	UpdateBlockID    = "update"
	UpdateActionID   = "text"
)

// UpdateModal is the modal the Post update button (and /inc update
// alone) opens: one text field; its private metadata names the incident
// and the channel, as the note modal's does.
func UpdateModal(incidentID, channelID string) slack.ModalViewRequest {
	return textModal(textForm{
		callbackID: UpdateCallbackID, blockID: UpdateBlockID, actionID: UpdateActionID,
		title: "Post a status update", label: "Status update", placeholder: "What stakeholders should know now", submit: "Post update",
	}, incidentID, channelID)
}

// OpenUpdateForm opens the status update modal for the incident and
// channel with triggerID (views.open), as OpenView does.
func (c *Client) OpenUpdateForm(ctx context.Context, triggerID, incidentID, channelID string) error {
	return c.OpenView(ctx, triggerID, UpdateModal(incidentID, channelID))
}

// maxUpdateOnRoot bounds the latest update's text on the root message;
// the thread has all of it.
const maxUpdateOnRoot = 600

// updateSection is the root message's latest status update: when, by
// whom, and its text quoted; nil when there is none.
func updateSection(u incident.StatusUpdate) slack.Block {
	if u.Text == "" {
		return nil
	}
	head := "*Latest update* " + date(u.At)
	if u.By != "" {
		head += " · " + Mrkdwn(u.By, 200)
	}
	return slack.NewSectionBlock(mrkdwn(head+"\n"+quote(Mrkdwn(u.Text, maxUpdateOnRoot))), nil, nil)
}

// boardUpdate is the announce line's latest update, plain text cut short.
func boardUpdate(u incident.StatusUpdate) string {
	if u.Text == "" {
		return ""
	}
	return "Update: " + u.Text
}

// leadText is the root's lead: a mention of their Slack user, which
// Slack shows by name; "" when nobody leads.
func leadText(l incident.Lead) string {
	if userIDRE.MatchString(l.SlackUserID) {
		return "<@" + l.SlackUserID + ">"
	}
	return Mrkdwn(l.Name, 200)
}

// userIDRE is a Slack user id, safe to put into a mention as is.
var userIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)

// mentions starts a reply that names people: a mention of each Slack
// user, so Slack notifies them, and the names of those without one; ""
// for none.
func mentions(r incident.Reply) string {
	var parts []string
	for _, id := range r.Mention {
		if userIDRE.MatchString(id) {
			parts = append(parts, "<@"+id+">")
		}
	}
	if names := incident.Names(r.MentionPeople); names != "" {
		parts = append(parts, Mrkdwn(names, 500))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + ": "
}

// rolesText lists the roles given in PagerDuty, one a line: "Incident
// Commander: Ada Lovelace"; "" for none.
func rolesText(roles []incident.Role) string {
	lines := make([]string, 0, len(roles))
	for _, r := range roles {
		lines = append(lines, r.Name+": "+incident.OrDash(r.Assignee.Summary))
	}
	return strings.Join(lines, "\n")
}
