package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// SummaryFor is the reply that tells, in an incident's channel opened
// late, what happened before; the event that opened it has its own reply.
func SummaryFor(st State, ev *Event) *Reply {
	var b strings.Builder
	for _, l := range st.History {
		if l.EventID == ev.ID {
			continue
		}
		b.WriteString("• " + l.At.UTC().Format("Jan 2 15:04 UTC") + " — " + l.Text + "\n")
	}
	return &Reply{
		Headline: "What happened before this channel opened",
		Body:     strings.TrimSuffix(b.String(), "\n"),
		EventID:  "summary-" + st.Snapshot.ID,
	}
}

// Topic is the channel topic for inc: status · urgency · priority · service,
// plain text. The Slack adapter truncates it to Slack's 250 characters.
func Topic(inc Snapshot) string {
	var parts []string
	for _, s := range []string{TitleCase(string(inc.Status)), string(inc.Urgency), inc.Priority, inc.Service.Summary} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " · ")
}

// Bookmarks are the links the channel should carry: the PagerDuty incident
// and, when there is one, the conference bridge.
func Bookmarks(inc Snapshot) []Bookmark {
	var bs []Bookmark
	if inc.HTMLURL != "" {
		title := "PagerDuty incident"
		if inc.Number > 0 {
			title = "PagerDuty #" + strconv.Itoa(inc.Number)
		}
		bs = append(bs, Bookmark{Title: title, Link: inc.HTMLURL})
	}
	if strings.HasPrefix(inc.ConferenceURL, "https://") || strings.HasPrefix(inc.ConferenceURL, "http://") {
		bs = append(bs, Bookmark{Title: "Conference bridge", Link: inc.ConferenceURL})
	}
	return bs
}

// ReplyFor returns the thread reply an event deserves, written for a human
// responder, or nil for events the root message already tells (triggered).
func ReplyFor(ev *Event, inc Snapshot) *Reply {
	agent := ev.Agent.Summary
	by := ""
	if agent != "" {
		by = " by " + agent
	}
	r := &Reply{At: ev.OccurredAt, EventID: ev.ID}
	in := ev.Incident
	switch ev.Type {
	case EventAcknowledged:
		r.Headline = "Acknowledged" + by
	case EventUnacknowledged:
		r.Headline = "Unacknowledged: the incident is triggered again"
	case EventResolved:
		r.Headline = "Resolved" + by
		if m := in.MergedInto; m.ID != "" {
			// The executor links the surviving incident's channel when
			// it has one; its PagerDuty page otherwise.
			r.Headline, r.URL = "Merged into "+OrDash(m.Summary)+by, m.HTMLURL
		} else if !inc.CreatedAt.IsZero() && ev.OccurredAt.After(inc.CreatedAt) {
			r.Headline += " after " + humanDuration(ev.OccurredAt.Sub(inc.CreatedAt))
		}
		r.Broadcast = true
	case EventReopened:
		r.Headline = "Reopened" + by
	case EventEscalated:
		r.Headline = "Escalated to " + OrDash(Names(in.Assignees))
		if in.EscalationPolicy.Summary != "" {
			r.Headline += " (" + in.EscalationPolicy.Summary + ")"
		}
	case EventReassigned:
		r.Headline = "Reassigned to " + OrDash(Names(in.Assignees)) + by
	case EventDelegated:
		r.Headline = "Delegated to escalation policy " + OrDash(in.EscalationPolicy.Summary) + by
	case EventPriorityUpdated:
		r.Headline = "Priority changed to " + OrDash(in.Priority) + by
	case EventAnnotated:
		if IsBacklink(ev.Note) {
			// Our own note linking this channel: not news in it.
			return nil
		}
		r.Headline = "Note" + strings.Replace(by, " by ", " from ", 1)
		r.Body = ev.Note
	case EventResponderAdded:
		r.Headline = OrDash(agent) + " requested " + OrDash(ev.Responder.Summary) + " as a responder"
		r.Body = ev.Message
	case EventResponderReplied:
		verb := "answered"
		switch ev.ResponderState {
		case ResponderAccepted:
			verb = "accepted"
		case ResponderDeclined:
			verb = "declined"
		}
		r.Headline = OrDash(ev.Responder.Summary) + " " + verb + " the responder request"
	case EventStatusUpdatePublished:
		r.Headline = "Status update" + strings.Replace(by, " by ", " from ", 1)
		r.Body = ev.Message
		// Stakeholders follow the channel, not the thread.
		r.Broadcast = true
	case EventRoleAssigned:
		var given []string
		for _, role := range ev.Roles {
			given = append(given, OrDash(role.Assignee.Summary)+" is now "+OrDash(role.Name))
		}
		if len(given) == 0 {
			return nil
		}
		r.Headline = strings.Join(given, "; ") + by
	case EventLead:
		r.Headline = OrDash(ev.Lead.Name) + " leads the incident" + strings.Replace(by, " by ", ", named by ", 1)
	case EventConferenceBridgeUpdated:
		r.Headline = "Conference bridge updated"
		r.Body = strings.TrimSpace(in.ConferenceURL + "\n" + in.ConferenceNumber)
	case EventServiceUpdated:
		r.Headline = "Moved to service " + OrDash(in.Service.Summary) + by
	case EventIncidentTypeChanged:
		r.Headline = "Incident type changed to " + OrDash(in.IncidentType) + by
	case EventCustomFieldsUpdated:
		r.Headline = "Custom fields changed" + by
		var lines []string
		for _, f := range ev.Fields {
			lines = append(lines, f.Name+": "+OrDash(f.Value))
		}
		r.Body = strings.Join(lines, "\n")
	case EventWorkflowStarted:
		r.Headline = "Workflow " + OrDash(ev.Workflow.Summary) + " started" + by
	case EventWorkflowCompleted:
		r.Headline = "Workflow " + OrDash(ev.Workflow.Summary) + " completed"
	default:
		return nil
	}
	return r
}

