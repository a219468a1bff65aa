package slackops

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/internal/endpoint"
)

const (
	testSecret = "test-signing-secret"
	testTeam   = "T9TK3CUKW" // the team of testdata/block_actions.json
)

// fakeActions answers every request with answer and records what it got.
type fakeActions struct {
	answer Answer
	// wait, when set, blocks each call until its context ends, as an
	// action stuck on a slow PagerDuty would.
	wait bool

	mu       sync.Mutex
	got      []Interaction
	commands []Command
	deadline time.Duration // the context's time left when called
}

func (f *fakeActions) Interact(ctx context.Context, in Interaction) Answer {
	f.record(ctx)
	f.mu.Lock()
	f.got = append(f.got, in)
	f.mu.Unlock()
	return f.result(ctx)
}

func (f *fakeActions) Command(ctx context.Context, cmd Command) Answer {
	f.record(ctx)
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	f.mu.Unlock()
	return f.result(ctx)
}

func (f *fakeActions) record(ctx context.Context) {
	if d, ok := ctx.Deadline(); ok {
		f.mu.Lock()
		f.deadline = time.Until(d)
		f.mu.Unlock()
	}
}

func (f *fakeActions) result(ctx context.Context) Answer {
	if f.wait {
		<-ctx.Done()
	}
	return f.answer
}

func (f *fakeActions) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got) + len(f.commands)
}

// responseURL is a response_url endpoint that records what it is sent.
type responseURL struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	ctypes []string
}

func newResponseURL(t *testing.T) *responseURL {
	t.Helper()
	r := &responseURL{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.ctypes = append(r.ctypes, req.Header.Get("Content-Type"))
		r.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *responseURL) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

type testHandler struct {
	http.Handler
	actions *fakeActions
	logs    *bytes.Buffer
}

func newTestHandler(t *testing.T, actions *fakeActions, mod func(*InteractivityConfig)) testHandler {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg := InteractivityConfig{
		Secrets:   [][]byte{[]byte(testSecret)},
		Workspace: func(context.Context) (Workspace, error) { return Workspace{TeamID: testTeam}, nil },
		Actions:   actions,
		// A fake Slack on this machine: the tests' response_urls are
		// served there too.
		APIURL: "http://127.0.0.1:1/api/",
	}
	if mod != nil {
		mod(&cfg)
	}
	// Served behind the function's middleware chain, as the function
	// serves it.
	chain := endpoint.Chain{Log: slog.New(slog.NewJSONHandler(logs, nil))}
	return testHandler{chain.Serve(InteractivityEndpoint, NewInteractivityHandler(cfg)), actions, logs}
}

// signed returns a POST of body to path, signed now with testSecret.
func signed(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ts, sig := SignRequest([]byte(testSecret), time.Now(), []byte(body))
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sig)
	return req
}

// interactionBody is the form Slack posts for the JSON payload.
func interactionBody(payload string) string {
	return url.Values{"payload": {payload}}.Encode()
}

// withResponseURL returns the fixture's payload with its response URLs
// pointed at to.
func withResponseURL(t *testing.T, file, to string) string {
	t.Helper()
	p := fixture(t, file).Get("payload")
	for _, from := range []string{
		"https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
		"https://hooks.slack.com/app-actions/T0MJR11A4/21974584944/yk1S9ndf35Q1flupVG5JbpM6",
		"https://hooks.slack.com/app/ABC12312/1234567890/A100B100C100d100",
	} {
		p = strings.ReplaceAll(p, from, to)
	}
	return p
}

// withTeam returns the fixture's payload with its team ids set to testTeam.
func withTeam(t *testing.T, file string, teams ...string) string {
	t.Helper()
	p := fixture(t, file).Get("payload")
	for _, team := range teams {
		p = strings.ReplaceAll(p, team, testTeam)
	}
	return p
}

