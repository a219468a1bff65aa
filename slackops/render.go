package slackops

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

// statusEmoji marks the status at a glance in the header and fields.
var statusEmoji = map[incident.Status]string{
	incident.StatusTriggered:    "🔴",
	incident.StatusAcknowledged: "🟠",
	incident.StatusResolved:     "🟢",
}

// RootBlocks renders the root message of an incident's channel from its
// stored snapshot: a header with number and title, the fields responders
// look for, and links to PagerDuty and the conference bridge. The same
// snapshot always renders the same blocks, so an update is idempotent.
func RootBlocks(inc incident.Snapshot) []slack.Block { return rootBlocks(incident.Root{Incident: inc}) }

// rootBlocks is RootBlocks with the latest status update and the
// responders' buttons of r, above the links.
func rootBlocks(r incident.Root) []slack.Block {
	inc, acts := r.Incident, r.Actions
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Plain(headerText(inc), MaxHeader), true, false)),
	}
	if !inc.Complete {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(
			"_Waiting for PagerDuty's incident details: this message fills in with the next incident event._"), nil, nil))
		if a := respond(inc, acts); a != nil {
			blocks = append(blocks, a)
		}
		if a := actions(inc); a != nil {
			blocks = append(blocks, a)
		}
		return blocks
	}

	var fields []*slack.TextBlockObject
	field := func(name, value string) {
		if value == "" || len(fields) == MaxFields {
			return
		}
		label := "*" + name + "*\n"
		fields = append(fields, mrkdwn(label+Mrkdwn(value, MaxField-len(label))))
	}
	rawField := func(name, mrkdwnValue string) { // value already safe mrkdwn
		if mrkdwnValue != "" && len(fields) < MaxFields {
			fields = append(fields, mrkdwn("*"+name+"*\n"+mrkdwnValue))
		}
	}
	rawField("Status", strings.TrimSpace(statusEmoji[inc.Status]+" "+statusText(inc)))
	field("Urgency", incident.TitleCase(string(inc.Urgency)))
	field("Priority", incident.OrDash(inc.Priority))
	rawField("Service", link(inc.Service.HTMLURL, incident.OrDash(inc.Service.Summary), MaxField-20))
	field("Assigned to", incident.OrDash(incident.Names(inc.Assignees)))
	rawField("Lead", leadText(r.Lead))
	field("Roles", rolesText(r.Roles))
	rawField("Escalation policy", link(inc.EscalationPolicy.HTMLURL, incident.OrDash(inc.EscalationPolicy.Summary), MaxField-30))
	rawField("Created", date(inc.CreatedAt))
	if inc.Status == incident.StatusResolved {
		rawField("Resolved", date(inc.ResolvedAt))
	}
	field("Incident type", inc.IncidentType)
	field("Teams", incident.Names(inc.Teams))
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))

	if inc.ConferenceURL != "" || inc.ConferenceNumber != "" {
		conf := "*Conference bridge*"
		if inc.ConferenceURL != "" {
			conf += "\n" + link(inc.ConferenceURL, inc.ConferenceURL, 1000)
		}
		if inc.ConferenceNumber != "" {
			conf += "\n" + Mrkdwn(inc.ConferenceNumber, 500)
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(conf), nil, nil))
	}
	if u := updateSection(r.Update); u != nil {
		blocks = append(blocks, u)
	}
	if a := respond(inc, acts); a != nil {
		blocks = append(blocks, a)
	}
	if a := actions(inc); a != nil {
		blocks = append(blocks, a)
	}
	if !inc.UpdatedAt.IsZero() {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Last change "+date(inc.UpdatedAt)+" · edited in place as the incident changes")))
	}
	return blocks
}

// RootMessageBlocks renders the root message of r: RootBlocks, and for a
// channel opened after the incident began elsewhere, a section listing
// what happened before, just above the "Last change" line.
func RootMessageBlocks(r incident.Root) []slack.Block {
	blocks := rootBlocks(r)
	var extra []slack.Block
	if l := channelLink("Continues ", r.Previous); l != "" {
		// The incident was reopened after its first channel was archived.
		extra = append(extra, slack.NewContextBlock("", mrkdwn(l+" (archived), where the incident ran before it resolved")))
	}
	if section := beforeSection("Before this channel opened", r.Before); section != nil {
		extra = append(extra, section)
	}
	if section := pastSection(r.Past); section != nil {
		extra = append(extra, section)
	}
	if len(extra) == 0 {
		return blocks
	}
	if n := len(blocks); n > 0 && blocks[n-1].BlockType() == slack.MBTContext {
		return append(append(blocks[:n-1:n-1], extra...), blocks[n-1])
	}
	return append(blocks, extra...)
}

