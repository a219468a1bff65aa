package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/replay"
)

// start serves a sandbox on a loopback port, as cmd/local does.
func start(t *testing.T, getenv func(string) string) (*Sandbox, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	sb, err := New(context.Background(), Config{BaseURL: "http://" + srv.Listener.Addr().String(), Getenv: getenv, ReplayDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb
	srv.Start()
	t.Cleanup(func() { sb.Close(); srv.Close() })
	return sb, srv
}

// sendLifecycle replays one incident into the sandbox, as cmd/replay does.
func sendLifecycle(t *testing.T, sb *Sandbox, opts replay.Options) {
	t.Helper()
	ds, err := replay.Build(replay.Builtin(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &replay.Sender{URL: sb.FunctionURL(), Secret: []byte(sb.Secret)}
	if failed := s.SendAll(context.Background(), ds, func(r replay.Result) {
		if !r.OK() {
			t.Errorf("delivery failed: %v", r)
		}
	}); failed > 0 {
		t.Fatalf("%d deliveries failed", failed)
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// inOrder reports whether every want occurs in s, in that order.
func inOrder(s string, want ...string) (string, bool) {
	for _, w := range want {
		i := strings.Index(s, w)
		if i < 0 {
			return w, false
		}
		s = s[i+len(w):]
	}
	return "", true
}

func TestPageShowsWhatSlackWould(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	sendLifecycle(t, sb, replay.Options{FirstNumber: 1234})

	resp, page := get(t, sb.PageURL())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", sb.PageURL(), resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want script-src 'self'", csp)
	}
	if missing, ok := inOrder(page,
		`data-channel="inc-1234-checkout-latency-above-2s-p99"`,
		"Resolved · high · P1 · Checkout API", // topic
		`class="bookmarks"`,
		`class="message root status-resolved"`,
		"🟢 #1234 Checkout latency above 2s (p99)",
		"<b>Status</b><br>🟢 Resolved", "<b>Priority</b><br>P1", ">Checkout API</a>",
		`class="button primary" href="https://acme.pagerduty.com/incidents/Q`,
		"6 replies",
		"Acknowledged by Ada Lovelace", "Note from Ada Lovelace", "&lt;!channel&gt; ignore this",
		"Escalated to Grace Hopper", "Priority changed to P1 by Ada Lovelace", "Resolved by Ada Lovelace after 42m",
		"also sent to the channel",
		"Webhooks received", "incident.resolved", "<b>200</b> processed",
	); !ok {
		t.Errorf("page lacks %q (or has it out of order):\n%s", missing, page)
	}
	// Posted concurrently with the priority change's reply, in either order.
	if missing, ok := inOrder(page, `data-channel="inc-1234-checkout-latency-above-2s-p99"`,
		"Could not add to this channel: Alan Turing (no Slack account)", "Resolved by Ada Lovelace after 42m"); !ok {
		t.Errorf("the incident channel lacks %q", missing)
	}
	for _, bookmark := range []string{"🔖 PagerDuty #1234</a>", "🔖 Conference bridge</a>"} { // added concurrently, in any order
		if !strings.Contains(page, bookmark) {
			t.Errorf("page lacks bookmark %q", bookmark)
		}
	}
	if strings.Contains(page, `<span class="mention">@channel`) {
		t.Errorf("the note's escaped <!channel> renders as a mention")
	}

	// The fragment the script refreshes is the same content.
	resp, live := get(t, sb.PageURL()+"live")
	if resp.StatusCode != http.StatusOK || !strings.Contains(live, "Resolved by Ada Lovelace after 42m") || strings.Contains(live, "<html") {
		t.Errorf("GET live = %d, want the channels without the page around them:\n%s", resp.StatusCode, live)
	}
}

func TestHostileTitleIsText(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	const title = `<script>alert(1)</script> <img src=x onerror=alert(2)> <!channel> "db" down`
	sendLifecycle(t, sb, replay.Options{FirstNumber: 66, Title: title})
	_, page := get(t, sb.PageURL())
	for _, bad := range []string{"<script>alert", "<img src=x", `<span class="mention">@channel`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: the title became markup", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; &lt;!channel&gt; &#34;db&#34; down") {
		t.Errorf("page lacks the title as escaped text:\n%s", page)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string
	}{
		{"function refuses GET", "GET", "/", http.StatusMethodNotAllowed, ""},
		{"function wants a signature", "POST", "/", http.StatusUnauthorized, ""},
		{"page", "GET", "/sandbox/", http.StatusOK, "text/html"},
		{"script", "GET", "/sandbox/static/sandbox.js", http.StatusOK, "text/javascript"},
		{"style", "GET", "/sandbox/static/sandbox.css", http.StatusOK, "text/css"},
		{"unknown sandbox path", "GET", "/sandbox/nope", http.StatusNotFound, ""},
		{"sandbox paths never reach the function", "POST", "/sandbox/", http.StatusNotFound, ""},
		{"fake Slack", "POST", "/slack/api/auth.test?token=" + slackfake.DefaultToken, http.StatusOK, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("%s %s Content-Type = %q, want %q", tt.method, tt.path, ct, tt.wantType)
			}
		})
	}
	// The unsigned POST is listed, so a wrong secret is easy to spot.
	if _, live := get(t, sb.PageURL()+"live"); !strings.Contains(live, `<tr class="hook fail">`) || !strings.Contains(live, "<b>401</b>") {
		t.Errorf("live fragment does not list the 401:\n%s", live)
	}
}

// TestReplayButton starts a replay from the page and waits for its
// channel to resolve.
func TestReplayButton(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(srv.URL+"/sandbox/replay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != PagePath {
		t.Errorf("POST /sandbox/replay = %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), PagePath)
	}
	waitFor(t, sb, func(chs []slackfake.Channel) bool {
		// #incidents, #incidents-low and the incident's channel with its
		// 6 replies (the last the resolution).
		if len(chs) != 3 || len(chs[2].TopLevel()) != 1 {
			return false
		}
		replies := chs[2].Replies(chs[2].TopLevel()[0].TS)
		return len(replies) == 6 && strings.HasPrefix(replies[5].Text, "Resolved")
	})

	// The second button replays the low-urgency incident raised to P1.
	resp, err = client.PostForm(srv.URL+"/sandbox/replay", url.Values{"sample": {SampleRaised}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /sandbox/replay sample=raised = %d, want 303", resp.StatusCode)
	}
	waitFor(t, sb, func(chs []slackfake.Channel) bool {
		if len(chs) != 4 || len(chs[1].TopLevel()) != 1 || len(chs[3].TopLevel()) != 1 {
			return false
		}
		replies := chs[3].Replies(chs[3].TopLevel()[0].TS)
		return len(replies) == 4 && strings.HasPrefix(replies[3].Text, "Resolved")
	})

	resp, err = client.PostForm(srv.URL+"/sandbox/replay", url.Values{"sample": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /sandbox/replay sample=nope = %d, want 400", resp.StatusCode)
	}
}

// waitFor waits until done holds for the fake Slack's channels.
func waitFor(t *testing.T, sb *Sandbox, done func([]slackfake.Channel) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		chs := sb.Slack.Channels()
		if done(chs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replay did not finish: channels %+v", chs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendSample replays one of the page's samples into the sandbox.
func sendSample(t *testing.T, sb *Sandbox, name string) {
	t.Helper()
	ds, err := sampleDeliveries(name)
	if err != nil {
		t.Fatal(err)
	}
	s := &replay.Sender{URL: sb.FunctionURL(), Secret: []byte(sb.Secret)}
	if failed := s.SendAll(context.Background(), ds, func(r replay.Result) {
		if !r.OK() {
			t.Errorf("delivery failed: %v", r)
		}
	}); failed > 0 {
		t.Fatalf("%d deliveries failed", failed)
	}
}

// section returns the part of the page from the channel named name to
// the next channel.
func section(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `data-channel="`+name+`"`)
	if i < 0 {
		t.Fatalf("page has no channel %s:\n%s", name, page)
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], `<article class="channel`); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// TestSharedChannelsAndPeople replays both samples and reads the shared
// channels on the page: the announce board with one line per incident
// channel, the low-urgency incident's message in #incidents-low with its
// thread and the channel it moved to, the summary in that channel, the
// people invited through the fake PagerDuty and the one who could not be.
func TestSharedChannelsAndPeople(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	sendLifecycle(t, sb, replay.Options{FirstNumber: 1234})
	sendSample(t, sb, SampleRaised)

	var raised string
	for _, c := range sb.Slack.Channels() {
		if strings.Contains(c.Name, "order-history") {
			raised = c.Name
		}
	}
	if raised == "" {
		t.Fatalf("the raised incident has no channel: %+v", sb.Slack.Channels())
	}
	_, page := get(t, sb.PageURL())

	if missing, ok := inOrder(page, "Shared channels", `data-channel="incidents"`, `data-channel="incidents-low"`, "Incident channels", `data-channel="`+raised+`"`,
		`data-channel="inc-1234-checkout-latency-above-2s-p99"`); !ok {
		t.Errorf("page lacks %q, or has the channels out of order (shared first, then newest first)", missing)
	}
	announce := section(t, page, "incidents")
	if missing, ok := inOrder(announce, sb.Announce, "1 member:", "Incident Channels (bot)",
		`class="message root status-resolved"`, "🟢 <a", "#1234 Checkout latency above 2s (p99)</a>",
		`<span class="mention">#inc-1234-checkout-latency-above-2s-p99</span>`, "Resolved · high · P1 · Checkout API",
		`class="message root status-resolved"`, "Order history slow to load for some users</a>", `<span class="mention">#`+raised+`</span>`,
	); !ok {
		t.Errorf("#incidents lacks %q (or has it out of order):\n%s", missing, announce)
	}
	if strings.Contains(announce, "class=\"thread\"") || strings.Contains(announce, "Nothing posted yet") {
		t.Errorf("#incidents shows a thread or no message:\n%s", announce)
	}

	low := section(t, page, "incidents-low")
	if missing, ok := inOrder(low, `class="message root status-resolved"`, "Order history slow to load for some users",
		"<b>Urgency</b><br>High", "Updates in the thread · Moved to <span class=\"mention\">#"+raised+"</span>",
		"edited in place", "2 replies", "Acknowledged by Ada Lovelace", "Note from Ada Lovelace", "failing over to the standby",
	); !ok {
		t.Errorf("#incidents-low lacks %q (or has it out of order):\n%s", missing, low)
	}

	ch := section(t, page, raised)
	if missing, ok := inOrder(ch, "2 members", `title="U01ADA000">Ada Lovelace`, "What happened before this channel opened",
		"Triggered (low urgency)", "Acknowledged by Ada Lovelace", "Note from Ada Lovelace", "Resolved by Ada Lovelace"); !ok {
		t.Errorf("#%s lacks %q (or has it out of order):\n%s", raised, missing, ch)
	}
	for _, want := range []string{"Priority changed to P1 by Ada Lovelace", "Could not add to this channel: Alan Turing (no Slack account)"} {
		if !strings.Contains(ch, want) {
			t.Errorf("#%s lacks %q:\n%s", raised, want, ch)
		}
	}
	if strings.Contains(page, "🔒") {
		t.Errorf("the built-in rules open public channels, but the page shows a private one")
	}
	// The workspace is described in the header.
	if missing, ok := inOrder(page, "The fake workspace", sb.Announce, sb.Low, "built-in routing rules", "Alan Turing <code>PUSER01</code> → <i>no Slack account</i>"); !ok {
		t.Errorf("page header lacks %q", missing)
	}
}

// TestRoutingFile: the user's rules replace the built-in ones, may name
// the sandbox's channels by id, and invite users the fake then knows.
func TestRoutingFile(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "routing.yaml")
	// The ids of #incidents and #incidents-low in a fresh sandbox.
	if err := os.WriteFile(rules, []byte(`rules:
  - name: sev1
    match: {priority: P1}
    prefix: sev
    private: true
    invite: [U0RULE001]
  - name: the-rest
    channel: false
    post_to: C00000001
`), 0o600); err != nil {
		t.Fatal(err)
	}
	sb, _ := start(t, func(k string) string { return map[string]string{"ROUTING_FILE": rules}[k] })
	if sb.Announce != "C00000001" || sb.Low != "C00000002" || sb.RoutingFile != rules {
		t.Fatalf("announce %s, low %s, routing file %q: want C00000001, C00000002 and %s", sb.Announce, sb.Low, sb.RoutingFile, rules)
	}
	// P2 at first: one message in #incidents, then a private channel at P1.
	sendLifecycle(t, sb, replay.Options{FirstNumber: 77})
	var sev slackfake.Channel
	for _, c := range sb.Slack.Channels() {
		if strings.HasPrefix(c.Name, "sev-77-") {
			sev = c
		}
	}
	if !sev.Private || !slices.Contains(sev.Members, "U0RULE001") || !slices.Contains(sev.Members, "U01ADA000") {
		t.Fatalf("channel sev-77-… = %+v, want private with U0RULE001 and Ada", sev)
	}
	if low, _ := sb.Slack.Channel(sb.Low); len(low.Messages) != 0 {
		t.Errorf("#incidents-low got %d messages: the built-in rules applied", len(low.Messages))
	}
	_, page := get(t, sb.PageURL())
	if missing, ok := inOrder(page, `<article class="channel private" id="channel-`+sev.ID, `title="private channel">🔒</span>`+sev.Name, `class="badge private-badge">private</span>`); !ok {
		t.Errorf("the private channel lacks %q", missing)
	}
	// The post-only message is in #incidents, the announce channel too:
	// one message there serves both.
	if missing, ok := inOrder(section(t, page, "incidents"), "Updates in the thread · Moved to <span class=\"mention\">#"+sev.Name+"</span>",
		"3 replies", "Acknowledged by Ada Lovelace", "Escalated to Grace Hopper"); !ok {
		t.Errorf("#incidents lacks %q", missing)
	}
	if !strings.Contains(page, "your <code>ROUTING_FILE</code>") {
		t.Errorf("the page does not say the user's rules apply")
	}
}

func TestUsesFunctionSettingsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CHANNEL_PREFIX": "sev", "SLACK_INVITE_USERS": "U0ADA0001", "STORE": "firestore", "SLACK_API_URL": "https://slack.com/api/"}
	sb, _ := start(t, func(k string) string { return env[k] })
	sendLifecycle(t, sb, replay.Options{FirstNumber: 5, Incidents: 1})
	ch, ok := sb.Slack.Channel("sev-5-checkout-latency-above-2s-p99")
	if !ok {
		t.Fatalf("channel sev-5-… missing: %+v", sb.Slack.Channels())
	}
	if got, _ := json.Marshal(ch.Members); !strings.Contains(string(got), "U0ADA0001") {
		t.Errorf("members = %s, want U0ADA0001 invited", got)
	}

	_, err := New(context.Background(), Config{BaseURL: "http://127.0.0.1:1", Getenv: func(k string) string {
		return map[string]string{"CHANNEL_PREFIX": "Not Valid"}[k]
	}})
	if err == nil || !strings.Contains(err.Error(), "CHANNEL_PREFIX") {
		t.Errorf("New(CHANNEL_PREFIX=Not Valid) error = %v, want it to name CHANNEL_PREFIX", err)
	}
}

func TestMessageFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		msg        slackfake.Message
		wantStatus string
		wantHTML   string
	}{
		{"no blocks shows the text", slackfake.Message{Text: "*hi* &lt;b&gt;"}, "", "<b>hi</b> &lt;b&gt;"},
		{"broken blocks show the text", slackfake.Message{Text: "t", Blocks: []byte("{")}, "", "t"},
		{"status from the field", slackfake.Message{Blocks: []byte(`[{"type":"section","fields":[{"type":"mrkdwn","text":"*Status*\n🟠 Acknowledged"}]}]`)}, "acknowledged", ""},
		{"status from the header emoji", slackfake.Message{Blocks: []byte(`[{"type":"header","text":{"type":"plain_text","text":"🔴 #1 x"}}]`)}, "triggered", ""},
		{"plain_text is escaped", slackfake.Message{Blocks: []byte(`[{"type":"section","text":{"type":"plain_text","text":"<b>"}}]`)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mv := messageFor(tt.msg, nil)
			if mv.Status != tt.wantStatus {
				t.Errorf("status = %q, want %q", mv.Status, tt.wantStatus)
			}
			if got := string(mv.Fallback); got != tt.wantHTML {
				t.Errorf("fallback = %q, want %q", got, tt.wantHTML)
			}
			for _, b := range mv.Blocks {
				if strings.Contains(string(b.Text), "<b>") {
					t.Errorf("block text %q holds unescaped markup", b.Text)
				}
			}
		})
	}
}

// TestSweepButton: once a sample has resolved ARCHIVE_AFTER ago, the
// sweep button archives its channel, and the page shows it greyed out.
func TestSweepButton(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(nil)
	sb, err := New(context.Background(), Config{BaseURL: "http://" + srv.Listener.Addr().String(), ReplayDelay: -1, ArchiveAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb
	srv.Start()
	t.Cleanup(func() { sb.Close(); srv.Close() })
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string) {
		t.Helper()
		resp, err := client.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s = %d, want 303", path, resp.StatusCode)
		}
	}
	post("/sandbox/replay")
	waitFor(t, sb, func(chs []slackfake.Channel) bool {
		if len(chs) != 3 || len(chs[2].TopLevel()) != 1 {
			return false
		}
		replies := chs[2].Replies(chs[2].TopLevel()[0].TS)
		return len(replies) == 6 && strings.HasPrefix(replies[5].Text, "Resolved")
	})
	post("/sandbox/sweep")
	chs := sb.Slack.Channels()
	if !chs[2].Archived {
		t.Fatalf("incident channel %s not archived by the sweep button", chs[2].Name)
	}
	resp, err := http.Get(srv.URL + "/sandbox/live")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `class="channel archived"`) {
		t.Errorf("page does not grey the archived channel out:\n%s", body)
	}
}

// The Slack users of People.
const (
	ada      = "U01ADA000"
	margaret = "U05MH0000" // no PagerDuty user
)

// trigger sends the built-in incident's trigger alone, as the page's
// "Trigger an incident" button does, and returns the incident's id and
// its channel.
func trigger(t *testing.T, sb *Sandbox) (string, slackfake.Channel) {
	t.Helper()
	ds, err := sampleDeliveries(SampleTriggered)
	if err != nil {
		t.Fatal(err)
	}
	s := &replay.Sender{URL: sb.FunctionURL(), Secret: []byte(sb.Secret)}
	if r := s.Send(context.Background(), ds[0]); !r.OK() {
		t.Fatalf("trigger: %v", r)
	}
	for _, c := range sb.Slack.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			return ds[0].IncidentID, c
		}
	}
	t.Fatalf("no incident channel after the trigger: %+v", sb.Slack.Channels())
	return "", slackfake.Channel{}
}

