package respond

import (
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

// Ids of the note modal, the contract between NoteModal and the handler
// of its submission.
const (
	NoteCallbackID = "incident_note_modal"
	NoteBlockID    = "note"
	NoteActionID   = "text"
	// TimelineCallbackID is the message shortcut's callback id, as the
	// app manifest declares it.
	TimelineCallbackID = "add_to_timeline"
)

// maxNote bounds a note typed in the modal (Slack's limit for a text
// input).
const maxNote = 3000

// NoteModal is the modal the Add note button opens: one text field; its
// private metadata names the incident and the channel.
func NoteModal(incidentID, channelID string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "What responders should know", false, false), NoteActionID)
	input.Multiline = true
	input.MaxLength = maxNote
	block := slack.NewInputBlock(NoteBlockID, slack.NewTextBlockObject(slack.PlainTextType, "Note", false, false), nil, input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      NoteCallbackID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Add a PagerDuty note", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Add note", false, false),
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

// Texts of the answers.
const (
	notEnabledText = "Acting on PagerDuty from Slack is not set up: an admin sets PAGERDUTY_API_TOKEN " +
		"(a PagerDuty REST API key with write access) on the Incident Channels function."
	notIncidentChannelText = "This is not an incident channel: `/inc` works in the channels Incident Channels opens for PagerDuty incidents."
)

// helpText lists what /inc does; unknown is a subcommand not understood.
func helpText(unknown string, enabled bool) string {
	var b strings.Builder
	if unknown != "" {
		b.WriteString("`/inc " + slackEscape(unknown) + "` is not something I know.\n")
	}
	b.WriteString("*`/inc` in an incident channel:*\n" +
		"• `/inc ack` — acknowledge the incident\n" +
		"• `/inc resolve` — resolve it\n" +
		"• `/inc escalate` — escalate it to the next level of its escalation policy\n" +
		"• `/inc note <text>` — add a note to its PagerDuty timeline (`/inc note` alone opens a form)\n" +
		"• `/inc status` — show its status, only to you\n" +
		"You act as your PagerDuty user, found by your Slack email address. " +
		"The buttons on the channel's first message do the same, and the message shortcut *Add to PagerDuty timeline* adds any message as a note.")
	if !enabled {
		b.WriteString("\n_" + notEnabledText + "_")
	}
	return b.String()
}

// statusText is the ephemeral summary of /inc status.
func statusText(st incident.State) string {
	inc := st.Snapshot
	lines := []string{"*" + slackEscape(name(inc)) + "* " + slackEscape(incident.OrDash(inc.Title))}
	lines = append(lines, "Status: *"+incident.OrDash(string(inc.Status))+"*"+ackedBy(st)+" · Urgency: "+incident.OrDash(string(inc.Urgency))+" · Priority: "+incident.OrDash(inc.Priority))
	lines = append(lines, "Service: "+slackEscape(incident.OrDash(inc.Service.Summary))+" · Assigned to: "+slackEscape(incident.OrDash(incident.Names(inc.Assignees))))
	if inc.EscalationPolicy.Summary != "" {
		lines = append(lines, "Escalation policy: "+slackEscape(inc.EscalationPolicy.Summary))
	}
	if inc.HTMLURL != "" {
		lines = append(lines, "<"+inc.HTMLURL+"|Open in PagerDuty>")
	}
	return strings.Join(lines, "\n")
}

func ackedBy(st incident.State) string {
	if st.Snapshot.Status == incident.StatusAcknowledged && st.AckedBy != "" {
		return " (first by " + slackEscape(st.AckedBy) + ")"
	}
	return ""
}

// pastTense says what each kind of request did.
var pastTense = map[Kind]string{
	Acknowledge: "acknowledged the incident", Resolve: "resolved the incident", Escalate: "escalated the incident",
	Note: "submitted this note", Timeline: "submitted this message to the timeline",
}

// doingText says what each kind of request is doing.
var doingText = map[Kind]string{
	Acknowledge: "acknowledging the incident", Resolve: "resolving the incident", Escalate: "escalating the incident",
	Note: "adding this note", Timeline: "adding this message to the timeline",
}

// doneByText answers a request another one just did (a double click, or
// two responders at once): nothing is done twice.
func doneByText(kind Kind, slackUser string) string {
	return "<@" + slackUser + "> just " + pastTense[kind] + "; it is not done twice."
}

// doingByText answers a request another one is still carrying out when
// this one must answer.
func doingByText(kind Kind, slackUser string) string {
	return "<@" + slackUser + "> is " + doingText[kind] + " right now; they will see PagerDuty's answer, and the channel its update."
}

// name is how answers name an incident: "#1234", or its id.
func name(inc incident.Snapshot) string {
	if inc.Number > 0 {
		return "#" + strconv.Itoa(inc.Number)
	}
	return inc.ID
}

// slackEscape escapes the characters Slack's mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