func commandBody(text string) string {
	return url.Values{"team_id": {testTeam}, "user_id": {"U1"}, "user_name": {"ada"}, "channel_id": {"C1"},
		"command": {"/inc"}, "text": {text}, "response_url": {"https://hooks.slack.com/commands/x"}, "trigger_id": {"1.2.3"}}.Encode()
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerVerifiesFirst(t *testing.T) {
	t.Parallel()
	body := commandBody("status")
	now := time.Now()
	sign := func(secret string, at time.Time) http.Header {
		ts, sig := SignRequest([]byte(secret), at, []byte(body))
		return http.Header{HeaderTimestamp: {ts}, HeaderSignature: {sig}}
	}
	tests := []struct {
		name    string
		secrets []string
		header  http.Header
		want    int
	}{
		{"valid", []string{testSecret}, sign(testSecret, now), http.StatusOK},
		{"previous secret during rotation", []string{"new-secret", testSecret}, sign(testSecret, now), http.StatusOK},
		{"wrong secret", []string{testSecret}, sign("other-secret", now), http.StatusUnauthorized},
		{"six minutes old", []string{testSecret}, sign(testSecret, now.Add(-6*time.Minute)), http.StatusUnauthorized},
		{"six minutes ahead", []string{testSecret}, sign(testSecret, now.Add(6*time.Minute)), http.StatusUnauthorized},
		{"no signature", []string{testSecret}, http.Header{HeaderTimestamp: sign(testSecret, now)[HeaderTimestamp]}, http.StatusUnauthorized},
		{"no timestamp", []string{testSecret}, http.Header{HeaderSignature: sign(testSecret, now)[HeaderSignature]}, http.StatusUnauthorized},
		{"no headers", []string{testSecret}, http.Header{}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var secrets [][]byte
			for _, s := range tt.secrets {
				secrets = append(secrets, []byte(s))
			}
			h := newTestHandler(t, &fakeActions{answer: Answer{Text: "ok"}}, func(c *InteractivityConfig) { c.Secrets = secrets })
			req := httptest.NewRequest(http.MethodPost, PathCommands, strings.NewReader(body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := serve(h, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			if want := 0; tt.want != http.StatusOK && h.actions.calls() != want {
				t.Errorf("Actions called %d times on a %d, want none", h.actions.calls(), tt.want)
			}
			log := h.logs.String()
			for _, secret := range tt.secrets {
				if strings.Contains(log, secret) {
					t.Errorf("log holds a secret: %s", log)
				}
			}
		})
	}
}

func TestHandlerRefusals(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", MaxInteractivityBody+1)
	tests := []struct {
		name string
		req  *http.Request
		team func(context.Context) (Workspace, error)
		want int
	}{
		{"GET", httptest.NewRequest(http.MethodGet, PathInteractions, nil), nil, http.StatusMethodNotAllowed},
		{"another path", signed("/slack/events", commandBody("status")), nil, http.StatusNotFound},
		{"body too large", signed(PathCommands, big), nil, http.StatusRequestEntityTooLarge},
		{"signed but no payload", signed(PathInteractions, "type=block_actions"), nil, http.StatusBadRequest},
		{"signed but not JSON", signed(PathInteractions, interactionBody("{")), nil, http.StatusBadRequest},
		{"command without user", signed(PathCommands, "team_id="+testTeam+"&command=%2Finc"), nil, http.StatusBadRequest},
		{"interaction from another workspace", signed(PathInteractions, interactionBody(fixture(t, "message_action.json").Get("payload"))), nil, http.StatusForbidden},
		{"command from another workspace", signed(PathCommands, strings.Replace(commandBody("ack"), testTeam, "TOTHER", 1)), nil, http.StatusForbidden},
		{"workspace unknown", signed(PathCommands, commandBody("ack")),
			func(context.Context) (Workspace, error) { return Workspace{}, errors.New("auth.test: ratelimited") }, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) {
				if tt.team != nil {
					c.Workspace = tt.team
				}
			})
			rec := serve(h, tt.req)
			if rec.Code != tt.want {
				t.Errorf("status = %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			if n := h.actions.calls(); n != 0 {
				t.Errorf("Actions called %d times, want none", n)
			}
		})
	}
}

func TestHandlerAnswers(t *testing.T) {
	t.Parallel()
	const ephemeral = `{"response_type":"ephemeral","replace_original":false,"text":"Acknowledged *#1234*"}`
	tests := []struct {
		name   string
		path   string
		body   func(t *testing.T, responseURL string) string
		answer Answer
		// wantBody is the HTTP answer; wantPosted what the response_url got.
		wantBody   string
		wantPosted []string
	}{
		{"command with text", PathCommands, func(*testing.T, string) string { return commandBody("ack") },
			Answer{Text: "Acknowledged *#1234*"}, `{"response_type":"ephemeral","text":"Acknowledged *#1234*"}` + "\n", nil},
		{"command without text", PathCommands, func(*testing.T, string) string { return commandBody("ack") },
			Answer{}, "", nil},
		{"button with text", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(withResponseURL(t, "block_actions.json", u))
		}, Answer{Text: "Acknowledged *#1234*"}, "", []string{ephemeral}},
		{"button without text", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(withResponseURL(t, "block_actions.json", u))
		}, Answer{}, "", nil},
		{"message shortcut with text", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(strings.ReplaceAll(withResponseURL(t, "message_action.json", u), "T0MJRM1A7", testTeam))
		}, Answer{Text: "Acknowledged *#1234*"}, "", []string{ephemeral}},
		{"modal with errors stays open", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(strings.ReplaceAll(withResponseURL(t, "view_submission.json", u), "T1234567", testTeam))
		}, Answer{ViewErrors: map[string]string{"multiline": "Write a note first", "a": "b"}},
			`{"response_action":"errors","errors":{"a":"b","multiline":"Write a note first"}}` + "\n", nil},
		{"modal submitted closes, text to its response_url", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(strings.ReplaceAll(withResponseURL(t, "view_submission.json", u), "T1234567", testTeam))
		}, Answer{Text: "Acknowledged *#1234*"}, "", []string{ephemeral}},
		{"modal without response_urls: text dropped", PathInteractions, func(t *testing.T, u string) string {
			return interactionBody(`{"type":"view_submission","team":{"id":"` + testTeam + `"},"user":{"id":"U1"},"view":{"callback_id":"note"}}`)
		}, Answer{Text: "Acknowledged *#1234*"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ru := newResponseURL(t)
			h := newTestHandler(t, &fakeActions{answer: tt.answer}, nil)
			rec := serve(h, signed(tt.path, tt.body(t, ru.URL+"/hook")))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d (%s), want 200", rec.Code, rec.Body)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if tt.wantBody != "" && rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q, want JSON", rec.Header().Get("Content-Type"))
			}
			got := ru.received()
			if len(got) != len(tt.wantPosted) {
				t.Fatalf("response_url got %q, want %q", got, tt.wantPosted)
			}
			for i := range got {
				if got[i] != tt.wantPosted[i] {
					t.Errorf("response_url got %s, want %s", got[i], tt.wantPosted[i])
				}
			}
			if n := h.actions.calls(); n != 1 {
				t.Errorf("Actions called %d times, want once", n)
			}
			if log := h.logs.String(); strings.Contains(log, "Acknowledged") || strings.Contains(log, "inputted value") {
				t.Errorf("log holds message text: %s", log)
			}
		})
	}
}

