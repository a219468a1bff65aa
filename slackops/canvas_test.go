package slackops_test

import (
	"context"
	"errors"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// The channel's canvas is created with its Markdown and replaced whole
// by an edit; a workspace that cannot have canvases, and an app without
// the scope, are refusals that say so (ErrNoCanvases, ErrMissingScope),
// never worth a retry.
func TestCanvas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, fake := newClient(t)
	ch, err := c.CreateChannel(ctx, "inc-1-db", false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateCanvas(ctx, ch, "#1 DB down", "# Summary\n")
	if err != nil || id == "" {
		t.Fatalf("CreateCanvas = %q, %v; want a canvas id", id, err)
	}
	if err := c.EditCanvas(ctx, id, "# Retrospective\n"); err != nil {
		t.Fatalf("EditCanvas: %v", err)
	}
	if got, _ := fake.Channel(ch); got.Canvas.Markdown != "# Retrospective\n" || got.Canvas.Title != "#1 DB down" {
		t.Errorf("canvas = %+v, want the retrospective, titled #1 DB down", got.Canvas)
	}

	fake.NoCanvases(true)
	other, _ := c.CreateChannel(ctx, "inc-2-db", false)
	_, err = c.CreateCanvas(ctx, other, "#2", "x")
	if !errors.Is(err, incident.ErrNoCanvases) || incident.KindOf(err) != incident.KindRefused {
		t.Errorf("CreateCanvas on a free plan: %v (kind %v), want ErrNoCanvases, refused", err, incident.KindOf(err))
	}
	fake.Fail("conversations.canvases.create", slackfake.Fault{Error: "missing_scope"})
	fake.NoCanvases(false)
	_, err = c.CreateCanvas(ctx, other, "#2", "x")
	if !errors.Is(err, incident.ErrMissingScope) || incident.KindOf(err) != incident.KindRefused {
		t.Errorf("CreateCanvas without canvases:write: %v (kind %v), want ErrMissingScope, refused", err, incident.KindOf(err))
	}
}

// A file shared with ShareFile lands in the thread it names; without
// files:write the refusal says so.
func TestShareFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, fake := newClient(t)
	ch, _ := c.CreateChannel(ctx, "inc-3-db", false)
	root, err := c.PostReply(ctx, ch, "", incident.Reply{Headline: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ShareFile(ctx, ch, root, "retrospective-3.md", "Retrospective", "# Incident #3\n"); err != nil {
		t.Fatalf("ShareFile: %v", err)
	}
	got, _ := fake.Channel(ch)
	if r := got.Replies(root); len(r) != 1 || len(r[0].Files) != 1 || string(r[0].Files[0].Content) != "# Incident #3\n" {
		t.Errorf("thread = %+v, want one reply carrying the file", r)
	}
	fake.Fail("files.getUploadURLExternal", slackfake.Fault{Error: "missing_scope"})
	if err := c.ShareFile(ctx, ch, root, "r.md", "R", "x"); !errors.Is(err, incident.ErrMissingScope) {
		t.Errorf("ShareFile without files:write: %v, want ErrMissingScope", err)
	}
}
