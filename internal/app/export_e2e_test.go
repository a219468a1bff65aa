package app

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// TestEndToEndExport: /inc export over HTTP shares the retrospective
// draft, follow-ups included, as a Markdown file in the thread of the
// channel's root message, through Slack's upload flow; a user of another
// organisation gets no file.
func TestEndToEndExport(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, l.slack)
		root := ch.TopLevel()[0].TS

		if code, body := l.command(t, "UADA", ch.ID, "followup Alert on <!channel> pool size"); code != http.StatusOK || !strings.Contains(body, "✓") {
			t.Fatalf("/inc followup = %d %s, want it noted", code, body)
		}
		code, body := l.command(t, "UADA", ch.ID, "export")
		if code != http.StatusOK {
			t.Fatalf("/inc export = %d, want 200", code)
		}
		wantContains(t, "/inc export", answerText(t, body), "✓ Shared the retrospective draft of #1234")

		ch, _ = l.slack.Channel(ch.ID)
		var files []slackfake.File
		for _, m := range ch.Replies(root) {
			files = append(files, m.Files...)
		}
		if len(files) != 1 {
			t.Fatalf("files in the root's thread = %+v, want one", files)
		}
		if files[0].Name != "retrospective-1234.md" {
			t.Errorf("file name = %q, want retrospective-1234.md", files[0].Name)
		}
		wantContains(t, "the shared retrospective", string(files[0].Content), "# Incident #1234", "## Timeline", "Triggered",
			`- [ ] Alert on \@channel pool size`, "## What went well", "## What to improve")

		l.slack.SetTraits("UEXT", slackfake.UserTraits{TeamID: "TOTHER"})
		_, body = l.command(t, "UEXT", ch.ID, "export")
		wantContains(t, "/inc export from another organisation", answerText(t, body), "another organisation")
		if n := l.slack.Calls("files.completeUploadExternal"); n != 1 {
			t.Errorf("files.completeUploadExternal calls = %d, want only the first export's", n)
		}
	})
}

// TestEndToEndCanvas: the channel opens with a canvas showing the
// incident's summary, replaced by the retrospective draft when it
// resolves; a workspace on the free plan gets the draft as a Markdown
// file in the thread instead, and its channel works as ever.
func TestEndToEndCanvas(t *testing.T) {
	t.Parallel()
	for _, free := range []bool{false, true} {
		t.Run(map[bool]string{false: "canvas", true: "free plan"}[free], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				l := newLoop(t, netfake.New(), nil)
				l.slack.NoCanvases(free)
				l.mustDeliver(t, "triggered.json", "processed")
				ch := onlyChannel(t, l.slack)
				if !free && (!strings.Contains(ch.Canvas.Markdown, "## Summary") || strings.Contains(ch.Canvas.Markdown, "## Timeline")) {
					t.Errorf("canvas at trigger =\n%s\nwant the summary", ch.Canvas.Markdown)
				}
				l.mustDeliver(t, "resolved.json", "processed")
				ch, _ = l.slack.Channel(ch.ID)
				var files []slackfake.File
				for _, m := range ch.Replies(ch.TopLevel()[0].TS) {
					files = append(files, m.Files...)
				}
				switch {
				case free && (ch.Canvas.ID != "" || len(files) != 1 || !strings.Contains(string(files[0].Content), "## Timeline")):
					t.Errorf("free plan: canvas %+v, files %d; want no canvas and the retrospective as a file", ch.Canvas, len(files))
				case !free && (ch.Canvas.Edits != 1 || !strings.Contains(ch.Canvas.Markdown, "## What went well") || len(files) != 0):
					t.Errorf("canvas after resolve (%d edits, %d files) =\n%s\nwant the retrospective", ch.Canvas.Edits, len(files), ch.Canvas.Markdown)
				}
				if n := l.slack.Calls("conversations.canvases.create"); n != 1 {
					t.Errorf("conversations.canvases.create calls = %d, want 1", n)
				}
			})
		})
	}
}
