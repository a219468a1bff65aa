package incident

import (
	"context"
	"errors"
)

// export shares the retrospective draft of the incident st as a Markdown
// file in its channel's thread (/inc export). It only reads the incident,
// so any of the workspace's own people with a PagerDuty user may ask,
// whatever their role: the user look-up is the check (Who may act, 1-4).
func (r *Responder) export(ctx context.Context, req Request, st State) Answer {
	if _, err := r.o.Actors.Lookup(ctx, req.UserID); err != nil {
		r.o.Log.WarnContext(ctx, "Slack user may not export", "slack_user_id", req.UserID, "error", err.Error())
		return Answer{Text: r.o.Explain(err)}
	}
	inc := st.Snapshot
	title := "Retrospective draft of " + numberOrID(inc)
	err := r.o.Slack.ShareFile(ctx, st.ChannelID, st.RootTS, retroFileName(inc), title, Retrospective(st))
	switch {
	case errors.Is(err, ErrMissingScope):
		r.o.Log.WarnContext(ctx, "retrospective not shared: the Slack app lacks files:write", "incident_id", inc.ID, "error", err.Error())
		return Answer{Text: "Incident Channels cannot share files here yet: its Slack app lacks the `files:write` scope. Ask a Slack admin to install it again with the current manifest."}
	case err != nil:
		r.o.Log.ErrorContext(ctx, "retrospective not shared", "incident_id", inc.ID, "channel_id", st.ChannelID, "error", err.Error())
		return Answer{Text: "Slack did not take the retrospective just now; try again in a moment."}
	}
	r.o.Log.InfoContext(ctx, "retrospective shared", "incident_id", inc.ID, "channel_id", st.ChannelID, "slack_user_id", req.UserID)
	where := "in the incident's channel"
	if st.RootTS != "" {
		where = "in the thread of the incident's first message"
	}
	return Answer{Text: okPrefix + "Shared the retrospective draft of " + numberOrID(inc) + " " + where + "."}
}
