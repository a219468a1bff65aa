package app

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

// TestEndToEndReplayedRequestActsOnce: a signed /inc ack captured and
// sent again within its 5-minute window is answered "already handled",
// and PagerDuty sees one write. The first try fails in PagerDuty, which
// releases the Responder's own claim on the acknowledgement: only the
// request's signature stops the replay from acting.
func TestEndToEndReplayedRequestActsOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLoop(t, netfake.New(), nil)
		l.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, l.slack)
		l.pd.ResetCalls()
		l.pd.FailOn(http.MethodPut, "/incidents/"+e2eIncident, pdfake.Fault{Status: 503})
		body := []byte(url.Values{
			"team_id": {slackfake.DefaultTeamID}, "channel_id": {ch.ID}, "user_id": {"UADA"}, "user_name": {"ada"},
			"command": {"/inc"}, "text": {"ack"}, "response_url": {l.answerURL}, "trigger_id": {triggerID()},
		}.Encode())
		ts, sig := slackops.SignRequest([]byte(e2eSigningSecret), time.Now(), body)
		send := func() (int, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, l.url+slackops.PathCommands, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(slackops.HeaderTimestamp, ts)
			req.Header.Set(slackops.HeaderSignature, sig)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := l.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, answer := send()
		wantContains(t, "/inc ack", answer, "PagerDuty failed")
		if code != http.StatusOK {
			t.Fatalf("/inc ack = %d, want 200", code)
		}
		code, answer = send()
		if code != http.StatusOK || strings.TrimSpace(answer) != slackops.AlreadyHandled {
			t.Errorf("replayed /inc ack = %d %q, want 200 %q", code, answer, slackops.AlreadyHandled)
		}
		writes := 0
		for _, r := range l.pd.Requests() {
			if r.Method != http.MethodGet {
				writes++
			}
		}
		if writes != 1 {
			t.Errorf("PagerDuty saw %d writes for a request and its replay, want 1", writes)
		}
	})
}