// postAct posts a responder request of the page and decodes its answer.
func postAct(t *testing.T, srv *httptest.Server, path string, form url.Values) ActAnswer {
	t.Helper()
	resp, err := http.PostForm(srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %v = %d %s", path, form, resp.StatusCode, body)
	}
	var ans ActAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("POST %s answer %q: %v", path, body, err)
	}
	return ans
}

// rootView returns the channel's root message as the page renders it,
// with the action ids of its responder buttons and its thread's text.
func rootView(sb *Sandbox, channelID string) (mv messageView, buttons, replies []string) {
	ch, _ := sb.Slack.Channel(channelID)
	top := ch.TopLevel()
	if len(top) == 0 {
		return messageView{}, nil, nil
	}
	mv = messageFor(top[0], nil)
	for _, b := range mv.Blocks {
		for _, btn := range b.Buttons {
			if btn.ActionID != "" && btn.URL == "" {
				buttons = append(buttons, btn.ActionID)
			}
		}
	}
	for _, r := range ch.Replies(top[0].TS) {
		replies = append(replies, r.Text)
	}
	return mv, buttons, replies
}

// waitRoot waits until done holds for the channel's root message.
func waitRoot(t *testing.T, sb *Sandbox, channelID, what string, done func(mv messageView, buttons, replies []string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mv, buttons, replies := rootView(sb, channelID)
		if done(mv, buttons, replies) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: root status %q, buttons %q, replies %q", what, mv.Status, buttons, replies)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasReply reports whether a reply starts with prefix.
func hasReply(replies []string, prefix string) bool {
	return slices.ContainsFunc(replies, func(r string) bool { return strings.HasPrefix(r, prefix) })
}

// TestActFromThePage walks an incident through the page's buttons: each
// click acts in the fake PagerDuty as the chosen person, answers them
// only, and PagerDuty's webhook comes back to update the root and the
// thread.
func TestActFromThePage(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)

	inc, ok := sb.PagerDuty.Incident(id)
	if !ok || inc.Status != "triggered" || inc.PolicyID != "PEP0001" || !slices.Equal(inc.Assignees, []string{"PUSER00"}) {
		t.Fatalf("fake PagerDuty incident %s = %+v (known %t), want it triggered on PEP0001 assigned to PUSER00", id, inc, ok)
	}
	if notes := sb.PagerDuty.Notes(id); len(notes) != 1 || notes[0].UserID != botPagerDutyID || !strings.Contains(notes[0].Content, ch.ID) {
		t.Errorf("PagerDuty notes = %+v, want the function's back-link to %s written as %s", notes, ch.ID, botPagerDutyID)
	}
	if _, buttons, _ := rootView(sb, ch.ID); !slices.Equal(buttons, respondActions) {
		t.Fatalf("root buttons = %q, want %q", buttons, respondActions)
	}

	ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_acknowledge"}, "user": {ada}})
	if !strings.Contains(ans.Text, "Acknowledged #") || !strings.Contains(ans.Text, "as Ada Lovelace") {
		t.Errorf("acknowledge answered %q, want the acknowledgement as Ada Lovelace", ans.Text)
	}
	if inc, _ := sb.PagerDuty.Incident(id); inc.Status != "acknowledged" {
		t.Errorf("fake PagerDuty status = %s, want acknowledged", inc.Status)
	}
	waitRoot(t, sb, ch.ID, "after Acknowledge", func(mv messageView, buttons, replies []string) bool {
		return mv.Status == "acknowledged" && !slices.Contains(buttons, "incident_acknowledge") && hasReply(replies, "Acknowledged by Ada Lovelace")
	})
	_, live := get(t, sb.PageURL()+"live")
	if missing, ok := inOrder(section(t, live, ch.Name), `class="message root status-acknowledged"`,
		`data-action="incident_resolve" data-incident="`+id+`" data-confirm="Resolve #`, "Only visible to you (Ada Lovelace)", "Acknowledged #", `class="inc-form"`); !ok {
		t.Errorf("the channel on the page lacks %q:\n%s", missing, section(t, live, ch.Name))
	}

	// Escalate pages level 2 of the policy: Katherine, invited.
	ans = postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_escalate"}, "user": {ada}})
	if !strings.Contains(ans.Text, "Escalated #") || !strings.Contains(ans.Text, "level 2") {
		t.Errorf("escalate answered %q, want level 2", ans.Text)
	}
	waitRoot(t, sb, ch.ID, "after Escalate, with Katherine (U09KJ0000) invited", func(_ messageView, _, replies []string) bool {
		ch, _ := sb.Slack.Channel(ch.ID)
		return hasReply(replies, "Escalated to Katherine Johnson") && slices.Contains(ch.Members, "U09KJ0000")
	})

	ans = postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_resolve"}, "user": {ada}})
	if !strings.Contains(ans.Text, "Resolved #") {
		t.Errorf("resolve answered %q", ans.Text)
	}
	waitRoot(t, sb, ch.ID, "after Resolve", func(mv messageView, buttons, replies []string) bool {
		return mv.Status == "resolved" && !slices.Contains(buttons, "incident_resolve") && hasReply(replies, "Resolved by Ada Lovelace")
	})
}

// TestNoteFromTheForm: Add note opens the function's modal in the fake
// Slack; submitted empty it stays open with the function's error, with
// text the note lands in PagerDuty as the person and comes back as a
// thread reply.
func TestNoteFromTheForm(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)

	ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_note"}, "user": {ada}})
	if ans.View == nil || ans.View.ID == "" || ans.Text != "" {
		t.Fatalf("Add note answered %+v, want the modal the function opened", ans)
	}
	if views := sb.Slack.Views(); len(views) != 1 || views[0].ID != ans.View.ID {
		t.Fatalf("fake Slack views = %+v, want the one the page got", views)
	}
	if ans := postAct(t, srv, SubmitPath, url.Values{"view": {ans.View.ID}, "user": {ada}, "text": {"  "}}); !strings.Contains(ans.Errors["note"], "needs some text") {
		t.Errorf("empty note answered %+v, want the modal's error", ans)
	}
	const note = "Rolled back deploy 7f3a from the sandbox."
	if ans := postAct(t, srv, SubmitPath, url.Values{"view": {ans.View.ID}, "user": {ada}, "text": {note}}); len(ans.Errors) > 0 {
		t.Fatalf("note answered %+v, want the modal closed", ans)
	}
	notes := sb.PagerDuty.Notes(id)
	if len(notes) != 2 || notes[1].Content != note || notes[1].UserID != "PUSER00" {
		t.Fatalf("PagerDuty notes = %+v, want the back-link, then Ada's note", notes)
	}
	waitRoot(t, sb, ch.ID, "after the note", func(_ messageView, _, replies []string) bool {
		return slices.ContainsFunc(replies, func(r string) bool {
			return strings.HasPrefix(r, "Note from Ada Lovelace") && strings.Contains(r, note)
		})
	})
	// The back-link's own webhook came back too, and made no reply.
	if _, _, replies := rootView(sb, ch.ID); hasReply(replies, "Note from "+botName) {
		t.Errorf("the back-link note was posted in the channel: %q", replies)
	}
}

