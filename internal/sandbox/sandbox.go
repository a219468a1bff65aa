// Package sandbox runs Incident Channels on one machine with no accounts:
// the real function (in-memory store), a fake Slack Web API in the same
// process, and a web page that shows what Slack would show — each channel
// with its topic, bookmarks and members, its root message rendered from
// its Block Kit JSON and coloured by status, and the thread replies in
// order. The page refreshes itself and can replay a sample incident into
// the function. `go run ./cmd/local -sandbox` serves it.
//
// The fake workspace has what the newer features need: an #incidents
// channel the function announces every incident channel in, an
// #incidents-low channel where built-in routing rules post low-urgency
// incidents (one message each, updates in its thread), a fake PagerDuty
// REST API with the people of the sample incidents, and Slack accounts
// for all of them but one, whom the function reports as "Could not add",
// plus one Slack user without a PagerDuty user.
//
// The page closes the responder loop. The root message's Acknowledge,
// Resolve, Escalate and Add note buttons, the note form and each incident
// channel's /inc box act as the person picked under "Act as": the sandbox
// sends the function's /slack/interactions and /slack/commands the
// requests Slack would (signed with SLACK_SIGNING_SECRET, answered through
// a response_url it serves), and shows the answer only that person would
// see. The function calls the fake PagerDuty as their PagerDuty user. The
// fake PagerDuty knows every incident relayed to the function (and writes
// its back-link notes, as PAGERDUTY_FROM_EMAIL), and each change made
// through it comes back to the function as the signed V3 webhook PagerDuty
// would send, after the REST answer: the root turns orange on
// acknowledgement and the thread says who did it.
package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/app"
	"github.com/incident-channels/incident-channels/internal/config"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/replay"
	"github.com/incident-channels/incident-channels/internal/routing"
	"github.com/incident-channels/incident-channels/slackops"
)

// Paths the sandbox serves.
const (
	// FunctionPath is the function, as PagerDuty would call it.
	FunctionPath = "/"
	// SlackAPIPath is the fake Slack Web API (SLACK_API_URL).
	SlackAPIPath = "/slack/api/"
	// PagePath is the page that shows what Slack would show.
	PagePath = "/sandbox/"
)

// DefaultReplayDelay spaces the deliveries of the page's replay button,
// so the page can be watched filling in.
const DefaultReplayDelay = 700 * time.Millisecond

// maxWebhooks is how many received webhooks the page lists.
const maxWebhooks = 50

// Config configures a sandbox.
type Config struct {
	// BaseURL is where the sandbox is served, e.g. http://127.0.0.1:8080;
	// the function calls the fake Slack there.
	BaseURL string
	// Getenv supplies the optional function settings (CHANNEL_PREFIX,
	// SLACK_INVITE_USERS, ROUTING_FILE, SLACK_USER_OVERRIDES); nil means
	// none. The secret, token, Slack URL, store, announce channel and
	// PagerDuty API are the sandbox's own. Without ROUTING_FILE the
	// sandbox's built-in rules apply.
	Getenv func(string) string
	// Log receives the function's request log lines; nil discards them.
	Log *slog.Logger
	// ReplayDelay is the pause between the deliveries of a replay started
	// from the page; 0 means DefaultReplayDelay, negative none.
	ReplayDelay time.Duration
	// ArchiveAfter is how long after resolution the page's sweep button
	// archives a channel, unless the environment sets ARCHIVE_AFTER; 0
	// means DefaultArchiveAfter.
	ArchiveAfter time.Duration
}

// Sandbox is the function, the fake Slack and the page behind one
// http.Handler.
type Sandbox struct {
	// Secret is the webhook signing secret, made up for this sandbox.
	Secret string
	// SlackSecret is the Slack app's signing secret
	// (SLACK_SIGNING_SECRET), made up for this sandbox: the page's
	// buttons, note form and /inc box sign their requests with it.
	SlackSecret string
	// Slack is the fake Slack the function talks to.
	Slack *slackfake.Server
	// PagerDuty is the fake PagerDuty REST API the function looks people
	// up in, on its own loopback port.
	PagerDuty *pdfake.Server
	// Announce and Low are the ids of #incidents (SLACK_ANNOUNCE_CHANNEL)
	// and #incidents-low (post-only channel of the built-in rules).
	Announce, Low string
	// RoutingFile is the user's ROUTING_FILE; "" when the built-in rules
	// apply.
	RoutingFile string

	base        string
	replayDelay time.Duration
	mux         *http.ServeMux

	fn        *app.Handler
	loop      *loop
	ctx       context.Context // ends replays started from the page and the loop's webhooks
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	// userNames names the workspace's Slack users for the page; read-only
	// after New.
	userNames map[string]string

	mu       sync.Mutex
	webhooks []webhookView // newest first
	// responses are what the function posted to the response_urls of
	// requests in flight, by the URL's token.
	responses map[string][]string
	// ephemerals are the answers shown to one person, by channel id.
	ephemerals map[string][]ephemeralView
}