func TestHandlerIgnoresOtherInteractions(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "x"}}, nil)
	rec := serve(h, signed(PathInteractions, interactionBody(fixture(t, "view_closed.json").Get("payload"))))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("view_closed answered %d %q, want an empty 200", rec.Code, rec.Body)
	}
	if n := h.actions.calls(); n != 0 {
		t.Errorf("Actions called %d times for view_closed, want none", n)
	}
}

func TestHandlerPassesTheInteraction(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{}, nil)
	payload := withTeam(t, "block_actions.json", "T9TK3CUKW")
	if rec := serve(h, signed(PathInteractions, interactionBody(payload))); rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	want, _ := ParseInteraction(url.Values{"payload": {payload}})
	if len(h.actions.got) != 1 || h.actions.got[0].Action != want.Action || h.actions.got[0].Message != want.Message {
		t.Errorf("Interact got %+v, want %+v", h.actions.got, want)
	}
}

// TestSharedChannelUserRefused: in a channel shared with another
// organisation (Slack Connect), Slack sends the app's team as team.id and
// the clicking user's own team as user.team_id. An external user's click
// does nothing and they get the plain refusal; the workspace's own
// Enterprise Grid organisation counts as its own.
func TestSharedChannelUserRefused(t *testing.T) {
	t.Parallel()
	external := strings.Replace(withTeam(t, "block_actions.json", "T9TK3CUKW"),
		`"team_id": "`+testTeam+`"`, `"team_id": "T0OTHERORG"`, 1)
	grid := strings.Replace(external, "T0OTHERORG", "E0ACME", 1)
	for _, tt := range []struct {
		name, payload string
		acts          bool
	}{
		{"external user", external, false},
		{"a user of the workspace's own Grid organisation", grid, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ru := newResponseURL(t)
			h := newTestHandler(t, &fakeActions{answer: Answer{Text: "Resolved"}}, func(c *InteractivityConfig) {
				c.Workspace = func(context.Context) (Workspace, error) {
					return Workspace{TeamID: testTeam, EnterpriseID: "E0ACME"}, nil
				}
			})
			body := interactionBody(strings.Replace(tt.payload, "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209", ru.URL+"/hook", 1))
			rec := serve(h, signed(PathInteractions, body))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if got := h.actions.calls(); (got == 1) != tt.acts {
				t.Errorf("Actions called %d times, want acts=%t", got, tt.acts)
			}
			got := ru.received()
			if len(got) != 1 {
				t.Fatalf("response_url got %q, want one answer", got)
			}
			if refused := strings.Contains(got[0], "another organisation"); refused == tt.acts {
				t.Errorf("answer = %s, want the refusal: %t", got[0], !tt.acts)
			}
			if logged := strings.Contains(h.logs.String(), "not the workspace's own"); logged == tt.acts {
				t.Errorf("log = %s, want the refusal logged: %t", h.logs.String(), !tt.acts)
			}
		})
	}
}

