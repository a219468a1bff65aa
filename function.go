// Package incidentchannels is the Google Cloud Function "PagerDutyWebhook":
// it receives PagerDuty V3 webhooks and keeps one Slack channel per
// incident. This file is the composition root: it reads the configuration
// from the environment, builds the store, the Slack client and the service,
// and registers the HTTP function.
package incidentchannels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/pagerduty"
	"github.com/incident-channels/incident-channels/people"
	"github.com/incident-channels/incident-channels/routing"
	"github.com/incident-channels/incident-channels/slackops"
)

// FunctionName is the name the HTTP function is registered under (the
// entry point given to `gcloud functions deploy`).
const FunctionName = "PagerDutyWebhook"

func init() {
	functions.HTTP(FunctionName, PagerDutyWebhook)
}

// logger writes JSON lines with Cloud Logging's keys to stdout.
var logger = NewLogger(os.Stdout)

// webhook is the function's handler, set up on its first request.
var webhook = lazyHandler(os.Getenv, logger)

// PagerDutyWebhook is the HTTP function PagerDuty's V3 webhook subscription
// calls.
func PagerDutyWebhook(w http.ResponseWriter, r *http.Request) {
	webhook(w, r)
}

// lazyHandler builds the handler on the first request. A setup error is
// kept and reported on every request (503, so PagerDuty keeps the events
// and redelivers them once the configuration is fixed) instead of crashing
// the instance or being logged only once. A configuration error is kept
// for good (the environment does not change); any other setup error (the
// Firestore client could not be made, say, while the metadata server was
// unreachable) is retried, at most every setupRetry, so a passing failure
// does not leave an instance answering 503 until it is replaced.
func lazyHandler(getenv func(string) string, log *slog.Logger) http.HandlerFunc {
	var (
		mu      sync.Mutex
		handler http.Handler
		cfgErr  error
		lastErr error
		lastTry time.Time
	)
	setup := func() (http.Handler, error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case handler != nil:
			return handler, nil
		case cfgErr != nil:
			return nil, cfgErr
		case lastErr != nil && time.Since(lastTry) < setupRetry:
			return nil, lastErr
		}
		cfg, err := LoadConfig(getenv)
		if err != nil {
			cfgErr = err
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		lastTry = time.Now()
		handler, lastErr = build(ctx, cfg, log)
		return handler, lastErr
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if serveHealth(w, r) {
			return // alive, whatever the configuration
		}
		h, err := setup()
		if err != nil {
			log.ErrorContext(r.Context(), "setup failed", "error", err.Error())
			http.Error(w, "service not configured; see logs", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}
}

// healthPath answers GET with 200 and touches nothing: no Slack, no
// store, no configuration revealed.
const healthPath = "/healthz"

// serveHealth answers a health check and reports whether r was one.
func serveHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != healthPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, "ok\n")
	}
	return true
}

// build makes the handler from a valid configuration: New, but for tests.
var build = New

// setupRetry spaces retries of a failed setup; setupTimeout bounds one.
var (
	setupRetry   = 5 * time.Second
	setupTimeout = 2 * time.Second
)

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

	// leaseTTL overrides incident.LeaseTTL; tests shorten it so that a
	// lease kept after an unclear Slack failure expires quickly.
	leaseTTL time.Duration
}

// String hides the secrets so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("Config{secrets:%d, slack_api_url:%q, store:%q, project:%q, database:%q, channel_prefix:%q, invite_users:%d, "+
		"announce:%q, routing_file:%q, pagerduty_token:%t, pagerduty_api_url:%q, user_overrides:%d}",
		len(c.WebhookSecrets), c.SlackAPIURL, c.Store, c.Project, c.Database, c.ChannelPrefix, len(c.InviteUsers),
		c.Announce, c.RoutingFile, c.PagerDutyToken != "", c.PagerDutyURL, len(c.UserOverrides))
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
	}
	var errs []error
	for _, s := range splitList(getenv("PAGERDUTY_WEBHOOK_SECRET")) {
		cfg.WebhookSecrets = append(cfg.WebhookSecrets, []byte(s))
	}
	if len(cfg.WebhookSecrets) == 0 {
		errs = append(errs, errors.New("PAGERDUTY_WEBHOOK_SECRET is required (the V3 subscription's signing secret; comma-separated during rotation)"))
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

// New builds the webhook handler from cfg. It makes no network call: the
// Firestore client connects on first use.
func New(ctx context.Context, cfg Config, log *slog.Logger) (http.Handler, error) {
	var (
		st    incident.Store
		cache people.Cache
	)
	switch cfg.Store {
	case "memory":
		st, cache = store.NewMemory(), people.NewMemoryCache()
	default:
		fs, err := store.OpenFirestore(ctx, cfg.Project, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open Firestore (GOOGLE_CLOUD_PROJECT=%q, FIRESTORE_DATABASE=%q): %w", cfg.Project, cfg.Database, err)
		}
		st, cache = fs, people.NewFirestoreCache(fs.Client())
	}
	slack := slackops.New(cfg.SlackToken, cfg.SlackAPIURL)
	icfg := incident.Config{
		ChannelPrefix: cfg.ChannelPrefix, InviteUsers: cfg.InviteUsers, Announce: cfg.Announce, LeaseTTL: cfg.leaseTTL,
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
	svc := incident.NewService(st, slack, icfg, log)
	return pagerduty.NewHandler(pagerduty.HandlerConfig{
		Secrets: cfg.WebhookSecrets, Service: svc, Log: log, TraceProject: cfg.Project,
	}), nil
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
