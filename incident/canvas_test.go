package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// A channel opens with a canvas showing the incident's summary, which
// becomes the retrospective draft when the incident resolves, in one
// edit; a redelivered resolution edits it no second time.
func TestCanvasBecomesRetrospective(t *testing.T) {
	t.Parallel()
	e := newRoutedEnv(t, incident.Config{Canvases: true})
	e.mustHandle(t, "triggered.json")
	ch := e.slack.only()
	if !strings.Contains(ch.canvas, "## Summary") || strings.Contains(ch.canvas, "## Timeline") {
		t.Errorf("canvas at trigger =\n%s\nwant the summary only", ch.canvas)
	}
	for _, f := range []string{"acknowledged.json", "resolved.json", "resolved.json"} {
		e.mustHandle(t, f)
	}
	ch = e.slack.only()
	// One edit for the acknowledgement's summary, one for the draft.
	if ch.canvasEdits != 2 || !strings.Contains(ch.canvas, "## Timeline") || !strings.Contains(ch.canvas, "## What to improve") {
		t.Errorf("canvas after resolve (%d edits) =\n%s\nwant the retrospective, one edit", ch.canvasEdits, ch.canvas)
	}
	if len(ch.files) != 0 {
		t.Errorf("files shared = %d, want none where the canvas took the retrospective", len(ch.files))
	}
}

// While the incident is open its canvas summary is kept current: an
// acknowledgement edits it once, replacing it with the new status, and
// so does a lead named from Slack; a redelivered acknowledgement or a
// note edits nothing (a workspace without canvases gets no edit:
// TestNoCanvasFallsBackToFile).
func TestCanvasSummaryKeptCurrent(t *testing.T) {
	t.Parallel()
	e := newRoutedEnv(t, incident.Config{Canvases: true})
	e.mustHandle(t, "triggered.json")
	if ch := e.slack.only(); ch.canvasEdits != 0 || !strings.Contains(ch.canvas, "**Status:** Triggered") {
		t.Fatalf("canvas at trigger (%d edits) =\n%s\nwant the triggered summary, no edit", ch.canvasEdits, ch.canvas)
	}
	e.mustHandle(t, "acknowledged.json")
	ch := e.slack.only()
	if ch.canvasEdits != 1 || !strings.Contains(ch.canvas, "**Status:** Acknowledged") || strings.Contains(ch.canvas, "## Timeline") {
		t.Errorf("canvas after the acknowledgement (%d edits) =\n%s\nwant the acknowledged summary, one edit", ch.canvasEdits, ch.canvas)
	}
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.only().canvasEdits; n != 1 {
		t.Errorf("canvas edits after a redelivered acknowledgement = %d, want still 1", n)
	}
	e.mustHandle(t, "annotated.json")
	if n := e.slack.only().canvasEdits; n != 1 {
		t.Errorf("canvas edits after a note, which the summary does not show = %d, want still 1", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	lead := incident.Lead{SlackUserID: "U0ADA", Name: "Ada", At: loadEvent(t, "triggered.json").OccurredAt.Add(time.Minute)}
	if err := e.svc.SetLead(ctx, "Q1CHECKOUT", lead, "Bob"); err != nil {
		t.Fatalf("SetLead = %v", err)
	}
	if ch := e.slack.only(); ch.canvasEdits != 2 || !strings.Contains(ch.canvas, "**Lead:** Ada") {
		t.Errorf("canvas after a lead was named (%d edits) =\n%s\nwant the lead, one edit more", ch.canvasEdits, ch.canvas)
	}

}

// A rate-limited summary edit is put off to the incident's next event,
// which makes it; the edit asked again is the one the state still owes.
func TestCanvasEditPutOff(t *testing.T) {
	t.Parallel()
	e := newRoutedEnv(t, incident.Config{Canvases: true})
	e.mustHandle(t, "triggered.json")
	e.slack.failNext("canvas edit", &incident.Error{Kind: incident.KindTransient, Op: "canvases.edit"})
	e.mustHandle(t, "acknowledged.json")
	if ch := e.slack.only(); ch.canvasEdits != 0 || ch.root == "" {
		t.Fatalf("canvas edits %d, root %q after a rate-limited edit; want none and the root", ch.canvasEdits, ch.root)
	}
	e.mustHandle(t, "annotated.json")
	if ch := e.slack.only(); ch.canvasEdits != 1 || !strings.Contains(ch.canvas, "**Status:** Acknowledged") {
		t.Errorf("canvas after the next event (%d edits) =\n%s\nwant the acknowledged summary", ch.canvasEdits, ch.canvas)
	}
}

// A workspace that cannot have canvases is asked once and never asked
// to edit one; the incident's channel and messages go on, and at
// resolve the retrospective is shared as a Markdown file in the thread.
// A refused file is not retried either.
func TestNoCanvasFallsBackToFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"free plan", &incident.Error{Kind: incident.KindRefused, Op: "conversations.canvases.create",
			Err: fmt.Errorf("team_tier_cannot_create_channel_canvases: %w", incident.ErrNoCanvases)}},
		{"missing scope", &incident.Error{Kind: incident.KindRefused, Op: "conversations.canvases.create",
			Err: fmt.Errorf("missing_scope: %w", incident.ErrMissingScope)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRoutedEnv(t, incident.Config{Canvases: true})
			e.slack.failNext("canvas", tt.err)
			for _, f := range []string{"triggered.json", "acknowledged.json", "annotated.json", "resolved.json", "resolved.json"} {
				e.mustHandle(t, f)
			}
			ch := e.slack.only()
			if n := e.slack.calls["canvas"]; n != 1 {
				t.Errorf("canvas creations asked = %d, want 1", n)
			}
			if n := e.slack.calls["canvas edit"]; n != 0 {
				t.Errorf("canvas edits asked = %d, want none of a workspace without canvases", n)
			}
			if ch.root == "" || len(ch.replies) < 3 {
				t.Errorf("root %q, %d replies; want the channel to go on without its canvas", ch.root, len(ch.replies))
			}
			if len(ch.files) != 1 || !strings.Contains(ch.files[0], "## Timeline") {
				t.Errorf("files shared = %q, want the retrospective once", ch.files)
			}
		})
	}

	e := newRoutedEnv(t, incident.Config{Canvases: true})
	e.slack.failNext("canvas", tests[0].err)
	e.slack.failNext("file", &incident.Error{Kind: incident.KindRefused, Op: "files.completeUploadExternal",
		Err: fmt.Errorf("missing_scope: %w", incident.ErrMissingScope)})
	for _, f := range []string{"triggered.json", "resolved.json", "resolved.json"} {
		e.mustHandle(t, f)
	}
	if n := e.slack.calls["file"]; n != 1 {
		t.Errorf("file shares asked without files:write = %d, want 1", n)
	}
}

// A canvas rate-limited at trigger is put off to the next event, which
// creates it; the channel does not wait for it.
func TestCanvasPutOff(t *testing.T) {
	t.Parallel()
	e := newRoutedEnv(t, incident.Config{Canvases: true})
	e.slack.failNext("canvas", &incident.Error{Kind: incident.KindTransient, Op: "conversations.canvases.create"})
	e.mustHandle(t, "triggered.json")
	if ch := e.slack.only(); ch.canvasID != "" || ch.root == "" {
		t.Fatalf("canvas %q, root %q after a rate-limited canvas; want no canvas and the root", ch.canvasID, ch.root)
	}
	e.mustHandle(t, "acknowledged.json")
	if ch := e.slack.only(); ch.canvasID == "" {
		t.Error("canvas not created by the next event")
	}
}
