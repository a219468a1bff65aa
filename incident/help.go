package incident

import "strings"

// Subcommand is one /inc subcommand as /inc help lists it.
type Subcommand struct {
	// Usage is how it is typed ("/inc note <text>"); Does what it does.
	Usage, Does string
}

// Subcommands are /inc's subcommands in the order /inc help lists them:
// the one table of them, to which a new subcommand adds its row.
var Subcommands = []Subcommand{
	{"/inc ack", "acknowledge the incident"},
	{"/inc resolve [note]", "resolve it, with an optional resolution note"},
	{"/inc escalate", "escalate it to the next level of its escalation policy"},
	{"/inc note <text>", "add a note to its PagerDuty timeline (`/inc note` alone opens a form)"},
	{"/inc update <text>", "post a status update: it shows in the channel and on the first message (`/inc update` alone opens a form)"},
	{"/inc lead [@person]", "name who leads the incident (yourself when no one is named)"},
	{"/inc status", "show its status, only to you"},
	{"/inc followup <text>", "note a follow-up for after the incident; `/inc followups` lists them"},
	{"/inc export", "post the retrospective draft (Markdown) in the channel's thread"},
	{"/inc priority <name>", "set its priority (`/inc priority P2`)"},
	{"/inc urgency high|low", "set its urgency"},
	{"/inc title <text>", "rename it"},
	{"/inc reassign @person", "assign it to someone else"},
	{"/inc page @person|@group… [message]", "ask more people to join it (a responder request); or `/inc page <escalation policy> [message]`"},
	{"/inc oncall [escalation policy or service]", "show who is on call, by level, only to you: for the policy (or service) named, or the incident's"},
	{"/inc help", "list these commands"},
}

// helpText lists what /inc does; unknown is a subcommand not understood.
func helpText(unknown string, enabled bool) string {
	var b strings.Builder
	if unknown != "" {
		b.WriteString("`/inc " + slackEscape(unknown) + "` is not something I know.\n")
	}
	b.WriteString("*`/inc` in an incident channel or its threads:*\n")
	for _, c := range Subcommands {
		b.WriteString("• `" + c.Usage + "` — " + c.Does + "\n")
	}
	b.WriteString("You act as your PagerDuty user, found by your Slack email address. " +
		"The buttons on the channel's first message do the same; the message shortcuts *Add to PagerDuty timeline* and *Add as follow-up* add any message as a note or a follow-up.")
	if !enabled {
		b.WriteString("\n_" + notEnabledText + "_")
	}
	return b.String()
}
