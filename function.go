// Package incidentchannels is the Google Cloud Function "PagerDutyWebhook":
// it receives PagerDuty V3 webhooks and keeps one Slack channel per
// incident. This file is the composition root: it registers the HTTP
// function, reads and checks the configuration from the environment once
// when the process starts, and builds the store, the Slack client, the
// service, the webhook handler (package pagerduty) and the sweep's
// (package sweep) from it.
package incidentchannels

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/people"
	"github.com/incident-channels/incident-channels/internal/routing"
	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/pdapi"
	"github.com/incident-channels/incident-channels/respond"
	"github.com/incident-channels/incident-channels/slackapp"
	"github.com/incident-channels/incident-channels/slackops"
)

// FunctionName is the name the HTTP function is registered under (the
// entry point given to `gcloud functions deploy`).
const FunctionName = "PagerDutyWebhook"

func init() {
	functions.HTTP(FunctionName, PagerDutyWebhook)
	if os.Getenv("FUNCTION_TARGET") == FunctionName {
		// This process serves the function (Cloud Functions sets the
		// target, and the functions framework serves it): read and check
		// the configuration now, so its problems are logged when the
		// instance starts, not found by the first incident. Other
		// importers (the sandbox, tools, tests) set it up on first use.
		webhook()
	}
}

// logger writes JSON lines with Cloud Logging's keys to stdout.
var logger = NewLogger(os.Stdout)

// webhook is the function of this process, set up once from the
// environment.
var webhook = sync.OnceValue(func() *function { return newFunction(os.Getenv, logger, New) })

// PagerDutyWebhook is the HTTP function PagerDuty's V3 webhook subscription
// calls.
func PagerDutyWebhook(w http.ResponseWriter, r *http.Request) {
	webhook().ServeHTTP(w, r)
}

// buildFunc makes the function's handler from a valid configuration:
// New, or a stand-in in tests.
type buildFunc func(context.Context, Config, *slog.Logger) (*Handler, error)

// function is the HTTP function of one process: the configuration, read
// and checked once when the process starts, and the webhook handler built
// from it.
//
// Configuration problems are logged at start in one line naming every one,
// kept for good (the environment does not change while the process runs)
// and reported on every request: 503, so PagerDuty keeps the events and
// redelivers them once the configuration is fixed, and by /healthz. Any
// other setup error (the Firestore client could not be made, say, while
// the metadata server was unreachable) is tried again, at most every
// retry, so a passing failure does not leave an instance answering 503
// until it is replaced.
type function struct {
	log      *slog.Logger
	cfg      Config
	problems error
	build    buildFunc
	retry    time.Duration

	mu      sync.Mutex
	handler *Handler
	lastErr error
	lastTry time.Time
}

// newFunction reads and checks the configuration through getenv and
// builds the handler with build.
func newFunction(getenv func(string) string, log *slog.Logger, build buildFunc) *function {
	f := &function{log: log, build: build, retry: setupRetry}
	f.cfg, f.problems = LoadConfig(getenv)
	if f.problems != nil {
		log.Error("configuration problems: every request is answered 503 until they are fixed",
			"problems", problemList(f.problems))
		return f
	}
	if _, err := f.webhook(); err != nil {
		log.Error("setup failed: tried again on the next request", "error", err.Error())
	}
	return f
}

// problemList returns the problems joined in err, one text each.
func problemList(err error) []string {
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	list := make([]string, len(errs))
	for i, e := range errs {
		list[i] = e.Error()
	}
	return list
}

