package incident

import (
	"strconv"
	"strings"
)

// Texts of the answers.
const (
	notEnabledText = "Acting on PagerDuty from Slack is not set up: an admin sets PAGERDUTY_API_TOKEN " +
		"(a PagerDuty REST API key with write access) on the Incident Channels function."
	notIncidentChannelText = "This is not an incident channel: `/inc` works in the channels Incident Channels opens for PagerDuty incidents."
)

// statusText is the ephemeral summary of /inc status.
func statusText(st State) string {
	inc := st.Snapshot
	lines := []string{"*" + slackEscape(numberOrID(inc)) + "* " + slackEscape(OrDash(inc.Title))}
	lines = append(lines, "Status: *"+OrDash(string(inc.Status))+"*"+ackedBy(st)+" · Urgency: "+OrDash(string(inc.Urgency))+" · Priority: "+OrDash(inc.Priority))
	lines = append(lines, "Service: "+slackEscape(OrDash(inc.Service.Summary))+" · Assigned to: "+slackEscape(OrDash(Names(inc.Assignees))))
	if inc.EscalationPolicy.Summary != "" {
		lines = append(lines, "Escalation policy: "+slackEscape(inc.EscalationPolicy.Summary))
	}
	if inc.HTMLURL != "" {
		lines = append(lines, "<"+inc.HTMLURL+"|Open in PagerDuty>")
	}
	return strings.Join(lines, "\n")
}

func ackedBy(st State) string {
	if st.Snapshot.Status == StatusAcknowledged && st.AckedBy != "" {
		return " (first by " + slackEscape(st.AckedBy) + ")"
	}
	return ""
}

// pastTense says what each kind of request did.
var pastTense = map[RequestKind]string{
	RequestAcknowledge: "acknowledged the incident", RequestResolve: "resolved the incident", RequestEscalate: "escalated the incident",
	RequestNote: "submitted this note", RequestTimeline: "submitted this message to the timeline",
	RequestUpdate: "posted this status update", RequestLead: "named this lead", RequestSnooze: "snoozed this reminder",
	RequestPriority: "set this priority", RequestUrgency: "set this urgency", RequestTitle: "set this title",
	RequestReassign: "made this reassignment", RequestPage: "sent this page",
}

// doingText says what each kind of request is doing.
var doingText = map[RequestKind]string{
	RequestAcknowledge: "acknowledging the incident", RequestResolve: "resolving the incident", RequestEscalate: "escalating the incident",
	RequestNote: "adding this note", RequestTimeline: "adding this message to the timeline",
	RequestUpdate: "posting this status update", RequestLead: "naming this lead", RequestSnooze: "snoozing this reminder",
	RequestPriority: "setting this priority", RequestUrgency: "setting this urgency", RequestTitle: "setting this title",
	RequestReassign: "making this reassignment", RequestPage: "sending this page",
}

// doneByText answers a request another one just did (a double click, or
// two responders at once): nothing is done twice.
func doneByText(kind RequestKind, slackUser string) string {
	return "<@" + slackUser + "> just " + pastTense[kind] + "; it is not done twice."
}

// doingByText answers a request another one is still carrying out when
// this one must answer.
func doingByText(kind RequestKind, slackUser string) string {
	return "<@" + slackUser + "> is " + doingText[kind] + " right now; they will see PagerDuty's answer, and the channel its update."
}

// numberOrID is how answers name an incident: "#1234", or its id.
func numberOrID(inc Snapshot) string {
	if inc.Number > 0 {
		return "#" + strconv.Itoa(inc.Number)
	}
	return inc.ID
}

// slackEscape escapes the characters Slack's mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
