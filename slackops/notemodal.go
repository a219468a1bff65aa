package slackops

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.ResponderSlack = (*Client)(nil)

// Ids of the note modal, the contract between NoteModal and the handler
// of its submission.
const (
	NoteCallbackID = "incident_note_modal"
	NoteBlockID    = "note"
	NoteActionID   = "text"
	// TimelineCallbackID is the message shortcut's callback id, as the
	// app manifest declares it; FollowUpCallbackID the Add as follow-up
	// shortcut's.
	TimelineCallbackID = "add_to_timeline"
	FollowUpCallbackID = "add_follow_up"
)

// maxNote bounds a note typed in the modal (Slack's limit for a text
// input).
const maxNote = 3000

// NoteModal is the modal the Add note button opens: one text field; its
// private metadata names the incident and the channel.
func NoteModal(incidentID, channelID string) slack.ModalViewRequest {
	return textModal(textForm{
		callbackID: NoteCallbackID, blockID: NoteBlockID, actionID: NoteActionID,
		title: "Add a PagerDuty note", label: "Note", placeholder: "What responders should know", submit: "Add note",
	}, incidentID, channelID)
}

// textForm is what tells one text modal from another.
type textForm struct {
	callbackID, blockID, actionID     string
	title, label, placeholder, submit string
}

// textModal is a modal of one multi-line text field, whose private
// metadata names the incident and the channel (ModalIncident).
func textModal(f textForm, incidentID, channelID string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, f.placeholder, false, false), f.actionID)
	input.Multiline = true
	input.MaxLength = maxNote
	block := slack.NewInputBlock(f.blockID, slack.NewTextBlockObject(slack.PlainTextType, f.label, false, false), nil, input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      f.callbackID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, f.title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, f.submit, false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		PrivateMetadata: incidentID + " " + channelID,
		Blocks:          slack.Blocks{BlockSet: []slack.Block{block}},
	}
}

// ModalIncident returns the incident and channel a note modal's private
// metadata names.
func ModalIncident(metadata string) (incidentID, channelID string) {
	incidentID, channelID, _ = strings.Cut(metadata, " ")
	return incidentID, channelID
}

// OpenNoteForm opens the note modal for the incident and channel with
// triggerID (views.open), as OpenView does.
func (c *Client) OpenNoteForm(ctx context.Context, triggerID, incidentID, channelID string) error {
	return c.OpenView(ctx, triggerID, NoteModal(incidentID, channelID))
}