// webhook returns the handler, building it again when the last attempt
// failed at least f.retry ago.
func (f *function) webhook() (*Handler, error) {
	if f.problems != nil {
		return nil, f.problems
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.handler != nil:
		return f.handler, nil
	case f.lastErr != nil && time.Since(f.lastTry) < f.retry:
		return nil, f.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	f.lastTry = time.Now()
	f.handler, f.lastErr = f.build(ctx, f.cfg, f.log)
	return f.handler, f.lastErr
}

// unready says why the function cannot serve: its configuration's problems
// (which name variables, never their values) or the setup error.
func (f *function) unready(err error) string {
	if f.problems == nil {
		return "setup failed: " + err.Error()
	}
	return "not configured:\n- " + strings.Join(problemList(f.problems), "\n- ")
}

// healthPath is the path of the health check.
const healthPath = "/healthz"

// ServeHTTP answers GET /healthz, and hands everything else to the
// function's Handler once it is set up; until then it answers 503.
func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		f.serveHealth(w, r)
		return
	}
	h, err := f.webhook()
	if err != nil {
		f.log.ErrorContext(r.Context(), "not set up: answered 503", "error", err.Error())
		http.Error(w, f.unready(err), http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// serveHealth answers 200 "ok" when the function is set up, else 503 with
// the reason. It calls neither Slack nor the store (pagey.ping does) and
// logs nothing, so uptime checks cost nothing.
func (f *function) serveHealth(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusOK, "ok"
	if _, err := f.webhook(); err != nil {
		status, body = http.StatusServiceUnavailable, f.unready(err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, body+"\n")
	}
}

// setupRetry spaces attempts of a failed setup; setupTimeout bounds one.
const (
	setupRetry   = 5 * time.Second
	setupTimeout = 2 * time.Second
)

// checks is the Checker New composes for pagey.ping: it checks every
// part at once, and its error names each part that failed.
type checks []namedCheck

type namedCheck struct {
	name string
	pagerduty.Checker
}

// Check implements pagerduty.Checker.
func (cs checks) Check(ctx context.Context) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			if err := c.Check(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		})
	}
	wg.Wait()
	var failed checkErrors
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// checkErrors are the failures of several checks, on one line.
type checkErrors []error

func (e checkErrors) Error() string {
	texts := make([]string, len(e))
	for i, err := range e {
		texts[i] = err.Error()
	}
	return strings.Join(texts, "; ")
}

func (e checkErrors) Unwrap() []error { return e }

// Config is the function's configuration, read from the environment by
// LoadConfig. Its names are a contract documented in the README.
type Config struct {
	WebhookSecrets [][]byte // PAGERDUTY_WEBHOOK_SECRET, comma-separated
	SlackToken     string   // SLACK_BOT_TOKEN
	SlackAPIURL    string   // SLACK_API_URL
	Store          string   // STORE: firestore | memory
	Project        string   // GOOGLE_CLOUD_PROJECT
	Database       string   // FIRESTORE_DATABASE
	ChannelPrefix  string   // CHANNEL_PREFIX
	InviteUsers    []string // SLACK_INVITE_USERS, comma-separated
	Announce       string   // SLACK_ANNOUNCE_CHANNEL, a channel id
	RoutingFile    string   // ROUTING_FILE
	// Routes are the rules of RoutingFile, validated; nil without one.
	Routes         *routing.Table
	PagerDutyToken string // PAGERDUTY_API_TOKEN
	PagerDutyURL   string // PAGERDUTY_API_URL
	// UserOverrides maps PagerDuty user ids or emails to Slack user ids
	// (SLACK_USER_OVERRIDES, "PABC123=U012AB3CD,ada@example.com=U045").
	UserOverrides map[string]string
	// ArchiveAfter is how long after its incident resolved a channel is
	// archived (ARCHIVE_AFTER); 0 means never, and no sweep.
	ArchiveAfter time.Duration
	// SweepAudience is the audience of the sweep's OIDC token
	// (SWEEP_AUDIENCE, the function's URL).
	SweepAudience string
	// SweepInvoker is the email of the service account Cloud Scheduler
	// calls the sweep as (SWEEP_INVOKER).
	SweepInvoker string
	// SlackSigningSecrets verify the requests of Slack's interactivity
	// and slash command (SLACK_SIGNING_SECRET, comma-separated during
	// rotation); none turns /slack/* off.
	SlackSigningSecrets [][]byte
	// PagerDutyFrom is the PagerDuty user the back-link notes are written
	// as (PAGERDUTY_FROM_EMAIL); "" writes none.
	PagerDutyFrom string
	// AllowHTTPResponseURL lets the answers to Slack's requests go to a
	// plain-http response_url: for a fake Slack on this machine (the
	// sandbox, tests), never read from the environment. Slack's own are
	// https.
	AllowHTTPResponseURL bool

	// leaseTTL and leaseMargin override incident.LeaseTTL and
	// incident.LeaseMargin; tests shorten them so that a lease kept after
	// an unclear Slack failure expires quickly. Zero keeps the production
	// value.
	leaseTTL    time.Duration
	leaseMargin time.Duration
	// budget overrides pagerduty.DefaultBudget; tests shorten it so that a
	// check of an unreachable store gives up quickly, and so that a lease,
	// which outlasts its holder's budget, ends sooner.
	budget time.Duration
	// sweepKeys replace the keys Google signs ID tokens with, so tests sign
	// their own; nil fetches Google's.
	sweepKeys sweep.KeySource
	// sweepBudget overrides sweep.DefaultBudget.
	sweepBudget time.Duration
	// slackBudget overrides slackapp.DefaultBudget, how long a Slack
	// request may act.
	slackBudget time.Duration
}