// New builds a sandbox served at cfg.BaseURL. Serve it with ServeHTTP and
// Close it when done.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	secret, slackSecret := make([]byte, 16), make([]byte, 16)
	rand.Read(secret)
	rand.Read(slackSecret)
	s := &Sandbox{
		Secret:      hex.EncodeToString(secret),
		SlackSecret: hex.EncodeToString(slackSecret),
		Slack:       slackfake.NewUnstarted(),
		base:        base,
		replayDelay: cfg.ReplayDelay,
		userNames:   map[string]string{slackfake.BotUserID: "Incident Channels (bot)", slackfake.HumanUserID: "a person"},
		responses:   map[string][]string{},
		ephemerals:  map[string][]ephemeralView{},
	}
	if s.replayDelay == 0 {
		s.replayDelay = DefaultReplayDelay
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}

	// Channels people made before installing the app; the bot is in
	// neither and joins them when it first posts.
	s.Announce = s.Slack.CreateChannel(AnnounceChannel, false)
	s.Low = s.Slack.CreateChannel(LowChannel, false)
	s.PagerDuty = pdfake.NewServer(pagerDutyToken)
	pdNames := map[string]string{botPagerDutyID: botName}
	s.PagerDuty.AddUser(botPagerDutyID, botName, botEmail)
	for _, p := range People {
		if p.PagerDutyID != "" {
			s.PagerDuty.AddUser(p.PagerDutyID, p.Name, p.Email)
			pdNames[p.PagerDutyID] = p.Name
		}
		if p.SlackID != "" {
			s.Slack.AddUser(p.SlackID, p.Email, false)
			s.userNames[p.SlackID] = p.Name
		}
	}

	own := map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": s.Secret,
		"SLACK_BOT_TOKEN":          slackfake.DefaultToken,
		"SLACK_API_URL":            base + SlackAPIPath,
		"STORE":                    "memory",
		"SLACK_ANNOUNCE_CHANNEL":   s.Announce,
		"PAGERDUTY_API_TOKEN":      pagerDutyToken,
		"PAGERDUTY_API_URL":        s.PagerDuty.URL(),
		"SLACK_SIGNING_SECRET":     s.SlackSecret,
		"PAGERDUTY_FROM_EMAIL":     botEmail,
	}
	archiveAfter := getenv("ARCHIVE_AFTER") == ""
	if archiveAfter {
		// Resolved channels are archived by the page's sweep button, soon
		// after the sample resolves (set below: below the minute the
		// variable allows).
		own["ARCHIVE_AFTER"] = "1m"
		own["SWEEP_AUDIENCE"] = base + "/"
		own["SWEEP_INVOKER"] = "sandbox-sweep@example.com"
	}
	envCfg, err := config.Load(func(k string) string {
		if v, ok := own[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		s.PagerDuty.Close()
		return nil, fmt.Errorf("sandbox configuration: %w", err)
	}
	fcfg := app.Config{Config: envCfg}
	s.RoutingFile = fcfg.RoutingFile
	if archiveAfter {
		fcfg.ArchiveAfter = cmp.Or(cfg.ArchiveAfter, DefaultArchiveAfter)
	}
	// Once the fake knows some users it refuses others: the users the
	// settings name are people of the workspace too.
	known := slices.Clone(fcfg.InviteUsers)
	for _, id := range fcfg.UserOverrides {
		known = append(known, id)
	}
	if fcfg.RoutingFile == "" {
		fcfg.Routes, err = routing.Parse(rulesFor(s.Low), incident.Route{
			Channel: true, Prefix: fcfg.ChannelPrefix, InviteUsers: fcfg.InviteUsers, Announce: fcfg.Announce,
		})
		if err != nil {
			s.PagerDuty.Close()
			return nil, fmt.Errorf("sandbox routing rules: %w", err) // a defect
		}
		fcfg.RoutingFile = builtinRules
	} else {
		known = append(known, userIDsIn(fcfg.RoutingFile)...)
	}
	for _, id := range known {
		if _, ok := s.userNames[id]; !ok {
			s.Slack.AddUser(id, "", false)
			s.userNames[id] = ""
		}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fn, err := app.New(ctx, fcfg, log)
	if err != nil {
		s.PagerDuty.Close()
		return nil, fmt.Errorf("build the function: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.fn = fn
	sender := &replay.Sender{URL: s.FunctionURL(), Secret: []byte(s.Secret)}
	s.loop = newLoop(s.PagerDuty, pdNames, sender.Send)
	s.PagerDuty.SetOnChange(s.loop.changed)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.loop.run(s.ctx)
	}()

	staticFS, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle(FunctionPath, s.record(fn))
	mux.Handle(SlackAPIPath, s.Slack)
	mux.HandleFunc(PagePath, http.NotFound) // never the function
	mux.HandleFunc("GET "+PagePath+"{$}", s.page)
	mux.HandleFunc("GET "+PagePath+"live", s.live)
	mux.HandleFunc("POST "+PagePath+"replay", s.replay)
	mux.HandleFunc("POST "+PagePath+"sweep", s.sweep)
	mux.HandleFunc("POST "+ActPath, s.act)
	mux.HandleFunc("POST "+SubmitPath, s.submit)
	mux.HandleFunc("POST "+CommandPath, s.command)
	mux.HandleFunc("POST "+responsePath+"{token}", s.respond)
	mux.Handle("GET "+PagePath+"static/", http.StripPrefix(PagePath+"static/", http.FileServerFS(staticFS)))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the function at /, the fake Slack under /slack/api/ and
// the page under /sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close stops the replays started from the page and the webhooks of the
// fake PagerDuty's changes, waits for them, and stops the fake PagerDuty
// API.
func (s *Sandbox) Close() {
	s.closeOnce.Do(func() {
		s.loop.stop()
		s.cancel()
		s.wg.Wait()
		s.PagerDuty.SetOnChange(nil)
		s.PagerDuty.Close()
	})
}

// FunctionURL is the URL PagerDuty (or cmd/replay) sends webhooks to.
func (s *Sandbox) FunctionURL() string { return s.base + FunctionPath }

// PageURL is the URL of the page.
func (s *Sandbox) PageURL() string { return s.base + PagePath }

// SlackAPIURL is the fake Slack Web API's base URL.
func (s *Sandbox) SlackAPIURL() string { return s.base + SlackAPIPath }

// webhookView is one request the function answered, for the page.
type webhookView struct {
	At        string
	Status    int
	Answer    string
	EventType string
	EventID   string
}

// Class is ok, retry (PagerDuty would redeliver) or fail (dropped).
func (v webhookView) Class() string {
	switch {
	case v.Status >= 200 && v.Status < 300:
		return "ok"
	case v.Status == http.StatusTooManyRequests || v.Status >= 500:
		return "retry"
	}
	return "fail"
}

// record lists every request the function answers on the page. It reads
// the body (at most what the function would read, plus one byte so the
// function still sees an oversized one) and hands the function the same
// bytes.
func (s *Sandbox) record(fn http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		head, _ := io.ReadAll(io.LimitReader(r.Body, pagerduty.MaxBodyBytes+1))
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		var env struct {
			Event struct {
				ID   string `json:"id"`
				Type string `json:"event_type"`
			} `json:"event"`
		}
		_ = json.Unmarshal(head, &env)
		if r.Method == http.MethodPost && r.URL.Path == FunctionPath {
			s.loop.relayed(head)
		}
		rec := &statusRecorder{ResponseWriter: w}
		fn.ServeHTTP(rec, r)
		v := webhookView{
			At: time.Now().Format("15:04:05"), Status: rec.status, Answer: strings.TrimSpace(rec.answer.String()),
			EventType: env.Event.Type, EventID: env.Event.ID,
		}
		switch {
		case r.URL.Path == slackops.PathInteractions || r.URL.Path == slackops.PathCommands:
			v.EventType = "Slack: " + slackRequestKind(r.URL.Path, head)
		case v.EventType == "":
			v.EventType = r.Method + " (no V3 event)"
		}
		s.mu.Lock()
		s.webhooks = append([]webhookView{v}, s.webhooks[:min(len(s.webhooks), maxWebhooks-1)]...)
		s.mu.Unlock()
	})
}

// slackRequestKind names a request of Slack's for the page: the command
// with its text, or the interaction's type and action.
func slackRequestKind(path string, body []byte) string {
	form, _ := url.ParseQuery(string(body))
	if path == slackops.PathCommands {
		text := strings.TrimSpace(form.Get("command") + " " + form.Get("text"))
		if r := []rune(text); len(r) > 40 {
			text = string(r[:40]) + "…"
		}
		return text
	}
	in, err := slackops.ParseInteraction(form)
	if err != nil {
		return "interaction"
	}
	return strings.TrimSpace(in.Type + " " + cmp.Or(in.Action.ID, in.CallbackID))
}

type readCloser struct {
	io.Reader
	io.Closer
}

// statusRecorder keeps the status and the start of the answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
	answer bytes.Buffer
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := 200 - r.answer.Len(); room > 0 {
		r.answer.Write(p[:min(len(p), room)])
	}
	return r.ResponseWriter.Write(p)
}

// liveData is what the page shows and refreshes.
type liveData struct {
	Shared   []channelView // #incidents, #incidents-low
	Channels []channelView // the incidents' own
	Webhooks []webhookView
}

type pageData struct {
	FunctionURL   string
	PageURL       string
	SlackAPIURL   string
	Secret        string
	ReplayCommand string
	Workspace     workspaceView
	// Responders are the people the page can act as.
	Responders []Person
	Live       liveData
}

// workspaceView describes the fake workspace on the page.
type workspaceView struct {
	Announce, Low string // channel ids
	RoutingFile   string // the user's; "" for the built-in rules
	People        []Person
	// Bot is the PagerDuty user of the back-link notes
	// (PAGERDUTY_FROM_EMAIL).
	Bot string
}

func (s *Sandbox) liveData() liveData {
	s.mu.Lock()
	hooks := append([]webhookView(nil), s.webhooks...)
	s.mu.Unlock()
	shared, own := channelViews(s.Slack, s.userNames)
	names := map[string]string{}
	for _, c := range append(slices.Clone(shared), own...) {
		names[c.ID] = c.Name
	}
	for _, chs := range [][]channelView{shared, own} {
		for i := range chs {
			chs[i].Ephemerals = s.ephemeralsOf(chs[i].ID, names)
		}
	}
	return liveData{Shared: shared, Channels: own, Webhooks: hooks}
}

// securityHeaders keep the page's own script the only one that runs, even
// if some text escaped the escaping: no inline script, nothing from
// elsewhere.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (s *Sandbox) page(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := pageData{
		FunctionURL: s.FunctionURL(), PageURL: s.PageURL(), SlackAPIURL: s.SlackAPIURL(), Secret: s.Secret,
		ReplayCommand: ReplayCommand(s.FunctionURL(), s.Secret),
		Workspace:     workspaceView{Announce: s.Announce, Low: s.Low, RoutingFile: s.RoutingFile, People: People, Bot: botName + " <" + botEmail + ">"},
		Responders:    Responders(),
		Live:          s.liveData(),
	}
	if err := pageTmpl.ExecuteTemplate(w, "page", data); err != nil {
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
	}
}

