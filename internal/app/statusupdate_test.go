package app

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

// TestEndToEndStatusUpdate: /inc update publishes the update in
// PagerDuty as the responder; PagerDuty's incident.status_update_published
// brings it back once, as a reply broadcast to the channel and as the
// root's latest update, however often it is delivered; the same update
// submitted twice is published once; a refusal changes nothing.
func TestEndToEndStatusUpdate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, l.slack)
		before := len(ch.Messages)

		const text = "Rolled back; error rate falling."
		start := time.Now()
		code, body := l.command(t, "UADA", ch.ID, "update "+text)
		if code != http.StatusOK || time.Since(start) > 3*time.Second {
			t.Fatalf("/inc update = %d after %v, want 200 within 3 s", code, time.Since(start))
		}
		wantContains(t, "/inc update", body, "Posted your status update on #1234", "Ada Lovelace")
		ups := l.pd.StatusUpdates(e2eIncident)
		if len(ups) != 1 || ups[0].Content != text || ups[0].UserID != "PADA" {
			t.Fatalf("PagerDuty status updates = %+v, want Ada's %q", ups, text)
		}
		_, body = l.command(t, "UADA", ch.ID, "update "+text)
		wantContains(t, "the same update again", body, "just posted this status update; it is not done twice")
		if n := len(l.pd.StatusUpdates(e2eIncident)); n != 1 {
			t.Errorf("the same update twice published %d, want 1", n)
		}
		if n := len(onlyChannel(t, l.slack).Messages); n != before {
			t.Errorf("the channel has %d messages before PagerDuty's event, want %d: the update reaches Slack through PagerDuty alone", n, before)
		}

		// PagerDuty's event, delivered twice (a redelivery): one reply.
		echo := bytes.ReplaceAll(testdata(t, "status_update_published.json"), []byte("Mitigated by rollback; monitoring."), []byte(text))
		for range 2 {
			if code, body := l.deliver(t, echo); code != http.StatusOK {
				t.Fatalf("deliver status_update_published = %d %q", code, body)
			}
		}
		ch = onlyChannel(t, l.slack)
		root := rootOf(t, ch)
		var updates int
		for _, m := range ch.Replies(root.TS) {
			if strings.Contains(m.Text, "Status update from Ada Lovelace") {
				updates++
				if !m.Broadcast || !strings.Contains(m.Text, text) {
					t.Errorf("update reply %q broadcast %v, want it broadcast with the text", m.Text, m.Broadcast)
				}
			}
		}
		if updates != 1 {
			t.Errorf("the thread has %d status update replies, want 1", updates)
		}
		wantContains(t, "root", string(root.Blocks), "Latest update", "Ada Lovelace", text)

		// /inc update alone opens the form; PagerDuty's 402 says the
		// plan lacks the feature; neither publishes anything.
		l.command(t, "UADA", ch.ID, "update    ")
		if v := l.slack.Views(); len(v) != 1 || !strings.Contains(string(v[0].JSON), "incident_update_modal") {
			t.Errorf("views opened = %+v, want the status update form", v)
		}
		l.pd.Fail(pdfake.Fault{Status: http.StatusPaymentRequired})
		_, body = l.command(t, "UADA", ch.ID, "update something new")
		wantContains(t, "/inc update refused", body, "plan does not include it")
		if n := len(l.pd.StatusUpdates(e2eIncident)); n != 1 {
			t.Errorf("after refusals PagerDuty has %d status updates, want 1", n)
		}
	})
}
