package slack

import (
	"context"
	"net/url"
	"testing"

	"github.com/slack-go/slack"
)

// slack-go's three-step upload shares the file in the thread it names,
// with its name, title and bytes; a thread that does not exist and a
// channel the bot is not in are refused as Slack refuses them.
func TestUploadToThread(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	api := slack.New(DefaultToken, slack.OptionAPIURL(s.URL))
	ctx := context.Background()
	created := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}})
	id := created["channel"].(map[string]any)["id"].(string)
	root := call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"root"}})["ts"].(string)

	content := "# Incident #1\n"
	params := slack.UploadFileParameters{Filename: "retro.md", Title: "Retrospective", Content: content,
		FileSize: len(content), Channel: id, ThreadTimestamp: root}
	if _, err := api.UploadFileContext(ctx, params); err != nil {
		t.Fatalf("UploadFileContext: %v", err)
	}
	c, _ := s.Channel(id)
	replies := c.Replies(root)
	if len(replies) != 1 || len(replies[0].Files) != 1 {
		t.Fatalf("thread replies = %+v, want one message with one file", replies)
	}
	if f := replies[0].Files[0]; f.Name != "retro.md" || f.Title != "Retrospective" || string(f.Content) != content {
		t.Errorf("shared file = %+v, want retro.md titled Retrospective with the content sent", f)
	}

	bad := params
	bad.ThreadTimestamp = "1.000001"
	if _, err := api.UploadFileContext(ctx, bad); err == nil {
		t.Error("upload to a thread that does not exist succeeded, want thread_not_found")
	}
	bad = params
	bad.Channel = s.CreateChannel("someone-elses", false)
	bad.ThreadTimestamp = ""
	if _, err := api.UploadFileContext(ctx, bad); err == nil {
		t.Error("upload to a channel the bot is not in succeeded, want not_in_channel")
	}
	bad = params
	bad.FileSize = len(content) + 1
	if _, err := api.UploadFileContext(ctx, bad); err == nil {
		t.Error("upload with a wrong length succeeded, want it refused")
	}
}

// A channel gets one canvas, which canvases.edit replaces one change at
// a time; a workspace without canvases (the free plan) refuses it as
// Slack does.
func TestChannelCanvas(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	api := slack.New(DefaultToken, slack.OptionAPIURL(s.URL))
	ctx := context.Background()
	id := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}})["channel"].(map[string]any)["id"].(string)

	canvas, err := api.CreateChannelCanvasContext(ctx, id, slack.DocumentContent{Type: "markdown", Markdown: "# Summary"})
	if err != nil || canvas == "" {
		t.Fatalf("CreateChannelCanvasContext = %q, %v; want a canvas id", canvas, err)
	}
	if _, err := api.CreateChannelCanvasContext(ctx, id, slack.DocumentContent{Type: "markdown", Markdown: "again"}); err == nil || err.Error() != "channel_canvas_already_exists" {
		t.Errorf("second canvas of a channel: %v, want channel_canvas_already_exists", err)
	}
	replace := func(md string) slack.CanvasChange {
		return slack.CanvasChange{Operation: "replace", DocumentContent: slack.DocumentContent{Type: "markdown", Markdown: md}}
	}
	if err := api.EditCanvasContext(ctx, slack.EditCanvasParams{CanvasID: canvas, Changes: []slack.CanvasChange{replace("# Retro")}}); err != nil {
		t.Fatalf("EditCanvasContext: %v", err)
	}
	if err := api.EditCanvasContext(ctx, slack.EditCanvasParams{CanvasID: canvas, Changes: []slack.CanvasChange{replace("a"), replace("b")}}); err == nil {
		t.Error("an edit with two changes succeeded, want it refused")
	}
	if c, _ := s.Channel(id); c.Canvas.Markdown != "# Retro" || c.Canvas.Edits != 1 {
		t.Errorf("canvas = %+v, want # Retro after one edit", c.Canvas)
	}

	s.NoCanvases(true)
	other := call(t, s, "conversations.create", url.Values{"name": {"inc-2"}})["channel"].(map[string]any)["id"].(string)
	if _, err := api.CreateChannelCanvasContext(ctx, other, slack.DocumentContent{Type: "markdown", Markdown: "x"}); err == nil || err.Error() != "team_tier_cannot_create_channel_canvases" {
		t.Errorf("canvas on the free plan: %v, want team_tier_cannot_create_channel_canvases", err)
	}
}
