package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// StatusUpdate is an incident's status update, as the root message and the
// announce line show the latest: published in PagerDuty, or from Slack
// through PagerDuty (whose incident.status_update_published brings it
// back, the one way an update reaches Slack, so none is shown twice).
type StatusUpdate struct {
	Text string
	// By is the author's name; At when PagerDuty published it.
	By string
	At time.Time
}

// updateClaim is how long the same update by the same responder is
// claimed: a double submit publishes it once.
const updateClaim = time.Minute

// recordUpdate keeps ev's status update as the latest when it is the
// newest seen; a late redelivery of an older one changes nothing.
func recordUpdate(st *State, ev *Event) Change {
	text := strings.TrimSpace(ev.Message)
	if text == "" || ev.OccurredAt.Before(st.Update.At) {
		return 0
	}
	next := StatusUpdate{Text: text, By: ev.Agent.Summary, At: ev.OccurredAt}
	if next == st.Update {
		return 0
	}
	st.Update = next
	// The root and the boards show it: they are rendered again.
	st.Version++
	return ChangeState
}

// updateKey is the claim of one status update: by its author and text.
func updateKey(req Request) string {
	sum := sha256.Sum256([]byte(req.UserID + "\x00" + strings.TrimSpace(req.Note)))
	return "update:" + req.IncidentID + ":" + hex.EncodeToString(sum[:12])
}

// postUpdate publishes the update as actor; done is the answer when it
// was.
func (r *Responder) postUpdate(ctx context.Context, actor Actor, inc Snapshot, text string) (done string, err error) {
	err = r.o.PagerDuty.PostStatusUpdate(ctx, actor.Email, inc.ID, strings.TrimSpace(text))
	return "Posted your status update on " + numberOrID(inc) + " as " + slackEscape(actor.Name) +
		"; it shows here as soon as PagerDuty publishes it.", err
}

// openForm opens the note form or the status update form req asks for.
func (r *Responder) openForm(ctx context.Context, req Request) Answer {
	open, name, command := r.o.Slack.OpenNoteForm, "note", "`/inc note <text>`"
	if req.Kind == RequestUpdateForm {
		open, name, command = r.o.Slack.OpenUpdateForm, "status update", "`/inc update <text>`"
	}
	if err := open(ctx, req.TriggerID, req.IncidentID, req.ChannelID); err != nil {
		r.o.Log.WarnContext(ctx, name+" form not opened", "incident_id", req.IncidentID, "error", err.Error())
		return Answer{Text: "Slack did not open the " + name + " form in time. Try again, or use " + command + "."}
	}
	return Answer{}
}