// live serves the part of the page that changes; the page's script
// fetches it every two seconds.
func (s *Sandbox) live(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.ExecuteTemplate(w, "live", s.liveData()); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
	}
}

// replay sends a sample incident's lifecycle to the function, over HTTP
// and signed, as cmd/replay would; the page shows it arrive. The form
// value sample picks it: SampleStandard (the default) or SampleRaised.
func (s *Sandbox) replay(w http.ResponseWriter, r *http.Request) {
	ds, err := sampleDeliveries(r.FormValue("sample"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sender := &replay.Sender{URL: s.FunctionURL(), Secret: []byte(s.Secret), Delay: max(s.replayDelay, 0)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sender.SendAll(s.ctx, ds, nil)
	}()
	http.Redirect(w, r, PagePath, http.StatusSeeOther)
}

// DefaultArchiveAfter is how long after resolution the sweep button
// archives a channel, unless the environment sets ARCHIVE_AFTER.
const DefaultArchiveAfter = 10 * time.Second

// sweep runs the function's sweep at once, as Cloud Scheduler's call
// would, and shows the page again: resolved channels are archived.
func (s *Sandbox) sweep(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.fn.Sweep(ctx); err != nil {
		http.Error(w, "sweep: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, PagePath, http.StatusSeeOther)
}

// ReplayCommand is the command line that replays a sample incident into
// the function at url.
func ReplayCommand(url, secret string) string {
	return "go run ./cmd/replay -url " + url + " -secret " + secret
}
