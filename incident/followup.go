package incident

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Follow-ups are what the team means to do once the incident is over,
// noted from Slack (/inc followup <text>): listed by /inc followups, in
// the resolution summary and in the incident's memory. They are kept in
// the incident's document, each once.

// maxFollowUps bounds the follow-ups of one incident, and maxFollowUp the
// characters of one, so the incident document stays small.
const (
	maxFollowUps = 20
	maxFollowUp  = 300
)

// addFollowUp adds text to the follow-ups of st unless it is there, and
// reports whether it changed st; full when there is no room for it.
func addFollowUp(st *State, text string) (added, full bool) {
	if slices.Contains(st.FollowUps, text) {
		return false, false
	}
	if len(st.FollowUps) >= maxFollowUps {
		return false, true
	}
	st.FollowUps = append(st.FollowUps, text)
	return true, false
}

// followUp adds req.Note to the follow-ups of the incident st and says
// so; the same text twice is one follow-up, so a double submission or a
// replayed request adds it once.
func (r *Responder) followUp(ctx context.Context, req Request, st State) Answer {
	text := cutRunes(strings.Join(strings.Fields(req.Note), " "), maxFollowUp)
	if text == "" {
		return Answer{Text: "A follow-up needs some text: `/inc followup <text>`."}
	}
	id := st.Snapshot.ID
	var n int
	var added, full bool
	err := r.o.Incidents.Update(ctx, id, "", func(st *State, _ *EventRecord) (Change, error) {
		added, full = addFollowUp(st, text)
		n = slices.Index(st.FollowUps, text) + 1
		if !added {
			return 0, nil
		}
		return ChangeState, nil
	})
	switch {
	case err != nil:
		r.o.Log.ErrorContext(ctx, "follow-up not recorded", "incident_id", id, "error", err.Error())
		return Answer{Text: "The follow-up could not be recorded just now; try again in a moment."}
	case full:
		return Answer{Text: fmt.Sprintf("%s has %d follow-ups already, the most it keeps.", numberOrID(st.Snapshot), maxFollowUps)}
	case !added:
		return Answer{Text: "That is follow-up " + strconv.Itoa(n) + " of " + numberOrID(st.Snapshot) + " already."}
	}
	r.o.Log.InfoContext(ctx, "follow-up recorded", "incident_id", id, "slack_user_id", req.UserID)
	return Answer{Text: okPrefix + "Follow-up " + strconv.Itoa(n) + " of " + numberOrID(st.Snapshot) + " noted: " + slackEscape(text)}
}

// followUpsText lists the follow-ups of st, for /inc followups.
func followUpsText(st State) string {
	if len(st.FollowUps) == 0 {
		return numberOrID(st.Snapshot) + " has no follow-ups yet: `/inc followup <text>` notes one."
	}
	var b strings.Builder
	b.WriteString("*Follow-ups of " + slackEscape(numberOrID(st.Snapshot)) + "*")
	for i, f := range st.FollowUps {
		b.WriteString("\n" + strconv.Itoa(i+1) + ". " + slackEscape(f))
	}
	return b.String()
}