// beforeSection lists history lines under a bold title, within a
// section's limit; nil when there are none.
func beforeSection(title string, lines []incident.HistoryLine) slack.Block {
	if len(lines) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("*" + title + "*")
	for _, l := range lines {
		line := "\n• " + date(l.At) + " — " + Mrkdwn(l.Text, 300)
		if b.Len()+len(line) > MaxSectionText {
			break
		}
		b.WriteString(line)
	}
	return slack.NewSectionBlock(mrkdwn(b.String()), nil, nil)
}

// maxPastNote bounds the resolution note a past incident shows on the
// root; its channel has the rest.
const maxPastNote = 300

// pastSection lists the similar past incidents of the root: each its
// channel (or PagerDuty page), number and title, when it began, how it
// ended and its resolution note. Nil when there are none.
func pastSection(past []incident.PastIncident) slack.Block {
	if len(past) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("*Seen before: similar past incidents of this service*")
	for _, p := range past {
		what := link(p.HTMLURL, numberTitle(incident.Snapshot{Number: p.Number, Title: p.Title}), 400)
		line := "\n• " + strings.TrimPrefix(channelLink("", p.ChannelID)+" ", " ") + what
		if d := date(p.TriggeredAt); d != "" {
			line += " — " + d
		}
		if o := p.Outcome(); o != "" {
			line += " · " + Mrkdwn(o, 200)
		}
		if p.Note != "" {
			line += "\n" + quote(Mrkdwn(strings.Join(strings.Fields(p.Note), " "), maxPastNote))
		}
		if b.Len()+len(line) > MaxSectionText {
			break
		}
		b.WriteString(line)
	}
	return slack.NewSectionBlock(mrkdwn(b.String()), nil, nil)
}

// PlainRootBlocks is the root message reduced to a header and one text
// section, no links or buttons: what is posted when Slack rejects the
// full blocks, so an odd payload never stalls an incident's updates.
func PlainRootBlocks(inc incident.Snapshot) []slack.Block {
	return []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Plain(headerText(inc), MaxHeader), true, false)),
		slack.NewSectionBlock(mrkdwn(Mrkdwn(incident.Topic(inc)+"\nAssigned to: "+incident.OrDash(incident.Names(inc.Assignees)), MaxSectionText)), nil, nil),
	}
}

// RootText is the plain fallback of the root message, shown in
// notifications and by clients that cannot render blocks.
func RootText(inc incident.Snapshot) string {
	text := headerText(inc)
	if t := incident.Topic(inc); t != "" {
		text += " — " + t
	}
	return Mrkdwn(text, 1000)
}

func headerText(inc incident.Snapshot) string {
	title := incident.OrDash(inc.Title)
	if inc.Number > 0 {
		title = "#" + strconv.Itoa(inc.Number) + " " + title
	}
	if e := statusEmoji[inc.Status]; e != "" && inc.Complete {
		title = e + " " + title
	}
	return title
}

