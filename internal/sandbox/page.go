package sandbox

import (
	"embed"
	"encoding/json"
	"html/template"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

//go:embed page.html
var pageHTML string

//go:embed static
var static embed.FS

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// channelView is one channel as a Slack client shows it.
type channelView struct {
	ID       string
	Name     string
	Private  bool
	Archived bool
	// Shared is a channel people made (#incidents, #incidents-low), not
	// an incident's own.
	Shared    bool
	Topic     string
	Members   []memberView
	Bookmarks []slackfake.Bookmark
	// Messages are the top-level messages, oldest first, each with its
	// thread.
	Messages []messageView
	// Ephemerals are the answers the function gave the page's responders
	// in this channel, oldest first.
	Ephemerals []ephemeralView
}

// memberView is a channel member: the Slack user id, and the name of a
// person of the sandbox's workspace.
type memberView struct {
	ID, Name string
}

// messageView is one message, rendered from its blocks.
type messageView struct {
	TS string
	// From names the author of a message the bot did not post; "" for
	// the bot's.
	From string
	// Status is triggered, acknowledged, resolved or empty; it colours the
	// root message.
	Status    string
	Blocks    []blockView
	Fallback  template.HTML // the text, for a message without blocks
	Edits     int
	Broadcast bool
	Replies   []messageView
}

// blockView is one Block Kit block.
type blockView struct {
	Type     string
	Plain    string        // header
	Text     template.HTML // section text
	Fields   []template.HTML
	Elements []template.HTML // context
	Buttons  []buttonView
}

// buttonView is a button: a link (URL), or a responder button the page
// sends to the function as Slack would (ActionID, Value).
type buttonView struct {
	Label    string
	URL      string // html/template drops a URL that is not http(s)
	Primary  bool
	ActionID string
	Value    string
	// Confirm is the question of the button's confirm dialog; "" for
	// none.
	Confirm string
}

// channelViews renders the fake Slack's channels for the page: the shared
// channels people made, in the order they were made, and the channels
// the function opened, newest first (the one a replay just opened is at
// the top). users names the workspace's people.
func channelViews(fake *slackfake.Server, users map[string]string) (shared, own []channelView) {
	chs := fake.Channels()
	names := make(map[string]string, len(chs))
	for _, c := range chs {
		names[c.ID] = c.Name
	}
	for i := len(chs) - 1; i >= 0; i-- {
		c := chs[i]
		v := channelView{ID: c.ID, Name: c.Name, Private: c.Private, Archived: c.Archived, Shared: c.Creator != slackfake.BotUserID,
			Topic: c.Topic, Bookmarks: c.Bookmarks}
		for _, id := range c.Members {
			v.Members = append(v.Members, memberView{ID: id, Name: users[id]})
		}
		for _, m := range c.TopLevel() {
			mv := messageFor(m, names)
			if m.User != "" && m.User != slackfake.BotUserID {
				mv.From = m.User
				if n := users[m.User]; n != "" {
					mv.From = n
				}
			}
			for _, r := range c.Replies(m.TS) {
				mv.Replies = append(mv.Replies, messageFor(r, names))
			}
			v.Messages = append(v.Messages, mv)
		}
		if v.Shared {
			shared = append([]channelView{v}, shared...)
		} else {
			own = append(own, v)
		}
	}
	return shared, own
}

// Block Kit as the fake stores it. A text object's text is a string; a
// button's text is a text object, so elements keep it raw.
type rawBlock struct {
	Type     string       `json:"type"`
	Text     *rawText     `json:"text"`
	Fields   []rawText    `json:"fields"`
	Elements []rawElement `json:"elements"`
}

type rawText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type rawElement struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"`
	URL      string          `json:"url"`
	Style    string          `json:"style"`
	ActionID string          `json:"action_id"`
	Value    string          `json:"value"`
	Confirm  *struct {
		Title rawText `json:"title"`
		Text  rawText `json:"text"`
	} `json:"confirm"`
}

// messageFor renders m from its blocks; a message with none (or blocks the
// page cannot read) shows its text. channels names the channels by id,
// for mentions.
func messageFor(m slackfake.Message, channels map[string]string) messageView {
	mv := messageView{TS: m.TS, Edits: m.Edits, Broadcast: m.Broadcast}
	var blocks []rawBlock
	if len(m.Blocks) == 0 || json.Unmarshal(m.Blocks, &blocks) != nil || len(blocks) == 0 {
		mv.Fallback = mrkdwn(m.Text, channels)
		return mv
	}
	textObject := func(t rawText) template.HTML { return textObject(t, channels) }
	for _, b := range blocks {
		bv := blockView{Type: b.Type}
		switch b.Type {
		case "header":
			if b.Text != nil {
				bv.Plain = b.Text.Text
				if mv.Status == "" {
					mv.Status = statusOfHeader(b.Text.Text)
				}
			}
		case "section":
			if b.Text != nil {
				bv.Text = textObject(*b.Text)
				if mv.Status == "" {
					// An announce line starts with the status emoji.
					mv.Status = statusOfHeader(b.Text.Text)
				}
			}
			for _, f := range b.Fields {
				bv.Fields = append(bv.Fields, textObject(f))
				if s := statusOfField(f.Text); s != "" {
					mv.Status = s
				}
			}
		case "context":
			for _, e := range b.Elements {
				var s string
				if json.Unmarshal(e.Text, &s) == nil {
					bv.Elements = append(bv.Elements, textObject(rawText{Type: e.Type, Text: s}))
				}
			}
		case "actions":
			for _, e := range b.Elements {
				var label rawText
				if e.Type != "button" || json.Unmarshal(e.Text, &label) != nil {
					continue
				}
				btn := buttonView{Label: label.Text, URL: e.URL, Primary: e.Style == "primary", ActionID: e.ActionID, Value: e.Value}
				if e.Confirm != nil {
					btn.Confirm = strings.TrimSpace(e.Confirm.Title.Text + "\n" + e.Confirm.Text.Text)
				}
				bv.Buttons = append(bv.Buttons, btn)
			}
		case "divider":
		default:
			continue
		}
		mv.Blocks = append(mv.Blocks, bv)
	}
	return mv
}

// textObject renders a Block Kit text object: mrkdwn as formatted HTML,
// plain_text escaped.
func textObject(t rawText, channels map[string]string) template.HTML {
	if t.Type == "mrkdwn" {
		return mrkdwn(t.Text, channels)
	}
	return template.HTML(template.HTMLEscapeString(t.Text))
}

var statuses = []incident.Status{incident.StatusTriggered, incident.StatusAcknowledged, incident.StatusResolved}

// statusOfField reads the root message's Status field ("*Status*\n🟢 Resolved").
func statusOfField(s string) string {
	label, value, ok := strings.Cut(s, "\n")
	if !ok || strings.Trim(label, "*") != "Status" {
		return ""
	}
	value = strings.ToLower(value)
	for _, st := range statuses {
		if strings.Contains(value, string(st)) {
			return string(st)
		}
	}
	return ""
}

// statusOfHeader reads the status emoji the header starts with.
func statusOfHeader(s string) string {
	for emoji, st := range map[string]incident.Status{"🔴": incident.StatusTriggered, "🟠": incident.StatusAcknowledged, "🟢": incident.StatusResolved} {
		if strings.HasPrefix(s, emoji) {
			return string(st)
		}
	}
	return ""
}