// TestIncFromThePage: /inc in the channel's box answers only the person.
func TestIncFromThePage(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)
	inc, _ := sb.PagerDuty.Incident(id)

	ans := postAct(t, srv, CommandPath, url.Values{"channel": {ch.ID}, "user": {ada}, "text": {"status"}})
	if !strings.Contains(ans.Text, fmt.Sprintf("#%d", inc.Number)) || !strings.Contains(ans.Text, "Status: *triggered*") {
		t.Errorf("/inc status answered %q, want the incident triggered", ans.Text)
	}
	ans = postAct(t, srv, CommandPath, url.Values{"channel": {sb.Announce}, "user": {ada}, "text": {"ack"}})
	if !strings.Contains(ans.Text, "not an incident channel") {
		t.Errorf("/inc ack in #incidents answered %q", ans.Text)
	}
	ans = postAct(t, srv, CommandPath, url.Values{"channel": {ch.ID}, "user": {ada}, "text": {"ack"}})
	if !strings.Contains(ans.Text, "Acknowledged #") {
		t.Errorf("/inc ack answered %q", ans.Text)
	}
	waitRoot(t, sb, ch.ID, "after /inc ack", func(mv messageView, _, _ []string) bool { return mv.Status == "acknowledged" })
	_, live := get(t, sb.PageURL()+"live")
	if missing, ok := inOrder(section(t, live, ch.Name), "Only visible to you (Ada Lovelace)", "<code>/inc status</code>", "Status: <b>triggered</b>",
		"<code>/inc ack</code>", "Acknowledged #"); !ok {
		t.Errorf("the channel on the page lacks %q", missing)
	}
}

