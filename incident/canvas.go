package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// The channel canvas: when an incident's channel opens it gets a canvas
// with the incident's summary (CanvasSummary), off the critical path like
// the topic; when the incident resolves the canvas becomes the
// retrospective draft (Retrospective), one canvases.edit replacing it
// whole. A workspace that cannot have canvases (Slack's free plan, a
// missing canvases:write) is asked once: the refusal is recorded
// (State.NoCanvas) and the retrospective goes as a Markdown file in the
// thread at resolve instead; nothing else waits for or fails with it.
//
// While the incident is open the summary is kept current as the topic
// is: the state records a digest of the summary the canvas shows
// (State.CanvasShows), and when the summary rendered from the state
// differs, one canvases.edit replaces the canvas whole. A rate-limited
// edit waits for the next event; a resolved incident's canvas gets the
// retrospective instead.

// CanvasWork is the canvas work a channel still owes: create the canvas,
// edit it, or share the retrospective as a file; Markdown is "" when
// there is none.
type CanvasWork struct {
	// Edit is the canvas to replace with Markdown; File shares Markdown
	// as a file in the thread; neither creates the canvas.
	Edit     string
	File     bool
	Markdown string
	// Retro is the resolution (State.LastResolvedAt) whose retrospective
	// Markdown is; zero for the summary.
	Retro time.Time
	// Shows is the digest of the summary Markdown is (summaryDigest);
	// "" for the retrospective.
	Shows string
}

// canvasWork is the canvas work st owes.
func canvasWork(st State) CanvasWork {
	var retro time.Time
	if st.Snapshot.Status == StatusResolved && !st.LastResolvedAt.IsZero() && !st.Retro.Equal(st.LastResolvedAt) {
		retro = st.LastResolvedAt
	}
	switch {
	case st.NoCanvas && !retro.IsZero():
		return CanvasWork{File: true, Markdown: Retrospective(st), Retro: retro}
	case st.NoCanvas:
		return CanvasWork{}
	case !retro.IsZero():
		// Created as the retrospective when the channel opens resolved.
		return CanvasWork{Edit: st.Canvas, Markdown: Retrospective(st), Retro: retro}
	case st.Snapshot.Status == StatusResolved:
		return CanvasWork{}
	}
	summary := CanvasSummary(st)
	shows := summaryDigest(summary)
	switch {
	case st.Canvas == "":
		return CanvasWork{Markdown: summary, Shows: shows}
	case shows != st.CanvasShows:
		return CanvasWork{Edit: st.Canvas, Markdown: summary, Shows: shows}
	}
	return CanvasWork{}
}

// summaryDigest is a short digest of a canvas summary, which the state
// keeps (State.CanvasShows) instead of the summary itself.
func summaryDigest(summary string) string {
	sum := sha256.Sum256([]byte(summary))
	return hex.EncodeToString(sum[:12])
}

// canvas does the plan's canvas work. A refusal is recorded, so it is
// not asked again; a retrospective the canvas could not take goes as a
// file in the thread.
func (x *executor) canvas(ctx context.Context) {
	c, st := x.p.Canvas, x.st
	var id string
	var err error
	switch {
	case c.File:
		err = x.shareRetro(ctx, c.Markdown)
	case c.Edit != "":
		err = x.a.slack.EditCanvas(ctx, c.Edit, c.Markdown)
	default:
		id, err = x.a.slack.CreateCanvas(ctx, st.ChannelID, "Incident "+numberOrID(st.Snapshot), c.Markdown)
	}
	if err != nil && !x.failed(ctx, stepCanvas, KeyCanvas, nil, err) {
		return // put off, or the channel is archived
	}
	if err != nil && !c.File && !c.Retro.IsZero() {
		if ferr := x.shareRetro(ctx, c.Markdown); ferr != nil {
			x.a.log.WarnContext(ctx, "retrospective not shared as a file either; not retried", "incident_id", st.Snapshot.ID,
				"channel_id", st.ChannelID, "error", ferr.Error())
		}
	}
	x.locked(func(r *Results) {
		r.CanvasDone, r.Canvas, r.Retro = true, id, c.Retro
		r.CanvasShows = c.Shows
		r.NoCanvas = err != nil && !c.File
	})
}

// shareRetro shares the retrospective as a Markdown file in the thread.
func (x *executor) shareRetro(ctx context.Context, markdown string) error {
	st := x.st
	return x.a.slack.ShareFile(ctx, st.ChannelID, st.RootTS, retroFileName(st.Snapshot),
		"Retrospective draft of "+numberOrID(st.Snapshot), markdown)
}