// String hides the secrets so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("Config{secrets:%d, slack_api_url:%q, store:%q, project:%q, database:%q, channel_prefix:%q, invite_users:%d, "+
		"announce:%q, routing_file:%q, pagerduty_token:%t, pagerduty_api_url:%q, user_overrides:%d, "+
		"archive_after:%q, sweep_audience:%q, sweep_invoker:%q, slack_signing_secrets:%d, pagerduty_from_email:%q}",
		len(c.WebhookSecrets), c.SlackAPIURL, c.Store, c.Project, c.Database, c.ChannelPrefix, len(c.InviteUsers),
		c.Announce, c.RoutingFile, c.PagerDutyToken != "", c.PagerDutyURL, len(c.UserOverrides),
		archiveAfterText(c.ArchiveAfter), c.SweepAudience, c.SweepInvoker, len(c.SlackSigningSecrets), c.PagerDutyFrom)
}

// archiveAfterText is ARCHIVE_AFTER as a person reads it: "never" for 0.
func archiveAfterText(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// LoadConfig reads the configuration through getenv. It names every
// missing or invalid variable in one error.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		SlackToken:     strings.TrimSpace(getenv("SLACK_BOT_TOKEN")),
		SlackAPIURL:    strings.TrimSpace(getenv("SLACK_API_URL")),
		Store:          strings.ToLower(strings.TrimSpace(getenv("STORE"))),
		Project:        strings.TrimSpace(getenv("GOOGLE_CLOUD_PROJECT")),
		Database:       strings.TrimSpace(getenv("FIRESTORE_DATABASE")),
		ChannelPrefix:  strings.TrimSpace(getenv("CHANNEL_PREFIX")),
		InviteUsers:    splitList(getenv("SLACK_INVITE_USERS")),
		Announce:       strings.TrimSpace(getenv("SLACK_ANNOUNCE_CHANNEL")),
		RoutingFile:    strings.TrimSpace(getenv("ROUTING_FILE")),
		PagerDutyToken: strings.TrimSpace(getenv("PAGERDUTY_API_TOKEN")),
		PagerDutyURL:   strings.TrimSpace(getenv("PAGERDUTY_API_URL")),
		SweepAudience:  strings.TrimSpace(getenv("SWEEP_AUDIENCE")),
		SweepInvoker:   strings.ToLower(strings.TrimSpace(getenv("SWEEP_INVOKER"))),
		PagerDutyFrom:  strings.TrimSpace(getenv("PAGERDUTY_FROM_EMAIL")),
	}
	var errs []error
	for _, s := range splitList(getenv("PAGERDUTY_WEBHOOK_SECRET")) {
		cfg.WebhookSecrets = append(cfg.WebhookSecrets, []byte(s))
	}
	if len(cfg.WebhookSecrets) == 0 {
		errs = append(errs, errors.New("PAGERDUTY_WEBHOOK_SECRET is required (the V3 subscription's signing secret; comma-separated during rotation)"))
	}
	for _, s := range splitList(getenv("SLACK_SIGNING_SECRET")) {
		cfg.SlackSigningSecrets = append(cfg.SlackSigningSecrets, []byte(s))
	}
	if cfg.PagerDutyFrom != "" && !bareEmail(cfg.PagerDutyFrom) {
		errs = append(errs, fmt.Errorf("PAGERDUTY_FROM_EMAIL %q must be the email address of a PagerDuty user, like incident-bot@example.com", cfg.PagerDutyFrom))
	}
	if cfg.PagerDutyFrom != "" && cfg.PagerDutyToken == "" {
		errs = append(errs, errors.New("PAGERDUTY_FROM_EMAIL needs PAGERDUTY_API_TOKEN (the back-link note is written with the REST API key)"))
	}
	if cfg.SlackToken == "" {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is required (the Slack app's xoxb- bot token)"))
	}
	if cfg.SlackAPIURL == "" {
		cfg.SlackAPIURL = slackops.DefaultAPIURL
	} else if !strings.HasPrefix(cfg.SlackAPIURL, "https://") && !strings.HasPrefix(cfg.SlackAPIURL, "http://") {
		errs = append(errs, fmt.Errorf("SLACK_API_URL %q must be an http(s) URL", cfg.SlackAPIURL))
	}
	switch cfg.Store {
	case "":
		cfg.Store = "firestore"
	case "firestore", "memory":
	default:
		errs = append(errs, fmt.Errorf("STORE %q must be firestore or memory", cfg.Store))
	}
	if cfg.ChannelPrefix == "" {
		cfg.ChannelPrefix = "inc"
	} else if slug := incident.Slug(cfg.ChannelPrefix, 40); slug != cfg.ChannelPrefix {
		errs = append(errs, fmt.Errorf("CHANNEL_PREFIX %q must be 1-40 lowercase letters, digits, '-' or '_' (like %q)", cfg.ChannelPrefix, slug))
	}
	for _, u := range cfg.InviteUsers {
		if !validSlackID(u) {
			errs = append(errs, fmt.Errorf("SLACK_INVITE_USERS: %q is not a Slack user id (like U012AB3CD)", u))
		}
	}
	if cfg.Announce != "" && !validChannelID(cfg.Announce) {
		errs = append(errs, fmt.Errorf("SLACK_ANNOUNCE_CHANNEL %q must be a channel id like C012AB3CD (channel details → About, at the bottom), not a name", cfg.Announce))
	}
	if cfg.PagerDutyURL == "" {
		cfg.PagerDutyURL = people.DefaultPagerDutyURL
	} else if !strings.HasPrefix(cfg.PagerDutyURL, "https://") && !strings.HasPrefix(cfg.PagerDutyURL, "http://") {
		errs = append(errs, fmt.Errorf("PAGERDUTY_API_URL %q must be an http(s) URL (EU accounts: https://api.eu.pagerduty.com)", cfg.PagerDutyURL))
	}
	for _, pair := range splitList(getenv("SLACK_USER_OVERRIDES")) {
		from, to, ok := strings.Cut(pair, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || !validSlackID(to) {
			errs = append(errs, fmt.Errorf("SLACK_USER_OVERRIDES: %q must be a PagerDuty user id or email, '=', and a Slack user id (like PABC123=U012AB3CD)", pair))
			continue
		}
		if cfg.UserOverrides == nil {
			cfg.UserOverrides = map[string]string{}
		}
		if strings.Contains(from, "@") {
			from = strings.ToLower(from)
		}
		cfg.UserOverrides[from] = to
	}
	errs = append(errs, loadSweep(&cfg, strings.TrimSpace(getenv("ARCHIVE_AFTER")))...)
	if cfg.RoutingFile != "" && len(errs) == 0 {
		// Rules inherit the defaults above, so they are read last.
		t, err := routing.Load(sourcePath(cfg.RoutingFile), incident.Route{
			Channel: true, Prefix: cfg.ChannelPrefix, InviteUsers: cfg.InviteUsers, Announce: cfg.Announce,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("ROUTING_FILE: %w", err))
		}
		cfg.Routes = t
	}
	return cfg, errors.Join(errs...)
}

// minArchiveAfter is the shortest ARCHIVE_AFTER: anything shorter is a
// slip (72s meant as 72h) that would archive channels as soon as their
// incident resolved.
const minArchiveAfter = time.Minute

// loadSweep reads ARCHIVE_AFTER into cfg and checks the sweep's variables:
// the audience and invoker are required with ARCHIVE_AFTER, and checked
// whenever set.
func loadSweep(cfg *Config, archiveAfter string) []error {
	var errs []error
	if archiveAfter != "" {
		d, err := time.ParseDuration(archiveAfter)
		if err != nil || d < minArchiveAfter {
			errs = append(errs, fmt.Errorf("ARCHIVE_AFTER %q must be a Go duration of at least %s, like 72h (empty: channels are never archived)", archiveAfter, minArchiveAfter))
		}
		cfg.ArchiveAfter = d
	}
	switch {
	case cfg.SweepAudience == "" && archiveAfter != "":
		errs = append(errs, errors.New("SWEEP_AUDIENCE is required with ARCHIVE_AFTER (the function's URL, the audience of the Cloud Scheduler job's OIDC token)"))
	case cfg.SweepAudience != "" && !httpURL(cfg.SweepAudience):
		errs = append(errs, fmt.Errorf("SWEEP_AUDIENCE %q must be the function's http(s) URL, like https://incident-channels-abc123-ew.a.run.app", cfg.SweepAudience))
	}
	switch {
	case cfg.SweepInvoker == "" && archiveAfter != "":
		errs = append(errs, errors.New("SWEEP_INVOKER is required with ARCHIVE_AFTER (the email of the service account Cloud Scheduler calls the sweep as)"))
	case cfg.SweepInvoker != "" && !bareEmail(cfg.SweepInvoker):
		errs = append(errs, fmt.Errorf("SWEEP_INVOKER %q must be a service account's email, like incident-channels-sweep@my-project.iam.gserviceaccount.com", cfg.SweepInvoker))
	}
	return errs
}

// httpURL reports whether s is an absolute http(s) URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// bareEmail reports whether s is an email address and nothing else (no
// name, no angle brackets).
func bareEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// sourceDir is where Cloud Functions puts the deployed source, relative
// to the function's working directory (the Go buildpack's layout).
const sourceDir = "serverless_function_source_code"

// sourcePath returns path, or its place in the deployed source when path
// is relative and only found there: ROUTING_FILE=routing.yaml then names
// the file next to function.go both locally and on Cloud Functions.
func sourcePath(path string) string {
	if filepath.IsAbs(path) || fileExists(path) {
		return path
	}
	if p := filepath.Join(sourceDir, path); fileExists(p) {
		return p
	}
	return path
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// validChannelID reports whether s looks like a Slack channel id (C…, G…).
func validChannelID(s string) bool { return len(s) >= 3 && slackID(s, "CG") }

// validSlackID reports whether s looks like a Slack user id (U…, W…).
func validSlackID(s string) bool { return len(s) >= 2 && slackID(s, "UW") }

// slackID reports whether s starts with one of the letters first and is
// made of upper-case letters and digits.
func slackID(s, first string) bool {
	if s == "" || !strings.ContainsRune(first, rune(s[0])) {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// New builds the function's handler from cfg. It makes no network call:
// the Firestore client connects on first use, Google's keys are fetched
// by the first sweep. pagey.ping checks the Slack token and a store read.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
	var (
		st interface {
			incident.Store
			pagerduty.Checker
			respond.Incidents
		}
		claims respond.Claims
		cache  interface {
			people.Cache
			people.ActorCache
		}
		// limits shares what Slack's 429 answers said among instances;
		// the memory store keeps them to this process.
		limits slackops.RateLimits = &slackops.MemoryRateLimits{}
	)
	switch cfg.Store {
	case "memory":
		st, cache, claims = store.NewMemory(), &store.MemoryPeople{}, &store.MemoryClaims{}
	default:
		fs, err := store.OpenFirestore(ctx, cfg.Project, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open Firestore (GOOGLE_CLOUD_PROJECT=%q, FIRESTORE_DATABASE=%q): %w", cfg.Project, cfg.Database, err)
		}
		st, cache, limits, claims = fs, store.NewPeople(fs.Client()), store.NewRateLimits(fs.Client()), fs
	}
	slack := slackops.New(cfg.SlackToken, cfg.SlackAPIURL, slackops.WithRateLimits(limits))
	icfg := incident.Config{
		ChannelPrefix: cfg.ChannelPrefix, InviteUsers: cfg.InviteUsers, Announce: cfg.Announce,
		LeaseTTL: cfg.leaseTTL, LeaseMargin: cfg.leaseMargin, ArchiveAfter: cfg.ArchiveAfter,
	}
	if cfg.Routes != nil {
		icfg.Router = cfg.Routes
		log.InfoContext(ctx, "routing rules loaded", "routing_file", cfg.RoutingFile, "rules", cfg.Routes.Rules())
	}
	switch {
	case cfg.PagerDutyToken != "":
		icfg.Directory = people.New(people.Options{
			PagerDutyToken: cfg.PagerDutyToken, PagerDutyURL: cfg.PagerDutyURL, Slack: slack,
			Cache: cache, Overrides: cfg.UserOverrides, Log: log,
		})
	case len(cfg.UserOverrides) > 0:
		icfg.Directory = people.New(people.Options{Slack: slack, Cache: cache, Overrides: cfg.UserOverrides, Log: log})
		log.InfoContext(ctx, "PAGERDUTY_API_TOKEN is not set: only the PagerDuty users in SLACK_USER_OVERRIDES are invited to incident channels")
	default:
		log.InfoContext(ctx, "PAGERDUTY_API_TOKEN is not set: the people PagerDuty involves are not invited to incident channels")
	}
	responder := respond.Options{Incidents: st, Claims: claims, Slack: slack, Explain: explain, Log: log}
	if cfg.PagerDutyToken != "" {
		pd := pdapi.New(pdapi.Options{Token: cfg.PagerDutyToken, URL: cfg.PagerDutyURL})
		responder.PagerDuty = pdActions{pd}
		responder.Actors = actors{people.NewActors(people.ActorOptions{PagerDuty: pd, Slack: slack, Cache: cache, Log: log})}
		if cfg.PagerDutyFrom != "" {
			icfg.PagerDuty = pdapi.Annotator{Client: pd, From: cfg.PagerDutyFrom}
		}
	}
	if icfg.PagerDuty == nil {
		log.InfoContext(ctx, "PAGERDUTY_FROM_EMAIL is not set: PagerDuty incidents get no note linking their Slack channel")
	}
	h := &Handler{}
	switch {
	case len(cfg.SlackSigningSecrets) == 0:
		log.InfoContext(ctx, "SLACK_SIGNING_SECRET is not set: responders cannot act from Slack (no buttons, /inc or shortcut)")
	default:
		// Buttons only when a click can act: /inc still answers without
		// a token, saying what to set.
		icfg.Interactive = cfg.PagerDutyToken != ""
		if !icfg.Interactive {
			log.InfoContext(ctx, "PAGERDUTY_API_TOKEN is not set: the root messages show no buttons, and /inc says what to set")
		}
		h.slack = slackapp.NewHandler(slackapp.HandlerConfig{
			Secrets: cfg.SlackSigningSecrets, Team: slack.TeamID, Actions: respond.New(responder), Log: log,
			Budget: cfg.slackBudget, AllowHTTPResponseURL: cfg.AllowHTTPResponseURL,
		})
	}
	svc := incident.NewService(st, slack, icfg, log)
	h.webhook = pagerduty.NewHandler(pagerduty.HandlerConfig{
		Secrets: cfg.WebhookSecrets, Service: svc, Log: log, Budget: cfg.budget, TraceProject: cfg.Project,
		Checker: checks{{"slack", slack}, {"store", st}},
	})
	if cfg.ArchiveAfter > 0 {
		keys := cfg.sweepKeys
		if keys == nil {
			keys = sweep.NewGoogleKeys(sweep.KeysConfig{})
		}
		h.sweeper, h.sweepBudget = sweep.Func(func(ctx context.Context) (sweep.Report, error) {
			r, err := svc.Sweep(ctx, time.Now())
			return sweep.Report{Due: r.Due, Archived: r.Archived, Failed: r.Failed, Left: r.Left}, err
		}), cmp.Or(cfg.sweepBudget, sweep.DefaultBudget)
		h.sweep = sweep.NewHandler(sweep.HandlerConfig{
			Verifier: sweep.NewVerifier(sweep.VerifierConfig{Audience: cfg.SweepAudience, Invoker: cfg.SweepInvoker, Keys: keys}),
			Sweeper:  h.sweeper, Log: log, Budget: h.sweepBudget,
		})
	}
	return h, nil
}

// Handler is the function's HTTP handler: Cloud Scheduler's sweep at
// sweep.Path, Slack's interactions and slash command at
// slackapp.PathInteractions and slackapp.PathCommands, PagerDuty's
// webhooks at every other path.
type Handler struct {
	webhook http.Handler
	// slack is nil when SLACK_SIGNING_SECRET is empty.
	slack http.Handler
	// sweep and sweeper are nil when ARCHIVE_AFTER is empty.
	sweep       http.Handler
	sweeper     sweep.Sweeper
	sweepBudget time.Duration
}

// ErrSweepNotConfigured is Sweep's error, and a 404 at sweep.Path, when
// ARCHIVE_AFTER is empty.
var ErrSweepNotConfigured = errors.New("sweep not configured (ARCHIVE_AFTER is empty)")

// ErrSlackNotConfigured is the 404 at Slack's paths when
// SLACK_SIGNING_SECRET is empty.
var ErrSlackNotConfigured = errors.New("Slack interactivity not configured (SLACK_SIGNING_SECRET is empty)")

// ServeHTTP routes by path: each path authenticates its own caller.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == slackapp.PathInteractions || r.URL.Path == slackapp.PathCommands:
		if h.slack == nil {
			http.Error(w, ErrSlackNotConfigured.Error(), http.StatusNotFound)
			return
		}
		h.slack.ServeHTTP(w, r)
	case r.URL.Path != sweep.Path:
		h.webhook.ServeHTTP(w, r)
	case h.sweep == nil:
		http.Error(w, ErrSweepNotConfigured.Error(), http.StatusNotFound)
	default:
		h.sweep.ServeHTTP(w, r)
	}
}

// Sweep runs the sweep once, in this process and without a token, within
// its budget: what POST sweep.Path does for a caller it authenticated.
func (h *Handler) Sweep(ctx context.Context) (sweep.Report, error) {
	if h.sweeper == nil {
		return sweep.Report{}, ErrSweepNotConfigured
	}
	return sweep.Run(ctx, h.sweeper, h.sweepBudget)
}

// Sweep runs the sweep of this process's function once, without a token:
// cmd/local -sweep calls it on an interval. It fails like a request would
// while the function is not set up (the configuration's problems, or the
// setup error), and with ErrSweepNotConfigured without ARCHIVE_AFTER.
func Sweep(ctx context.Context) (sweep.Report, error) {
	h, err := webhook().webhook()
	if err != nil {
		return sweep.Report{}, err
	}
	return h.Sweep(ctx)
}

// NewLogger returns a JSON slog.Logger using Cloud Logging's field names
// (severity, message, time).
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "message"
			case slog.LevelKey:
				a.Key = "severity"
				if lvl, ok := a.Value.Any().(slog.Level); ok && lvl == slog.LevelWarn {
					a.Value = slog.StringValue("WARNING")
				}
			case slog.TimeKey:
				a.Value = slog.StringValue(a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	}))
}