// TestAnswersGoOnlyToSlack posts answers only to Slack's hooks hosts (or
// a non-default SLACK_API_URL's host): a response_url elsewhere gets
// nothing, and the request is still answered.
func TestAnswersGoOnlyToSlack(t *testing.T) {
	t.Parallel()
	ru := newResponseURL(t) // on 127.0.0.1
	for _, tt := range []struct {
		name, apiURL string
		post         bool
	}{
		{"the host of a non-default SLACK_API_URL", "http://127.0.0.1:1/api/", true},
		{"another host than SLACK_API_URL's", "http://localhost:1/api/", false},
		{"Slack's own API: only its hooks hosts", "", false},
		{"https only on a non-default API's host", "https://127.0.0.1:1/api/", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ru.received())
			h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) { c.APIURL = tt.apiURL })
			rec := serve(h, signed(PathInteractions, interactionBody(withResponseURL(t, "block_actions.json", ru.URL+"/hook"))))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if got := len(ru.received()) - before; got != map[bool]int{true: 1, false: 0}[tt.post] {
				t.Errorf("response_url got %d posts, want post=%t", got, tt.post)
			}
			if refused := strings.Contains(h.logs.String(), "response_url refused"); refused == tt.post {
				t.Errorf("log = %s, want a refusal: %t", h.logs.String(), !tt.post)
			}
		})
	}
}

