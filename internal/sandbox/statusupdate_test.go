package sandbox

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestUpdateFromTheForm: Post update opens the status update form; the
// update lands in PagerDuty as the person and comes back, through
// PagerDuty's event, once in the thread (broadcast) and on the root.
func TestUpdateFromTheForm(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)

	ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_update"}, "user": {ada}})
	if ans.View == nil || ans.View.ID == "" {
		t.Fatalf("Post update answered %+v, want the form the function opened", ans)
	}
	if ans := postAct(t, srv, SubmitPath, url.Values{"view": {ans.View.ID}, "user": {ada}, "text": {" "}}); !strings.Contains(ans.Errors["update"], "needs some text") {
		t.Errorf("empty update answered %+v, want the form's error", ans)
	}
	const text = "Failover complete; checkout recovering."
	if ans := postAct(t, srv, SubmitPath, url.Values{"view": {ans.View.ID}, "user": {ada}, "text": {text}}); len(ans.Errors) > 0 {
		t.Fatalf("update answered %+v, want the form closed", ans)
	}
	if ups := sb.PagerDuty.StatusUpdates(id); len(ups) != 1 || ups[0].Content != text || ups[0].UserID != "PUSER00" {
		t.Fatalf("PagerDuty status updates = %+v, want Ada's", ups)
	}
	waitRoot(t, sb, ch.ID, "after the update", func(_ messageView, _, replies []string) bool {
		n := 0
		for _, r := range replies {
			if strings.HasPrefix(r, "Status update from Ada Lovelace") && strings.Contains(r, text) {
				n++
			}
		}
		return n == 1
	})
}

// TestLeadFromThePage: I'll lead names the person as the incident's
// lead: the root shows them and the thread says so.
func TestLeadFromThePage(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)
	ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_lead"}, "user": {ada}})
	if !strings.Contains(ans.Text, "leads #") {
		t.Errorf("I'll lead answered %+v, want it to say who leads", ans)
	}
	waitRoot(t, sb, ch.ID, "after I'll lead", func(_ messageView, _, replies []string) bool {
		return slices.ContainsFunc(replies, func(r string) bool { return strings.HasSuffix(r, " leads the incident") })
	})
}