// TestActWithoutPagerDutyUser: a Slack user PagerDuty does not know is
// told why, and nothing changes in PagerDuty.
func TestActWithoutPagerDutyUser(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, _ := trigger(t, sb)
	ans := postAct(t, srv, ActPath, url.Values{"incident": {id}, "action": {"incident_acknowledge"}, "user": {margaret}})
	if !strings.Contains(ans.Text, "no PagerDuty user has") || !strings.Contains(ans.Text, "margaret@example.com") {
		t.Errorf("Margaret's click answered %q, want the explanation naming her email", ans.Text)
	}
	if inc, _ := sb.PagerDuty.Incident(id); inc.Status != "triggered" {
		t.Errorf("fake PagerDuty status = %s, want triggered still", inc.Status)
	}
}

// TestActRefusals: requests the page would not make are refused with
// what is wrong.
func TestActRefusals(t *testing.T) {
	t.Parallel()
	sb, srv := start(t, nil)
	id, ch := trigger(t, sb)
	tests := []struct {
		name, path string
		form       url.Values
		wantStatus int
	}{
		{"not a responder button", ActPath, url.Values{"incident": {id}, "action": {"open_pagerduty"}, "user": {ada}}, http.StatusBadRequest},
		{"not one of the people", ActPath, url.Values{"incident": {id}, "action": {"incident_acknowledge"}, "user": {slackfake.BotUserID}}, http.StatusBadRequest},
		{"no such incident", ActPath, url.Values{"incident": {"QNOPE"}, "action": {"incident_acknowledge"}, "user": {ada}}, http.StatusNotFound},
		{"no such modal", SubmitPath, url.Values{"view": {"VNOPE"}, "user": {ada}, "text": {"x"}}, http.StatusNotFound},
		{"no such channel", CommandPath, url.Values{"channel": {"CNOPE"}, "user": {ada}, "text": {"status"}}, http.StatusNotFound},
		{"command as nobody", CommandPath, url.Values{"channel": {ch.ID}, "text": {"status"}}, http.StatusBadRequest},
		{"response_url not given out", responsePath + "nope", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tt.path, "application/x-www-form-urlencoded", strings.NewReader(tt.form.Encode()))
			if tt.form == nil {
				resp, err = http.Post(srv.URL+tt.path, "application/json", strings.NewReader(`{"text":"hi"}`))
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("POST %s %v = %d, want %d", tt.path, tt.form, resp.StatusCode, tt.wantStatus)
			}
		})
	}
	if inc, _ := sb.PagerDuty.Incident(id); inc.Status != "triggered" {
		t.Errorf("fake PagerDuty status = %s after refused requests, want triggered", inc.Status)
	}
}
