package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
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

// TestReminderFromTheSweepButton: the sweep button reminds an open
// incident's quiet channel, once, with buttons that work: a snooze
// snoozes, and acts once.
func TestReminderFromTheSweepButton(t *testing.T) {
	t.Parallel()
	sb, srv := startWith(t, Config{RemindAfter: time.Millisecond})
	id, ch := trigger(t, sb)
	time.Sleep(5 * time.Millisecond)
	sweep := func() {
		t.Helper()
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Post(srv.URL+"/sandbox/sweep", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sweep()
	count := func() int {
		_, _, replies := rootView(sb, ch.ID)
		n := 0
		for _, r := range replies {
			if strings.Contains(r, "Time for a status update") {
				n++
			}
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("after the sweep button: %d reminders, want 1", n)
	}
	for i, want := range []string{"snoozed for 2h", "just snoozed this reminder"} {
		if ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_snooze_2h"}, "user": {ada}}); !strings.Contains(ans.Text, want) {
			t.Errorf("snooze %d answered %+v, want %q", i+1, ans, want)
		}
	}
	sweep()
	if n := count(); n != 1 {
		t.Errorf("after a snooze and another sweep: %d reminders, want 1", n)
	}
}
