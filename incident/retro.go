package incident

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Retrospective is the draft of an incident's retrospective in Markdown,
// from its stored state: a summary (title, service, status, priority,
// assignees, links), the impact window, the timeline of key events, the
// people involved, the follow-ups, and headings the team fills in. It is
// what /inc export sends and what the channel's canvas becomes at resolve.
//
// Every piece of text from PagerDuty or Slack is escaped, and kept to one
// line, so a title can neither shape the document nor mention anyone.
func Retrospective(st State) string {
	inc := st.Snapshot
	b := &strings.Builder{}
	retroSummary(b, st, true)
	b.WriteString("\n## Impact window\n\n")
	resolved := inc.ResolvedAt
	if resolved.IsZero() && inc.Status == StatusResolved {
		resolved = st.LastResolvedAt
	}
	mdField(b, "Triggered", retroTime(inc.CreatedAt))
	if !st.AckedAt.IsZero() {
		ack := retroTime(st.AckedAt)
		if st.AckedBy != "" {
			ack += " by " + markdownText(st.AckedBy)
		}
		mdField(b, "First acknowledged", ack)
	}
	switch {
	case inc.Status != StatusResolved:
		mdField(b, "Resolved", "not yet")
	case !resolved.IsZero():
		res := retroTime(resolved)
		if st.ResolvedBy != "" {
			res += " by " + markdownText(st.ResolvedBy)
		}
		mdField(b, "Resolved", res)
	}
	if !inc.CreatedAt.IsZero() && resolved.After(inc.CreatedAt) && inc.Status == StatusResolved {
		mdField(b, "Duration", humanDuration(resolved.Sub(inc.CreatedAt)))
	}

	b.WriteString("\n## Timeline\n\n")
	if len(st.Timeline) == 0 {
		b.WriteString("_No events recorded._\n")
	}
	for i, l := range st.Timeline {
		if i == 1 && st.TimelineCut > 0 {
			b.WriteString("- … " + plural(st.TimelineCut, "more event") + " …\n")
		}
		b.WriteString("- " + retroTime(l.At) + " — " + markdownText(l.Text) + "\n")
	}

	b.WriteString("\n## People involved\n\n")
	people := retroPeople(st)
	if len(people) == 0 {
		b.WriteString("_No one recorded._\n")
	}
	for _, p := range people {
		b.WriteString("- " + markdownText(p) + "\n")
	}

	b.WriteString("\n## Follow-ups\n\n")
	if len(st.FollowUps) == 0 {
		b.WriteString("_None noted yet (`/inc followup <text>`)._\n")
	}
	for _, f := range st.FollowUps {
		b.WriteString("- [ ] " + markdownText(f) + "\n")
	}

	b.WriteString("\n## What went well\n\n\n## What to improve\n\n")
	return b.String()
}

// CanvasSummary is what the channel's canvas shows until the incident
// resolves: the retrospective's title and summary, and a line saying the
// draft replaces it. It leaves out the link to the channel the canvas is
// in, so the summary rendered before the channel exists is the one after.
func CanvasSummary(st State) string {
	b := &strings.Builder{}
	retroSummary(b, st, false)
	b.WriteString("\n_The retrospective draft replaces this summary when the incident resolves._\n")
	return b.String()
}

// retroSummary writes the retrospective's title and its summary section;
// channelLink adds a link to the incident's channel.
func retroSummary(b *strings.Builder, st State, channelLink bool) {
	inc := st.Snapshot
	title := "Incident " + numberOrID(inc)
	if inc.Title != "" {
		title += ": " + inc.Title
	}
	b.WriteString("# " + markdownText(title) + "\n\n")

	b.WriteString("## Summary\n\n")
	mdField(b, "Service", markdownText(inc.Service.Summary))
	mdField(b, "Status", markdownText(TitleCase(string(inc.Status))))
	mdField(b, "Urgency", markdownText(string(inc.Urgency)))
	mdField(b, "Priority", markdownText(inc.Priority))
	mdField(b, "Lead", markdownText(LeadName(st)))
	mdField(b, "Assigned to", markdownText(Names(inc.Assignees)))
	mdField(b, "Responders", markdownText(Names(responders(st))))
	mdField(b, "Merged into", markdownText(inc.MergedInto.Summary))
	var links []string
	if l := markdownLink("PagerDuty "+numberOrID(inc), inc.HTMLURL); l != "" {
		links = append(links, l)
	}
	if l := markdownLink("Conference bridge", inc.ConferenceURL); l != "" {
		links = append(links, l)
	}
	if channelLink && st.ChannelID != "" {
		name := "Slack channel"
		if st.ChannelName != "" {
			name = "#" + st.ChannelName
		}
		links = append(links, markdownLink(name, BacklinkMarker(st.ChannelID)))
	}
	mdField(b, "Links", strings.Join(links, " · "))
}

// responders are the people the incident involved who are not among
// its assignees (acknowledgers, requested responders).
func responders(st State) []Ref {
	var out []Ref
	for _, p := range st.People {
		if !slices.ContainsFunc(st.Snapshot.Assignees, func(a Ref) bool { return a.ID == p.ID }) {
			out = append(out, p)
		}
	}
	return out
}

// mdField writes a "- **name:** value" line, unless value is empty.
func mdField(b *strings.Builder, name, value string) {
	if value != "" {
		b.WriteString("- **" + name + ":** " + value + "\n")
	}
}

// retroPeople are the names of the people the incident involved: those
// it recorded, its assignees, who acknowledged and who resolved it, each
// once, in the order first met.
func retroPeople(st State) []string {
	var names []string
	add := func(name string) {
		name = strings.TrimSpace(name)
		for _, n := range names {
			if n == name {
				return
			}
		}
		if name != "" {
			names = append(names, name)
		}
	}
	for _, p := range st.People {
		add(p.Summary)
	}
	for _, p := range st.Snapshot.Assignees {
		add(p.Summary)
	}
	add(st.AckedBy)
	add(st.ResolvedBy)
	return names
}

func retroTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// markdownSpecial are the characters Markdown (and Slack's canvases) may
// read as markup mid-line: each is written backslash-escaped, which
// CommonMark allows for any ASCII punctuation. '<', '[', '!' and '@'
// among them keep untrusted text from forming a Slack mention (<@U…>,
// <!channel>, ![](@U…)) or a link. Untrusted text never starts a line,
// so what Markdown reads only there ('#', '-', "1.") needs no escape.
const markdownSpecial = "\\`*_{}[]<>!|~@&"

// markdownText is s on one line with Markdown's special characters
// escaped, cut to maxMarkdownText characters.
func markdownText(s string) string {
	s = cutRunes(strings.Join(strings.Fields(s), " "), maxMarkdownText)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxMarkdownText bounds one piece of untrusted text in the
// retrospective, so it stays far within a canvas's 1 MiB.
const maxMarkdownText = 1000

// markdownLink is a Markdown link to url named text, or "" unless url is
// an http(s) URL; characters that would end the link are percent-encoded.
func markdownLink(text, url string) string {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return ""
	}
	url = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\n", "", "\r", "").Replace(url)
	return "[" + markdownText(text) + "](" + url + ")"
}

// retroFileName is the name of the retrospective's Markdown file.
func retroFileName(inc Snapshot) string {
	name := "retrospective"
	if inc.Number > 0 {
		name += "-" + strconv.Itoa(inc.Number)
	} else if id := Slug(inc.ID, 20); id != "" {
		name += "-" + id
	}
	return name + ".md"
}