// Names lists the refs' names, comma-separated; "" when none has one.
func Names(refs []Ref) string {
	var ns []string
	for _, r := range refs {
		if r.Summary != "" {
			ns = append(ns, r.Summary)
		}
	}
	return strings.Join(ns, ", ")
}

// OrDash is s, or an em dash for an empty value, as messages show a
// missing field.
func OrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// TitleCase is s with its first letter in upper case ("high" → "High").
func TitleCase(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh %dm", h, m)
}

// MaxChannelName is Slack's limit on channel name length.
const MaxChannelName = 80

var slugDashes = regexp.MustCompile(`-+`)

// ChannelName is "{prefix}-{number}-{slug of title}" within Slack's rules:
// at most 80 characters of lowercase letters, digits, '-' and '_'. Titles
// with no ASCII letters or digits (Japanese, emoji) give "{prefix}-{number}";
// an incident without a number uses its id.
func ChannelName(prefix string, inc Snapshot) string {
	base := Slug(prefix, MaxChannelName)
	if base == "" {
		base = "inc"
	}
	if inc.Number > 0 {
		base += "-" + strconv.Itoa(inc.Number)
	} else if id := Slug(inc.ID, 20); id != "" {
		base += "-" + id
	}
	if len(base) >= MaxChannelName-1 {
		return strings.TrimRight(base[:MaxChannelName], "-")
	}
	if slug := Slug(inc.Title, MaxChannelName-len(base)-1); slug != "" {
		return base + "-" + slug
	}
	return base
}

// Slug lowercases s, folds accented Latin letters to ASCII, turns every run
// of other characters into one '-', and cuts the result to at most max
// bytes at a word boundary where one is near.
func Slug(s string, max int) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r):
			// combining accent left by NFKD: drop it (é → e)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(slugDashes.ReplaceAllString(b.String(), "-"), "-")
	if len(out) <= max {
		return out
	}
	cut := out[:max]
	if i := strings.LastIndexByte(cut, '-'); i > max/2 {
		cut = cut[:i]
	}
	return strings.Trim(cut, "-")
}

// maxTimelineText bounds one timeline line of the resolution summary, so
// the summary stays within one of Slack's 3,000-character sections.
const maxTimelineText = 80