func TestResponseURLRule(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		apiURL, responseURL string
		ok                  bool
	}{
		{"", "https://hooks.slack.com/actions/T1/2/x", true},
		{"", "https://hooks.slack-gov.com/actions/T1/2/x", true},
		{"", "https://HOOKS.SLACK.COM:443/actions/T1/2/x", true},
		{"", "http://hooks.slack.com/actions/T1/2/x", false},
		{"", "https://hooks.slack.com:8443/actions/T1/2/x", false},
		{"", "https://hooks.slack.com.evil.example/x", false},
		{"", "https://evil.example/hooks.slack.com", false},
		{"", "https://user@hooks.slack.com/x", false},
		{"", "https://slack.com/api/", false},
		{"", "not a url", false},
		{"https://slack.com/api/", "https://slack.com/x", false},
		{"https://slack-gov.com/api/", "https://slack-gov.com/x", true},
		{"http://127.0.0.1:8080/api/", "http://127.0.0.1:9090/respond/x", true},
		{"http://127.0.0.1:8080/api/", "http://10.0.0.1/respond/x", false},
	} {
		_, err := newResponseURLRule(tt.apiURL).check(tt.responseURL)
		if (err == nil) != tt.ok {
			t.Errorf("with SLACK_API_URL %q, check(%q) = %v, want ok %t", tt.apiURL, tt.responseURL, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrResponseURLRefused) {
			t.Errorf("check(%q) = %v, want ErrResponseURLRefused", tt.responseURL, err)
		}
	}
}

// TestResponseURLRedirectNotFollowed: a response_url answering with a
// redirect does not send the answer on to where it points.
func TestResponseURLRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := newResponseURL(t)
	redirecting := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/stolen", http.StatusTemporaryRedirect))
	t.Cleanup(redirecting.Close)
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, nil)
	rec := serve(h, signed(PathInteractions, interactionBody(withResponseURL(t, "block_actions.json", redirecting.URL+"/hook"))))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if got := elsewhere.received(); len(got) != 0 {
		t.Errorf("the redirect's target got %q, want nothing", got)
	}
	if !strings.Contains(h.logs.String(), `"response_url_status":307`) {
		t.Errorf("log = %s, want response_url_status 307", h.logs.String())
	}
}

// recordingTransport answers every request 200 in memory, after delay.
type recordingTransport struct {
	delay time.Duration
	mu    sync.Mutex
	n     int
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.n++
	rt.mu.Unlock()
	select {
	case <-time.After(rt.delay):
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: req}, nil
}

// TestSlowActionsCutAtBudget runs in a synctest bubble: its clock moves
// only when every goroutine waits, and the bubble fails if a goroutine
// the handler started is left when the test ends.
func TestSlowActionsCutAtBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const budget = 500 * time.Millisecond
		actions := &fakeActions{answer: Answer{Text: "PagerDuty did not answer in time"}, wait: true}
		rt := &recordingTransport{delay: 10 * time.Second}
		h := newTestHandler(t, actions, func(c *InteractivityConfig) {
			c.Budget = budget
			c.HTTPClient = &http.Client{Transport: rt}
			c.APIURL = ""
		})
		payload := withResponseURL(t, "block_actions.json", "https://hooks.slack.com/hook")
		start := time.Now()
		rec := serve(h, signed(PathInteractions, interactionBody(payload)))
		took := time.Since(start)
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", rec.Code)
		}
		if actions.deadline != budget {
			t.Errorf("Actions' context had %v left, want the budget %v", actions.deadline, budget)
		}
		// The action took its budget; the stuck response_url post is cut
		// where Slack's 3 s would end, keeping a margin to answer.
		if want := SlackTimeout - answerMargin; took != want {
			t.Errorf("request took %v, want %v", took, want)
		}
		if rt.n != 1 {
			t.Errorf("response_url posts = %d, want 1", rt.n)
		}
		if !strings.Contains(h.logs.String(), `"budget_exceeded":true`) {
			t.Errorf("log = %s, want budget_exceeded", h.logs.String())
		}
		synctest.Wait()
	})
}

func TestHandlerLogsOneLine(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "a secret note"}}, nil)
	serve(h, signed(PathCommands, commandBody("note the database is on fire")))
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d lines, want 1: %s", len(lines), h.logs)
	}
	for _, want := range []string{`"interaction_type":"command"`, `"command":"/inc"`, `"team_id":"` + testTeam + `"`, `"user_id":"U1"`, `"status":200`, `"duration_ms"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %s lacks %s", lines[0], want)
		}
	}
	for _, secret := range []string{"database", "a secret note", testSecret, "hooks.slack.com"} {
		if strings.Contains(lines[0], secret) {
			t.Errorf("log line %s holds %q", lines[0], secret)
		}
	}
}