// actions is the row of link buttons: the PagerDuty incident and the
// conference bridge. Buttons with a URL need no interactivity endpoint.
func actions(inc incident.Snapshot) *slack.ActionBlock {
	var els []slack.BlockElement
	if safeURL(inc.HTMLURL) {
		b := slack.NewButtonBlockElement("open_pagerduty", "", slack.NewTextBlockObject(slack.PlainTextType, "Open in PagerDuty", false, false))
		b.URL = inc.HTMLURL
		b.Style = slack.StylePrimary
		els = append(els, b)
	}
	if safeURL(inc.ConferenceURL) {
		b := slack.NewButtonBlockElement("join_conference", "", slack.NewTextBlockObject(slack.PlainTextType, "Join conference", false, false))
		b.URL = inc.ConferenceURL
		els = append(els, b)
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("links", els...)
}

// RespondBlockID is the block id of the root message's row of responder
// buttons.
const RespondBlockID = "respond"

// buttonText are the labels of the responders' buttons.
var buttonText = map[incident.Action]string{
	incident.ActionAcknowledge: "Acknowledge",
	incident.ActionResolve:     "Resolve",
	incident.ActionEscalate:    "Escalate",
	incident.ActionNote:        "Add note",
	incident.ActionUpdate:      "Post update",
	incident.ActionLead:        "I'll lead",
	incident.ActionSnooze30m:   "Snooze 30 min",
	incident.ActionSnooze2h:    "Snooze 2 h",
}

// respond is the row of buttons responders act on the incident with
// (handled at the interactivity Request URL): each carries the incident
// id as its value. Resolve and escalate ask first, since a slip pages
// people or closes the incident for everyone. Nil without actions.
func respond(inc incident.Snapshot, acts []incident.Action) *slack.ActionBlock {
	var els []slack.BlockElement
	for _, a := range acts {
		b := slack.NewButtonBlockElement(string(a), inc.ID, slack.NewTextBlockObject(slack.PlainTextType, buttonText[a], false, false))
		switch a {
		case incident.ActionAcknowledge:
			b.Style = slack.StylePrimary
		case incident.ActionResolve:
			b.Confirm = confirm("Resolve "+shortName(inc)+"?", numberTitle(inc)+" is resolved in PagerDuty for everyone.", "Resolve")
		case incident.ActionEscalate:
			b.Confirm = confirm("Escalate "+shortName(inc)+"?", "The next level of the escalation policy is paged for "+numberTitle(inc)+".", "Escalate")
		}
		els = append(els, b)
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock(RespondBlockID, els...)
}

// shortName names inc in a dialog's title: its number, when it has one.
func shortName(inc incident.Snapshot) string {
	if inc.Number > 0 {
		return "#" + strconv.Itoa(inc.Number)
	}
	return "this incident"
}

// confirm is the dialog a button shows before it acts.
func confirm(title, text, yes string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, Plain(title, 100), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, Plain(text, 300), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, yes, false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
}

// maxBodyChunks bounds the sections a reply body is split into, so a reply
// stays within Slack's 50 blocks and 40 000 characters.
const maxBodyChunks = 12

// ReplyBlocks renders a thread reply: the headline, the body (a note, a
// status update) quoted and split into sections, and when it happened.
func ReplyBlocks(r incident.Reply) []slack.Block {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(mentions(r)+"*"+Mrkdwn(r.Headline, MaxSectionText-200)+"*"+replyLink(r)), nil, nil)}
	parts, truncated := chunks(r.Body, MaxSectionText-200, maxBodyChunks)
	for _, p := range parts {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(quote(p)), nil, nil))
	}
	if a := respond(incident.Snapshot{ID: r.IncidentID}, r.Buttons); a != nil && r.IncidentID != "" {
		blocks = append(blocks, a)
	}
	ctx := date(r.At)
	if truncated {
		ctx += " · _the text was too long for Slack and was cut; PagerDuty has all of it_"
	}
	if ctx != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(ctx)))
	}
	return blocks
}

// ReplyText is the fallback of a thread reply (notifications): the
// headline and the start of the body.
func ReplyText(r incident.Reply) string {
	text := mentions(r) + Mrkdwn(r.Headline, 1000) + replyLink(r)
	if r.Body != "" {
		text += "\n" + Mrkdwn(r.Body, 2000)
	}
	return text
}

// replyLink is what a reply links after its headline: a channel, else a
// web page; "" for neither.
func replyLink(r incident.Reply) string {
	if l := channelLink(" → ", r.Channel); l != "" {
		return l
	}
	if r.URL != "" {
		return " → " + link(r.URL, "PagerDuty", 150)
	}
	return ""
}

