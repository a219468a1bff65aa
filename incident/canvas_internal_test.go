package incident

import (
	"strings"
	"testing"
	"time"
)

// TestCanvasWork: the canvas is created with the summary while the
// incident is open and edited when what the summary shows changes,
// replaced by the retrospective once per resolution, and where the
// workspace has none the retrospective goes as a file.
func TestCanvasWork(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	open := State{Snapshot: Snapshot{ID: "Q1", Number: 7, Title: "DB down", Status: StatusTriggered}, ChannelID: "C1"}
	resolved := open
	resolved.Snapshot.Status, resolved.LastResolvedAt = StatusResolved, at
	shows := summaryDigest(CanvasSummary(open))
	current := with(open, func(s *State) { s.Canvas, s.CanvasShows = "F1", shows })
	tests := []struct {
		name     string
		st       State
		want     CanvasWork
		wantText string
	}{
		{"open, no canvas: created with the summary", open, CanvasWork{Shows: shows}, "## Summary"},
		{"open, canvas shows the summary: nothing", current, CanvasWork{}, ""},
		{"acknowledged: the summary edited", with(current, func(s *State) { s.Snapshot.Status = StatusAcknowledged }),
			CanvasWork{Edit: "F1", Shows: summaryDigest(CanvasSummary(with(current, func(s *State) { s.Snapshot.Status = StatusAcknowledged })))},
			"**Status:** Acknowledged"},
		{"a lead named: the summary edited", with(current, func(s *State) { s.Lead = Lead{SlackUserID: "U1", Name: "Ada"} }),
			CanvasWork{Edit: "F1", Shows: summaryDigest(CanvasSummary(with(current, func(s *State) { s.Lead = Lead{SlackUserID: "U1", Name: "Ada"} })))},
			"**Lead:** Ada"},
		{"a responder added: the summary edited", with(current, func(s *State) { s.People = []Ref{{ID: "P2", Summary: "Grace"}} }),
			CanvasWork{Edit: "F1", Shows: summaryDigest(CanvasSummary(with(current, func(s *State) { s.People = []Ref{{ID: "P2", Summary: "Grace"}} })))},
			"**Responders:** Grace"},
		{"what it does not show changed: nothing", with(current, func(s *State) { s.Version, s.Topic, s.FollowUps = 9, "x", []string{"y"} }),
			CanvasWork{}, ""},
		{"canvas shows the retrospective, reopened: the summary again", with(current, func(s *State) { s.CanvasShows, s.Retro = "", at }),
			CanvasWork{Edit: "F1", Shows: shows}, "## Summary"},
		{"resolved, canvas there: replaced by the retrospective", with(resolved, func(s *State) { s.Canvas, s.CanvasShows = "F1", shows }),
			CanvasWork{Edit: "F1", Retro: at}, "## What went well"},
		{"resolved, retrospective written: nothing", with(resolved, func(s *State) { s.Canvas, s.Retro = "F1", at }), CanvasWork{}, ""},
		{"resolved again after a reopen: replaced again", with(resolved, func(s *State) { s.Canvas, s.Retro = "F1", at.Add(-time.Hour) }),
			CanvasWork{Edit: "F1", Retro: at}, "## Timeline"},
		{"opened resolved: created as the retrospective", resolved, CanvasWork{Retro: at}, "## Timeline"},
		{"no canvases, open: nothing", with(open, func(s *State) { s.NoCanvas = true }), CanvasWork{}, ""},
		{"no canvases, resolved: a file", with(resolved, func(s *State) { s.NoCanvas = true }), CanvasWork{File: true, Retro: at}, "## Timeline"},
		{"no canvases, file shared: nothing", with(resolved, func(s *State) { s.NoCanvas, s.Retro = true, at }), CanvasWork{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := canvasWork(tt.st)
			text := got.Markdown
			got.Markdown = ""
			if got != tt.want {
				t.Errorf("canvasWork() = %+v, want %+v", got, tt.want)
			}
			if tt.wantText == "" && text != "" || !strings.Contains(text, tt.wantText) {
				t.Errorf("canvasWork() Markdown =\n%s\nwant it to contain %q", text, tt.wantText)
			}
		})
	}
}

func with(st State, f func(*State)) State {
	f(&st)
	return st
}
