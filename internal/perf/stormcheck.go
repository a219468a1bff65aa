package perf

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/slackops"
)

// stormWant is what Slack must show once a storm's incidents have each
// had their triggered and their resolved event.
type stormWant struct {
	// Prefix is the channel prefix (CHANNEL_PREFIX).
	Prefix string
	// Announce is the announce channel's id; "" for none.
	Announce string
	// Invite are the users every incident channel must have.
	Invite    []string
	Incidents []stormIncident
}

// stormIncident is what one incident's channel must show after its last
// event.
type stormIncident struct {
	ID string
	// Channel is the channel's name before any suffix for a taken name.
	Channel string
	// Status is the last event's status as the root, the topic and the
	// announce line show it ("Acknowledged").
	Status string
	Topic  string
	// Links are the bookmarks the channel must carry.
	Links []string
	// Replies are the event ids that must have one reply each.
	Replies []string
}

// stormIncidentOf returns what an incident's channel must show after the
// event last, as the function renders it (prefix is CHANNEL_PREFIX).
func stormIncidentOf(prefix string, first, last []byte) (stormIncident, error) {
	ev0, _, err := pagerduty.Parse(first)
	if err != nil {
		return stormIncident{}, err
	}
	ev, _, err := pagerduty.Parse(last)
	if err != nil {
		return stormIncident{}, err
	}
	inc := stormIncident{
		ID: ev.IncidentID, Channel: incident.ChannelName(prefix, ev0.Incident),
		Status: incident.TitleCase(string(ev.Incident.Status)), Topic: incident.Topic(ev.Incident), Replies: []string{ev.ID},
	}
	for _, b := range incident.Bookmarks(ev.Incident) {
		inc.Links = append(inc.Links, b.Link)
	}
	return inc, nil
}

// stormFindings are the broken expectations of a storm, each a sentence.
type stormFindings struct {
	// Undone are effects missing or stale: a channel, its root, topic,
	// bookmarks, invitees, the reply, the announce line.
	Undone []string
	// Duplicates are effects done more than once: channels per incident,
	// roots per channel, replies per event, bookmarks, announce lines.
	Duplicates []string
}

func (f stormFindings) ok() bool { return len(f.Undone) == 0 && len(f.Duplicates) == 0 }

// channelsOf returns the channels named after inc: its name, or its name
// with a suffix for a taken name (name-2 …).
func channelsOf(chs []slackfake.Channel, inc stormIncident) []slackfake.Channel {
	var out []slackfake.Channel
	for _, c := range chs {
		rest, ok := strings.CutPrefix(c.Name, inc.Channel)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(rest, "-")); rest == "" || (strings.HasPrefix(rest, "-") && err == nil && n > 1) {
			out = append(out, c)
		}
	}
	return out
}

// metadata returns a message's metadata type and its payload's
// incident_id and event_id.
func metadata(m slackfake.Message) (typ, incidentID, eventID string) {
	var md struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			IncidentID string `json:"incident_id"`
			EventID    string `json:"event_id"`
		} `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &md)
	return md.EventType, md.EventPayload.IncidentID, md.EventPayload.EventID
}

// roots returns the channel's root messages: top-level messages carrying
// the root's metadata.
func roots(c slackfake.Channel) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range c.TopLevel() {
		if typ, _, _ := metadata(m); typ == slackops.RootMetadataType {
			out = append(out, m)
		}
	}
	return out
}

// rooted returns how many incidents of w have a channel with a root: the
// first thing responders need.
func rooted(chs []slackfake.Channel, w stormWant) int {
	n := 0
	for _, inc := range w.Incidents {
		if slices.ContainsFunc(channelsOf(chs, inc), func(c slackfake.Channel) bool { return len(roots(c)) > 0 }) {
			n++
		}
	}
	return n
}

// checkStorm compares what Slack shows (chs, every channel of the
// workspace) with w.
func checkStorm(chs []slackfake.Channel, w stormWant) stormFindings {
	var f stormFindings
	undone := func(format string, args ...any) { f.Undone = append(f.Undone, fmt.Sprintf(format, args...)) }
	dup := func(format string, args ...any) { f.Duplicates = append(f.Duplicates, fmt.Sprintf(format, args...)) }
	var lines []slackfake.Message
	if w.Announce != "" {
		i := slices.IndexFunc(chs, func(c slackfake.Channel) bool { return c.ID == w.Announce })
		if i < 0 {
			undone("announce channel %s does not exist", w.Announce)
		} else {
			lines = chs[i].TopLevel()
		}
	}
	for _, inc := range w.Incidents {
		mine := channelsOf(chs, inc)
		switch len(mine) {
		case 0:
			undone("%s: no channel", inc.ID)
			continue
		case 1:
		default:
			dup("%s: %d channels", inc.ID, len(mine))
		}
		c := mine[0]
		switch rs := roots(c); {
		case len(rs) == 0:
			undone("%s: no root", c.Name)
		case len(rs) > 1:
			dup("%s: %d roots", c.Name, len(rs))
		case !strings.Contains(rs[0].BlockText(), inc.Status):
			undone("%s: root does not show %s", c.Name, inc.Status)
		}
		if c.Topic != inc.Topic {
			undone("%s: topic %q, want %q", c.Name, c.Topic, inc.Topic)
		}
		for _, l := range inc.Links {
			switch n := countFunc(c.Bookmarks, func(b slackfake.Bookmark) bool { return b.Link == l }); {
			case n == 0:
				undone("%s: no bookmark %s", c.Name, l)
			case n > 1:
				dup("%s: bookmark %s %d times", c.Name, l, n)
			}
		}
		for _, u := range w.Invite {
			if !slices.Contains(c.Members, u) {
				undone("%s: %s not invited", c.Name, u)
			}
		}
		for _, id := range inc.Replies {
			n := countFunc(c.Messages, func(m slackfake.Message) bool {
				_, _, ev := metadata(m)
				return m.ThreadTS != "" && ev == id
			})
			switch {
			case n == 0:
				undone("%s: no reply for event %s", c.Name, id)
			case n > 1:
				dup("%s: %d replies for event %s", c.Name, n, id)
			}
		}
		if w.Announce == "" {
			continue
		}
		var mineLines []slackfake.Message
		for _, m := range lines {
			if typ, id, _ := metadata(m); typ == slackops.BoardMetadataType && id == inc.ID {
				mineLines = append(mineLines, m)
			}
		}
		switch {
		case len(mineLines) == 0:
			undone("%s: no announce line", inc.ID)
		case len(mineLines) > 1:
			dup("%s: %d announce lines", inc.ID, len(mineLines))
		case !strings.Contains(mineLines[0].Text+"\n"+mineLines[0].BlockText(), inc.Status):
			undone("%s: announce line does not show %s", inc.ID, inc.Status)
		}
	}
	return f
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}
