package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/slackops"
)

const (
	e2eSigningSecret = "e2e-slack-signing-secret"
	e2ePagerDutyKey  = "e2e-pagerduty-key"
	e2eIncident      = "Q1CHECKOUT" // internal/pagerduty/testdata/triggered.json
)

// loop is an instance with responders acting from Slack: the fake Slack,
// the fake PagerDuty, and a server taking the answers Slack's
// response_url would show.
type loop struct {
	*instance
	nw    *netfake.Network
	slack *slackfake.Server
	pd    *pdfake.Server

	mu        sync.Mutex
	ephemeral []string
	answerURL string
}

// newLoop starts a loop on nw and the memory store; extra adds to or
// overrides the environment.
func newLoop(t *testing.T, nw *netfake.Network, extra map[string]string) *loop {
	t.Helper()
	return newLoopOn(t, nw, "memory", "", extra)
}

// newLoopOn starts a loop on nw and the store storeKind (project for
// Firestore).
func newLoopOn(t *testing.T, nw *netfake.Network, storeKind, project string, extra map[string]string) *loop {
	t.Helper()
	l := &loop{nw: nw, slack: newSlack(t, nw), pd: pdfake.NewServerOn(nw.Listen(), e2ePagerDutyKey)}
	t.Cleanup(l.pd.Close)
	l.slack.AddUser("UADA", "ada@example.com", false)
	l.slack.AddUser("UNOPD", "nobody@example.com", false)
	l.pd.AddUser("PADA", "Ada Lovelace", "Ada@Example.com")
	l.pd.AddUser("PBOT", "Incident Channels", "bot@example.com")
	l.pd.AddUser("PUSER00", "On Call", "oncall@example.com")
	l.pd.AddPolicy("PEP0001", 3, 0)
	l.pd.AddOnCall("PEP0001", "PUSER00", 1)
	l.pd.AddIncident(pdfake.Incident{ID: e2eIncident, Number: 1234, Status: "triggered", PolicyID: "PEP0001", Assignees: []string{"PUSER00"}})
	l.start(t, storeKind, project, extra)
	return l
}

// twin starts another instance on l's store, Slack and PagerDuty, as a
// second function instance would be.
func (l *loop) twin(t *testing.T, storeKind, project string) *loop {
	t.Helper()
	o := &loop{nw: l.nw, slack: l.slack, pd: l.pd}
	o.start(t, storeKind, project, nil)
	return o
}