// ResolutionSummary is the body of the reply that a resolution posts,
// broadcast to the channel: how long the incident lasted, its first
// acknowledgement, how often it was escalated, reassigned and annotated,
// who was involved, and a compact timeline. A second resolution (after a
// reopen) gets a summary of its own, as its reply is keyed by its event.
func ResolutionSummary(st State, ev *Event) string {
	inc := st.Snapshot
	var facts []string
	if !inc.CreatedAt.IsZero() && ev.OccurredAt.After(inc.CreatedAt) {
		facts = append(facts, "Lasted "+humanDuration(ev.OccurredAt.Sub(inc.CreatedAt)))
	}
	if !st.AckedAt.IsZero() && !inc.CreatedAt.IsZero() && !st.AckedAt.Before(inc.CreatedAt) {
		ack := "first acknowledged after " + humanDuration(st.AckedAt.Sub(inc.CreatedAt))
		if st.AckedBy != "" {
			ack += " by " + st.AckedBy
		}
		facts = append(facts, ack)
	} else if st.AckedAt.IsZero() {
		facts = append(facts, "never acknowledged")
	}
	for _, c := range []struct {
		n    int
		what string
	}{{st.Escalations, "escalation"}, {st.Reassignments, "reassignment"}, {st.Notes, "note"}} {
		if c.n > 0 {
			facts = append(facts, plural(c.n, c.what))
		}
	}
	var b strings.Builder
	b.WriteString(strings.Join(facts, " · "))
	if names := Names(st.People); names != "" {
		b.WriteString("\nInvolved: " + cutRunes(names, 300))
	}
	if len(st.Timeline) > 0 {
		b.WriteString("\nTimeline:")
	}
	for i, l := range st.Timeline {
		if i == 1 && st.TimelineCut > 0 {
			b.WriteString("\n• … " + plural(st.TimelineCut, "more event") + " …")
		}
		b.WriteString("\n• " + l.At.UTC().Format("Jan 2 15:04 UTC") + " · " + cutRunes(l.Text, maxTimelineText))
	}
	if len(st.FollowUps) > 0 {
		b.WriteString("\nFollow-ups:")
	}
	for _, f := range st.FollowUps {
		b.WriteString("\n• " + cutRunes(f, maxTimelineText))
	}
	return strings.TrimPrefix(b.String(), "\n")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// ArchiveNotice is the line an incident's channel gets just before the
// sweep archives it, keyed by the resolution it follows, so a sweep that
// stops half-way and runs again finds it posted.
func ArchiveNotice(st State, ev *Event) *Reply {
	name := st.ChannelName
	if name == "" {
		name = "this channel"
	} else {
		name = "#" + name
	}
	return &Reply{
		Headline:  "Archiving this channel: the incident was resolved " + humanDuration(ev.OccurredAt.Sub(st.Snapshot.ResolvedAt)) + " ago",
		Body:      "Find it later under " + name + " in Slack's channel browser (archived channels), or from the PagerDuty incident.",
		At:        ev.OccurredAt,
		Broadcast: true,
		EventID:   "archive-" + st.Snapshot.ID + "-" + strconv.FormatInt(st.Snapshot.ResolvedAt.Unix(), 10),
	}
}

// withRound names an incident's channel after its first: name-r2 for the
// channel of an incident reopened after its first was archived, within
// Slack's 80 characters.
func withRound(name string, round int) string {
	if round < 2 {
		return name
	}
	suffix := "-r" + strconv.Itoa(round)
	if len(name)+len(suffix) > MaxChannelName {
		name = strings.TrimRight(name[:MaxChannelName-len(suffix)], "-")
	}
	return name + suffix
}

// InviteNote is the line in the incident's thread naming who could not
// be added to its channel, so responders know whom to fetch by hand. Its
// key is what it says: a later attempt finds the line before posting it.
func InviteNote(incidentID string, cannot []string) *Reply {
	headline := "Could not add to this channel: " + strings.Join(cannot, ", ")
	sum := sha256.Sum256([]byte(incidentID + "\n" + headline))
	return &Reply{Headline: headline, EventID: "invites-" + hex.EncodeToString(sum[:8])}
}

// MergedInNote is the reply the surviving incident's channel gets when
// inc was merged into it: PagerDuty sends the survivor no event of its
// own. The executor links inc's channel.
func MergedInNote(inc Snapshot, at time.Time) *Reply {
	title := inc.Title
	if inc.Number > 0 {
		title = "#" + strconv.Itoa(inc.Number) + " " + title
	}
	return &Reply{Headline: "Merged in: " + OrDash(title), URL: inc.HTMLURL, At: at, EventID: "merged-" + inc.ID}
}

// backlinkPrefix starts every back-link note, so its incident.annotated
// webhook is recognised and not echoed into the thread it links.
const backlinkPrefix = "Slack channel for this incident: #"

// BacklinkNote is the note the incident's PagerDuty timeline gets when
// its channel opens: the channel's name and a link that opens it in
// Slack (app_redirect works in any workspace the reader belongs to).
func BacklinkNote(channelID, channelName string) string {
	return backlinkPrefix + channelName + "\n" + BacklinkMarker(channelID) + "\n" + backlinkTrailer
}

// backlinkTrailer ends every back-link note.
const backlinkTrailer = "(Written by Incident Channels; responders can acknowledge, resolve, escalate and add notes from the channel.)"

// BacklinkMarker is the part of the back-link note that names the
// channel: what a look-up searches the incident's notes for.
func BacklinkMarker(channelID string) string {
	return "https://slack.com/app_redirect?channel=" + channelID
}

// IsBacklink reports whether a note's content is a back-link note: its
// opening, its link and its closing line, so that a person's note that
// merely starts the same way is still shown.
func IsBacklink(note string) bool {
	note = strings.TrimSpace(note)
	return strings.HasPrefix(note, backlinkPrefix) && strings.Contains(note, BacklinkMarker("")) && strings.HasSuffix(note, backlinkTrailer)
}
