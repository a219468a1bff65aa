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