// start serves an instance for l, with a server of its own taking the
// answers posted to response_url.
func (l *loop) start(t *testing.T, storeKind, project string, extra map[string]string) {
	t.Helper()
	answers := l.nw.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ResponseType string `json:"response_type"`
			Text         string `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		l.mu.Lock()
		l.ephemeral = append(l.ephemeral, m.ResponseType+": "+m.Text)
		l.mu.Unlock()
	}))
	t.Cleanup(answers.Close)
	l.answerURL = answers.URL
	env := map[string]string{
		"SLACK_SIGNING_SECRET": "rotated-out," + e2eSigningSecret,
		"PAGERDUTY_API_TOKEN":  e2ePagerDutyKey,
		"PAGERDUTY_API_URL":    l.pd.URL(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg := instanceConfig(t, l.slack, storeKind, project, env)
	if storeKind == "firestore" {
		cfg.budget, cfg.leaseMargin, cfg.leaseTTL = testBudget, testLeaseMargin, testLeaseTTL
	}
	l.instance = serve(t, l.nw, cfg)
}

// lastEphemeral returns the last answer posted to the response_url.
func (l *loop) lastEphemeral() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ephemeral) == 0 {
		return ""
	}
	return l.ephemeral[len(l.ephemeral)-1]
}

// post sends a form to path signed with secret and returns the status,
// the body and how long the answer took.
func (l *loop) post(t testing.TB, path string, form url.Values, secret string) (int, string, time.Duration) {
	t.Helper()
	body := []byte(form.Encode())
	req, err := http.NewRequest(http.MethodPost, l.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts, sig := slackops.SignRequest([]byte(secret), time.Now(), body)
	req.Header.Set(slackops.HeaderTimestamp, ts)
	req.Header.Set(slackops.HeaderSignature, sig)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// click sends the block_actions payload of user clicking the button
// actionID on the incident's root message.
func (l *loop) click(t *testing.T, user, actionID, team string) (int, time.Duration) {
	t.Helper()
	return l.clickPayload(t, user, actionID, team, e2eIncident)
}

// clickOn is click on the benchmark's incident n, from the fake's team.
func (l *loop) clickOn(b *testing.B, user, actionID string, n int) int {
	b.Helper()
	status, _ := l.clickPayload(b, user, actionID, slackfake.DefaultTeamID, fmt.Sprintf("QBENCH%06d", n))
	return status
}

// clickPayload sends the block_actions payload of user clicking the
// button actionID on incidentID's root message.
func (l *loop) clickPayload(t testing.TB, user, actionID, team, incidentID string) (int, time.Duration) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team, "domain": "fake"},
		"user":       map[string]any{"id": user, "username": "ada", "team_id": team},
		"trigger_id": triggerID(), "response_url": l.answerURL,
		"channel":   map[string]any{"id": "C0INC"},
		"container": map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C0INC"},
		"actions":   []map[string]any{{"action_id": actionID, "block_id": "respond", "value": incidentID, "type": "button", "action_ts": "1.2"}},
	})
	status, _, took := l.post(t, slackops.PathInteractions, url.Values{"payload": {string(payload)}}, e2eSigningSecret)
	return status, took
}

// triggers numbers the requests the tests send.
var triggers atomic.Int64

// triggerID is a new trigger_id: Slack gives each request its own, so no
// two requests, even in the same second, carry the same signature.
func triggerID() string { return "T" + strconv.FormatInt(triggers.Add(1), 10) }

// command sends /inc text from user in channel and returns the answer.
func (l *loop) command(t testing.TB, user, channel, text string) (int, string) {
	t.Helper()
	status, body, _ := l.post(t, slackops.PathCommands, url.Values{
		"team_id": {slackfake.DefaultTeamID}, "channel_id": {channel}, "user_id": {user}, "user_name": {"ada"},
		"command": {"/inc"}, "text": {text}, "response_url": {l.answerURL}, "trigger_id": {triggerID()},
	}, e2eSigningSecret)
	return status, body
}

// rootButtons returns the action ids of the buttons of the incident
// channel's root message.
func rootButtons(t *testing.T, fake *slackfake.Server) []string {
	t.Helper()
	var blocks []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(rootOf(t, onlyChannel(t, fake)).Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range blocks {
		if b.BlockID == "respond" {
			for _, e := range b.Elements {
				ids = append(ids, e.ActionID)
			}
		}
	}
	return ids
}

// TestEndToEndActFromSlack: the whole loop over HTTP. The root shows the
// buttons; Acknowledge calls PagerDuty as the clicking user (From: their
// PagerDuty email) and answers them within Slack's 3 s; PagerDuty's
// webhook then edits the root; the incident's PagerDuty timeline links
// the channel, once, and that note's webhook is not echoed.
func TestEndToEndActFromSlack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.mustDeliver(t, "triggered.json", "processed")
		if got, want := rootButtons(t, l.slack), []string{"incident_acknowledge", "incident_resolve", "incident_escalate", "incident_note", "incident_update", "incident_lead"}; !slices.Equal(got, want) {
			t.Fatalf("root buttons = %v, want %v", got, want)
		}
		notes := l.pd.Notes(e2eIncident)
		ch := onlyChannel(t, l.slack)
		if len(notes) != 1 || !strings.Contains(notes[0].Content, "#"+ch.Name) || !strings.Contains(notes[0].Content, ch.ID) || notes[0].UserID != "PBOT" {
			t.Fatalf("PagerDuty notes = %+v, want one back-link to #%s written as PBOT", notes, ch.Name)
		}

		l.pd.ResetCalls()
		status, took := l.click(t, "UADA", "incident_acknowledge", slackfake.DefaultTeamID)
		if status != http.StatusOK || took > 3*time.Second {
			t.Fatalf("click answered %d after %v, want 200 within 3 s", status, took)
		}
		wantContains(t, "ephemeral answer", l.lastEphemeral(), "ephemeral: ", "Acknowledged #1234", "Ada Lovelace")
		var put *pdfake.Request
		for _, r := range l.pd.Requests() {
			if r.Method == http.MethodPut {
				put = &r
			}
		}
		if put == nil || put.Path != "/incidents/"+e2eIncident || put.From != "Ada@Example.com" || !strings.Contains(put.Body, `"status":"acknowledged"`) {
			t.Fatalf("PagerDuty PUT = %+v, want the acknowledgement from Ada's PagerDuty address", put)
		}
		if inc, _ := l.pd.Incident(e2eIncident); inc.Status != "acknowledged" {
			t.Errorf("PagerDuty incident status = %s, want acknowledged", inc.Status)
		}

		// PagerDuty's webhook comes back: the root loses its Acknowledge.
		l.mustDeliver(t, "acknowledged.json", "processed")
		if got, want := rootButtons(t, l.slack), []string{"incident_resolve", "incident_escalate", "incident_note", "incident_update", "incident_lead"}; !slices.Equal(got, want) {
			t.Errorf("root buttons after the acknowledgement = %v, want %v", got, want)
		}
		// A late click on a stale root says so; PagerDuty is not called.
		l.pd.ResetCalls()
		l.click(t, "UADA", "incident_acknowledge", slackfake.DefaultTeamID)
		wantContains(t, "late click", l.lastEphemeral(), "already acknowledged")
		if n := l.pd.Calls(); n != 0 {
			t.Errorf("a late click made %d PagerDuty calls, want none", n)
		}

		// /inc in the channel and outside it.
		code, body := l.command(t, "UADA", ch.ID, "status")
		if code != http.StatusOK {
			t.Fatalf("/inc status = %d %s", code, body)
		}
		wantContains(t, "/inc status", body, `"response_type":"ephemeral"`, "acknowledged", "#1234")
		_, body = l.command(t, "UADA", "C0ELSEWHERE", "ack")
		wantContains(t, "/inc outside an incident channel", body, "not an incident channel")
		_, body = l.command(t, "UADA", ch.ID, "note db-1 restarted")
		wantContains(t, "/inc note", body, "Added your note")
		if notes := l.pd.Notes(e2eIncident); len(notes) != 2 || notes[1].Content != "db-1 restarted" || notes[1].UserID != "PADA" {
			t.Errorf("notes after /inc note = %+v, want Ada's note second", notes)
		}
		_, body = l.command(t, "UADA", ch.ID, "note db-1 restarted")
		wantContains(t, "the same note again", body, "just submitted this note; it is not done twice")
		if notes := l.pd.Notes(e2eIncident); len(notes) != 2 {
			t.Errorf("the same note twice made %d notes, want 2", len(notes))
		}
	})
}

// TestEndToEndSlackRequestsRefused: a request not signed with the app's
// secret (or too old) is 401, one from another workspace 403, and
// nothing happens in PagerDuty.
func TestEndToEndSlackRequestsRefused(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.mustDeliver(t, "triggered.json", "processed")
		l.pd.ResetCalls()
		form := url.Values{"team_id": {slackfake.DefaultTeamID}, "channel_id": {"C1"}, "user_id": {"UADA"}, "command": {"/inc"}, "text": {"ack"}}
		if code, _, _ := l.post(t, slackops.PathCommands, form, "wrong-secret"); code != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d, want 401", code)
		}
		if code, _, _ := l.post(t, slackops.PathCommands, form, "rotated-out"); code != http.StatusOK {
			t.Errorf("the other configured secret: %d, want 200", code)
		}
		if code, _ := l.click(t, "UADA", "incident_acknowledge", "TOTHERTEAM"); code != http.StatusForbidden {
			t.Errorf("another workspace: %d, want 403", code)
		}
		if n := l.pd.Calls(); n != 0 {
			t.Errorf("refused requests made %d PagerDuty calls, want none", n)
		}
	})
}

// TestEndToEndActFailures: what a responder reads when acting fails, each
// within Slack's 3 s, and the incident unchanged in PagerDuty.
func TestEndToEndActFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		user  string
		setup func(l *loop)
		want  string
	}{
		{"no PagerDuty user", "UNOPD", func(l *loop) {}, "no PagerDuty user has"},
		{"PagerDuty refuses the user", "UADA", func(l *loop) { l.pd.Forbid("PADA") }, "HTTP 403"},
		{"PagerDuty down", "UADA", func(l *loop) {
			l.pd.FailOn(http.MethodPut, "/incidents/"+e2eIncident, pdfake.Fault{Status: 503})
		}, "PagerDuty failed"},
		{"PagerDuty rate limits", "UADA", func(l *loop) {
			l.pd.FailOn(http.MethodPut, "/incidents/"+e2eIncident, pdfake.Fault{Status: 429, RetryAfter: "7"})
		}, "try again in 7s"},
		{"PagerDuty slow", "UADA", func(l *loop) {
			l.pd.FailOn(http.MethodPut, "/incidents/"+e2eIncident, pdfake.Fault{Delay: 10 * time.Second})
		}, "did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := netfake.New()
				l := newLoop(t, nw, nil)
				l.mustDeliver(t, "triggered.json", "processed")
				tt.setup(l)
				status, took := l.click(t, tt.user, "incident_acknowledge", slackfake.DefaultTeamID)
				if status != http.StatusOK || took > 3*time.Second {
					t.Errorf("answered %d after %v, want 200 within Slack's 3 s", status, took)
				}
				wantContains(t, "ephemeral answer", l.lastEphemeral(), tt.want)
				if inc, _ := l.pd.Incident(e2eIncident); inc.Status != "triggered" {
					t.Errorf("PagerDuty incident status = %s, want triggered still", inc.Status)
				}
			})
		})
	}
}

// TestEndToEndNoPagerDutyToken: with the signing secret but no PagerDuty
// key, the root has no buttons and /inc says what to set; without the
// signing secret Slack's paths are 404.
func TestEndToEndNoPagerDutyToken(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, map[string]string{"PAGERDUTY_API_TOKEN": "", "PAGERDUTY_FROM_EMAIL": ""})
		l.mustDeliver(t, "triggered.json", "processed")
		if got := rootButtons(t, l.slack); got != nil {
			t.Errorf("root buttons = %v, want none", got)
		}
		_, body := l.command(t, "UADA", onlyChannel(t, l.slack).ID, "ack")
		wantContains(t, "/inc ack", body, "PAGERDUTY_API_TOKEN")

		off := newLoop(t, nw, map[string]string{"SLACK_SIGNING_SECRET": ""})
		if code, body, _ := off.post(t, slackops.PathCommands, url.Values{"text": {"ack"}}, e2eSigningSecret); code != http.StatusNotFound || !strings.Contains(body, "SLACK_SIGNING_SECRET") {
			t.Errorf("without a signing secret: %d %q, want 404 naming SLACK_SIGNING_SECRET", code, body)
		}
	})
}

// TestEndToEndBacklinkWhilePagerDutyFails: PagerDuty's REST API failing
// the back-link's POST (a 503: the note may or may not be saved) does not
// hold the incident's webhooks up; the next event looks the note up and
// writes it, once.
func TestEndToEndBacklinkWhilePagerDutyFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.pd.FailOn(http.MethodPost, "/incidents/"+e2eIncident+"/notes", pdfake.Fault{Status: 503})
		l.mustDeliver(t, "triggered.json", "processed")
		if notes := l.pd.Notes(e2eIncident); len(notes) != 0 {
			t.Fatalf("notes = %+v, want none while PagerDuty fails", notes)
		}
		l.mustDeliver(t, "acknowledged.json", "processed")
		l.mustDeliver(t, "annotated.json", "processed")
		notes := l.pd.Notes(e2eIncident)
		if len(notes) != 1 || !strings.Contains(notes[0].Content, onlyChannel(t, l.slack).ID) {
			t.Errorf("notes = %+v, want the back-link once", notes)
		}
	})
}

// TestEndToEndHiddenEmail: a responder whose email Slack does not show
// (the scope missing) is told why, and the answer is cached: a second
// click asks Slack nothing.
func TestEndToEndHiddenEmail(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		l := newLoop(t, nw, nil)
		l.mustDeliver(t, "triggered.json", "processed")
		l.slack.HideEmails(true)
		l.click(t, "UADA", "incident_acknowledge", slackfake.DefaultTeamID)
		wantContains(t, "answer", l.lastEphemeral(), "does not show Incident Channels your email address")
		before := l.slack.Calls("users.info")
		l.click(t, "UADA", "incident_acknowledge", slackfake.DefaultTeamID)
		if got := l.slack.Calls("users.info"); got != before {
			t.Errorf("users.info calls %d → %d, want the miss cached", before, got)
		}
		if inc, _ := l.pd.Incident(e2eIncident); inc.Status != "triggered" {
			t.Errorf("incident %s, want untouched", inc.Status)
		}
	})
}

// sharedChannelClick sends the block_actions payload Slack sends when
// user clicks Resolve on the root in a channel shared with another
// organisation (Slack Connect): team is the app's workspace, user.team_id
// the user's own team.
func (l *loop) sharedChannelClick(t *testing.T, user, userTeam string) int {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": slackfake.DefaultTeamID, "domain": slackfake.DefaultDomain},
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": userTeam},
		"api_app_id": "AINCIDENTS", "token": "unused", "trigger_id": triggerID(), "response_url": l.answerURL,
		"is_enterprise_install": false, "channel": map[string]any{"id": "C0INC", "name": "inc-1234-checkout"},
		"container": map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C0INC", "is_ephemeral": false},
		"message":   map[string]any{"type": "message", "user": slackfake.BotUserID, "ts": "1.1", "text": "#1234"},
		"actions": []map[string]any{{"action_id": "incident_resolve", "block_id": "respond", "value": e2eIncident,
			"type": "button", "action_ts": "1.2", "text": map[string]any{"type": "plain_text", "text": "Resolve"}}},
	})
	status, _, _ := l.post(t, slackops.PathInteractions, url.Values{"payload": {string(payload)}}, e2eSigningSecret)
	return status
}

// resolveFrom has user of userTeam click Resolve in a shared channel and
// checks the outcome: resolved when refusal is "", else the refusal
// answered and the incident untouched. It reports whether it was refused.
func (l *loop) resolveFrom(t *testing.T, user, userTeam, refusal string) bool {
	t.Helper()
	if status := l.sharedChannelClick(t, user, userTeam); status != http.StatusOK {
		t.Fatalf("click answered %d, want 200", status)
	}
	inc, _ := l.pd.Incident(e2eIncident)
	if refusal == "" {
		wantContains(t, "answer", l.lastEphemeral(), "Resolved #1234")
		if inc.Status != "resolved" {
			t.Errorf("PagerDuty incident %s, want resolved", inc.Status)
		}
		return false
	}
	wantContains(t, "answer", l.lastEphemeral(), "ephemeral: ", refusal)
	if inc.Status != "triggered" {
		t.Errorf("PagerDuty incident %s, want triggered still", inc.Status)
	}
	return true
}

// TestEndToEndOnlyOurPeopleAct: only the workspace's own people act. In a
// channel shared with another organisation, an external user clicking
// Resolve — by the payload's user.team_id, or by users.info when the
// payload does not tell — gets a plain refusal; so do deactivated
// accounts, bots, unconfirmed addresses and guests (unless ALLOW_GUESTS).
// Nothing happens in PagerDuty.
func TestEndToEndOnlyOurPeopleAct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		user     string
		userTeam string
		env      map[string]string
		setup    func(l *loop)
		want     string // "" resolves
	}{
		{name: "external user in a shared channel", user: "UEXT", userTeam: "T0PARTNER", want: "from another organisation",
			setup: func(l *loop) {
				l.slack.AddUser("UEXT", "ada@example.com", false) // even with a PagerDuty user's address
				l.slack.SetTraits("UEXT", slackfake.UserTraits{TeamID: "T0PARTNER"})
			}},
		{name: "external by users.info", user: "UEXT", userTeam: slackfake.DefaultTeamID, want: "from another organisation",
			setup: func(l *loop) {
				l.slack.AddUser("UEXT", "ada@example.com", false)
				l.slack.SetTraits("UEXT", slackfake.UserTraits{TeamID: "T0PARTNER"})
			}},
		{name: "a stranger", user: "UEXT", userTeam: slackfake.DefaultTeamID, want: "from another organisation",
			setup: func(l *loop) {
				l.slack.AddUser("UEXT", "ada@example.com", false)
				l.slack.SetTraits("UEXT", slackfake.UserTraits{Stranger: true})
			}},
		{name: "unknown to the workspace", user: "UOTHERWS", userTeam: slackfake.DefaultTeamID, want: "from another organisation"},
		{name: "deactivated", user: "UADA", userTeam: slackfake.DefaultTeamID, want: "deactivated",
			setup: func(l *loop) { l.slack.AddUser("UADA", "ada@example.com", true) }},
		{name: "an app user", user: "UADA", userTeam: slackfake.DefaultTeamID, want: "Bots and apps",
			setup: func(l *loop) { l.slack.SetTraits("UADA", slackfake.UserTraits{AppUser: true}) }},
		{name: "address not confirmed", user: "UADA", userTeam: slackfake.DefaultTeamID, want: "not confirmed your email",
			setup: func(l *loop) { l.slack.SetTraits("UADA", slackfake.UserTraits{EmailUnconfirmed: true}) }},
		{name: "a guest", user: "UADA", userTeam: slackfake.DefaultTeamID, want: "ALLOW_GUESTS",
			setup: func(l *loop) { l.slack.SetTraits("UADA", slackfake.UserTraits{Restricted: true}) }},
		{name: "a guest, guests allowed", user: "UADA", userTeam: slackfake.DefaultTeamID, env: map[string]string{"ALLOW_GUESTS": "true"},
			setup: func(l *loop) { l.slack.SetTraits("UADA", slackfake.UserTraits{UltraRestricted: true}) }},
		{name: "a member", user: "UADA", userTeam: slackfake.DefaultTeamID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := netfake.New()
				l := newLoop(t, nw, tt.env)
				l.mustDeliver(t, "triggered.json", "processed")
				if tt.setup != nil {
					tt.setup(l)
				}
				l.pd.ResetCalls()
				if !l.resolveFrom(t, tt.user, tt.userTeam, tt.want) {
					return
				}
				for _, r := range l.pd.Requests() {
					if r.Method != http.MethodGet {
						t.Errorf("PagerDuty got %s %s, want no write", r.Method, r.Path)
					}
				}
			})
		})
	}
}

// TestEndToEndPagerDutyRoles: a Slack user acts as PagerDuty would let
// their PagerDuty user: a limited user only on their own teams'
// incidents (the incident is Payments', PTEAM01), an observer never, and
// ACT_ROLES narrows the roles further. A promotion in PagerDuty takes
// effect at the next click, though the role is cached.
func TestEndToEndPagerDutyRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		role  string
		teams []string
		env   map[string]string
		want  string // "" resolves
	}{
		{name: "limited user of the incident's team", role: "limited_user", teams: []string{"PTEAM01"}},
		{name: "limited user of another team", role: "limited_user", teams: []string{"PTEAM99"}, want: "belongs to Payments"},
		{name: "restricted access without a team", role: "restricted_access", want: "belongs to Payments"},
		{name: "observer", role: "observer", want: "*observer* role, which may not change incidents"},
		{name: "read-only user", role: "read_only_user", want: "may not change incidents"},
		{name: "user, ACT_ROLES owner,admin", role: "user", env: map[string]string{"ACT_ROLES": "owner,admin"}, want: "(ACT_ROLES)"},
		{name: "admin, ACT_ROLES owner,admin", role: "admin", env: map[string]string{"ACT_ROLES": "owner,admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := netfake.New()
				l := newLoop(t, nw, tt.env)
				l.mustDeliver(t, "triggered.json", "processed")
				l.pd.SetRole("PADA", tt.role)
				l.pd.SetTeams("PADA", tt.teams...)
				if !l.resolveFrom(t, "UADA", slackfake.DefaultTeamID, tt.want) {
					return
				}
				// Promoted in PagerDuty: the next click acts, the cached
				// role notwithstanding.
				l.pd.SetRole("PADA", "admin")
				l.sharedChannelClick(t, "UADA", slackfake.DefaultTeamID)
				if inc, _ := l.pd.Incident(e2eIncident); inc.Status != "resolved" {
					t.Errorf("after a promotion: PagerDuty incident %s, want resolved (answer %q)", inc.Status, l.lastEphemeral())
				}
			})
		})
	}
}

// TestEndToEndActFromSlackFirestore: on Firestore, /inc finds the
// channel's incident with its query, the claim and the user's PagerDuty
// identity are stored, and two instances clicking at once act once.
func TestEndToEndActFromSlackFirestore(t *testing.T) {
	t.Parallel()
	project := firestoretest.Project(t)
	l := newLoopOn(t, netfake.New(), "firestore", project, nil)
	l.mustDeliver(t, "triggered.json", "processed")
	other := l.twin(t, "firestore", project)

	_, body := l.command(t, "UADA", onlyChannel(t, l.slack).ID, "status")
	wantContains(t, "/inc status on Firestore", body, "triggered", "#1234")

	l.pd.ResetCalls()
	var wg sync.WaitGroup
	for _, in := range []*loop{l, other} {
		wg.Go(func() {
			if status, _ := in.clickPayload(t, "UADA", "incident_acknowledge", slackfake.DefaultTeamID, e2eIncident); status != http.StatusOK {
				t.Errorf("click answered %d", status)
			}
		})
	}
	wg.Wait()
	puts := 0
	for _, r := range l.pd.Requests() {
		if r.Method == http.MethodPut {
			puts++
		}
	}
	if puts != 1 {
		t.Errorf("two instances clicking at once made %d acknowledgements, want 1", puts)
	}
	answers := l.lastEphemeral() + " | " + other.lastEphemeral()
	wantContains(t, "the two answers", answers, "✓ Acknowledged #1234", "just acknowledged")
	before := l.slack.Calls("users.info")
	l.command(t, "UADA", onlyChannel(t, l.slack).ID, "note from Firestore")
	if got := l.slack.Calls("users.info"); got != before {
		t.Errorf("users.info calls %d → %d, want Ada's PagerDuty user read from Firestore", before, got)
	}
}