// quote prefixes every line with mrkdwn's quote marker.
func quote(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// link renders text as a mrkdwn link to u when u is a usable http(s) URL,
// else as escaped text; the result is at most max characters. The URL is
// escaped too: it comes from the webhook.
func link(u, text string, max int) string {
	esc := strings.ReplaceAll(u, "&", "&amp;")
	if !safeURL(u) || len(esc) > max/2 {
		return Mrkdwn(text, max)
	}
	return "<" + esc + "|" + Mrkdwn(text, max-len(esc)-3) + ">"
}

// safeURL reports whether u can go into a link or a button: an absolute
// http(s) URL with a host, no spaces, control characters or the
// characters that end a mrkdwn link, within Slack's 3000 characters.
func safeURL(u string) bool {
	if len(u) > MaxURL || !httpURL(u) || strings.ContainsAny(u, "|<> ") || strings.ContainsFunc(u, unsafeRune) || strings.ContainsAny(u, "\n\t") {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && p.Host != ""
}

// date renders t with Slack's date formatting, shown in each reader's own
// time zone, with a UTC fallback for clients that cannot format it.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func httpURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// statusText is the root's status: "Merged into" the surviving incident
// for a merged one, else the status.
func statusText(inc incident.Snapshot) string {
	if m := inc.MergedInto; m.ID != "" && inc.Status == incident.StatusResolved {
		return "Merged into " + link(m.HTMLURL, incident.OrDash(m.Summary), 300)
	}
	return Mrkdwn(incident.TitleCase(incident.OrDash(string(inc.Status))), 100)
}

// BoardBlocks renders an incident's message in a shared channel. The
// announce line (b.Thread unset) is one section: the status, the number
// and title linked to PagerDuty, the incident's own channel when it has
// one, and a line of status, urgency, priority, service and assignees.
// The post-only message (b.Thread set) is the root message with a line
// saying its updates are in the thread, and where the incident moved when
// it got a channel of its own. The same entry always renders the same
// blocks.
func BoardBlocks(b incident.BoardEntry) []slack.Block {
	if b.Thread {
		blocks := RootBlocks(b.Incident)
		if s := beforeSection("Before this message", b.Before); s != nil {
			blocks = append(blocks, s)
		}
		return append(blocks, slack.NewContextBlock("", mrkdwn(threadNote(b.ChannelID))))
	}
	inc := b.Incident
	line := link(inc.HTMLURL, numberTitle(inc), 1500)
	if e := statusEmoji[inc.Status]; e != "" && inc.Complete {
		line = e + " " + line
	}
	text := line + boardChannel(b)
	if d := boardDetails(inc); d != "" {
		text += "\n" + Mrkdwn(d, 1200)
	}
	if u := boardUpdate(b.Update); u != "" {
		text += "\n" + Mrkdwn(u, 300)
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}
}

// PlainBoardBlocks is the shared-channel message without links or
// buttons (the channel mention stays): what is posted when Slack rejects
// the full blocks.
func PlainBoardBlocks(b incident.BoardEntry) []slack.Block {
	if b.Thread {
		return append(PlainRootBlocks(b.Incident), slack.NewContextBlock("", mrkdwn(threadNote(b.ChannelID))))
	}
	text := Mrkdwn(headerText(b.Incident), 1500) + boardChannel(b)
	if d := boardDetails(b.Incident); d != "" {
		text += "\n" + Mrkdwn(d, 1200)
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}
}

// BoardText is the plain fallback of a shared-channel message
// (notifications).
func BoardText(b incident.BoardEntry) string {
	return RootText(b.Incident) + boardChannel(b)
}

// boardChannel links the incident's own channel from an announce line,
// saying when it is archived.
func boardChannel(b incident.BoardEntry) string {
	l := channelLink(" → ", b.ChannelID)
	if l != "" && b.Archived {
		l += " (archived)"
	}
	return l
}

// numberTitle is "#1234 title", or the title alone without a number.
func numberTitle(inc incident.Snapshot) string {
	if inc.Number > 0 {
		return "#" + strconv.Itoa(inc.Number) + " " + incident.OrDash(inc.Title)
	}
	return incident.OrDash(inc.Title)
}

// boardDetails is the announce line's second line, in plain text:
// "Acknowledged · high · P1 · Checkout API · Ada Lovelace".
func boardDetails(inc incident.Snapshot) string {
	if !inc.Complete {
		return "Waiting for PagerDuty's incident details"
	}
	d := incident.Topic(inc)
	if names := incident.Names(inc.Assignees); names != "" {
		if d != "" {
			d += " · "
		}
		d += names
	}
	return d
}

// threadNote is the post-only message's last line.
func threadNote(channelID string) string {
	return "Updates in the thread" + channelLink(" · Moved to ", channelID)
}

// channelLink returns prefix and a mention of the channel id, or "" when
// id is empty or not a Slack channel id: the id goes into mrkdwn as is,
// so it may hold nothing but upper-case letters and digits.
func channelLink(prefix, id string) string {
	if !ValidChannelID(id) {
		return ""
	}
	return prefix + "<#" + id + ">"
}

// ValidChannelID reports whether id looks like a Slack channel id
// (C0123ABCD, G…): 2 to 32 upper-case letters and digits.
func ValidChannelID(id string) bool {
	if len(id) < 2 || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
