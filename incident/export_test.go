package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// TestExport: /inc export shares the retrospective draft in the thread of
// the incident's first message, for any of the workspace's own people
// with a PagerDuty user, whatever their role, and calls no PagerDuty; a
// user the look-up refuses gets its answer and no file.
func TestExport(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, incident.StatusResolved)
	err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		st.RootTS, st.FollowUps = "1700000000.000100", []string{"Alert on <!channel> pool size"}
		return incident.ChangeState, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	a := h.do(incident.Request{Kind: incident.RequestExport, ChannelID: "C42", UserID: "UOBS"})
	if !strings.HasPrefix(a.Text, "✓ ") || !strings.Contains(a.Text, "#42") {
		t.Errorf("export by an observer = %q, want it done", a.Text)
	}
	if len(h.slack.files) != 1 {
		t.Fatalf("files shared = %+v, want one", h.slack.files)
	}
	f := h.slack.files[0]
	if f.Where != "C42/1700000000.000100" || f.Name != "retrospective-42.md" || !strings.Contains(f.Title, "#42") {
		t.Errorf("shared %+v, want retrospective-42.md in the thread of the root, titled after #42", f)
	}
	if !strings.HasPrefix(f.Content, "# Incident #42: DB down\n") || !strings.Contains(f.Content, `- [ ] Alert on \<\!channel\> pool size`) {
		t.Errorf("shared content =\n%s\nwant the retrospective with its follow-up escaped", f.Content)
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %v, want none", calls)
	}

	a = h.do(incident.Request{Kind: incident.RequestExport, ChannelID: "C42", UserID: "USTRANGER"})
	if !strings.Contains(a.Text, "no PagerDuty user") || len(h.slack.files) != 1 {
		t.Errorf("export by a user the look-up refuses = %q (%d files), want the refusal and no file", a.Text, len(h.slack.files))
	}
}

// TestExportFails: a Slack app without files:write is told so; another
// failure asks to try again.
func TestExportFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"missing scope", fmt.Errorf("files.completeUploadExternal: missing_scope: %w", incident.ErrMissingScope), "`files:write`"},
		{"other", &incident.Error{Kind: incident.KindMaybeDone, Op: "files.completeUploadExternal C42"}, "try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, incident.StatusTriggered)
			h.slack.shareErr = tt.err
			if a := h.do(incident.Request{Kind: incident.RequestExport, ChannelID: "C42", UserID: "UADA"}); !strings.Contains(a.Text, tt.want) {
				t.Errorf("export = %q, want it to contain %q", a.Text, tt.want)
			}
		})
	}
}
