// Package app wires the function: from a checked configuration it builds
// the store, the Slack and PagerDuty clients, the people directory, the
// responder, the incident service and the HTTP endpoints, and serves them
// behind one middleware chain. Start is what a process serving the
// function calls once; New is the wiring alone.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/config"
	"github.com/incident-channels/incident-channels/internal/endpoint"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/people"
	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/slackops"
)

// Config is what New builds from: the environment's configuration and
// what a runner or test sets in code.
type Config struct {
	config.Config

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
	// sweepClient fetches the keys Google signs ID tokens with; tests give
	// one that serves their own. nil fetches Google's.
	sweepClient *http.Client
	// sweepBudget overrides sweep.DefaultBudget.
	sweepBudget time.Duration
	// slackBudget overrides slackops.DefaultInteractivityBudget, how long
	// a Slack request may act.
	slackBudget time.Duration
	// transport carries the calls to Slack, PagerDuty and response_urls;
	// tests give one over a network in memory. nil leaves each client
	// its own.
	transport http.RoundTripper
}

// New builds the function's handler from cfg: the one place the store,
// the Slack client, the people directory, the responder, the service and
// the endpoints are made. It makes no network call (the Firestore client
// connects on first use, Google's keys are fetched by the first sweep;
// pagey.ping checks the Slack token and a store read) and logs the
// routing rules it uses; Start says what the configuration leaves off.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
	var (
		st interface {
			incident.Store
			pagerduty.Checker
			incident.Incidents
			incident.Memory
		}
		claims incident.Claims
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
		m := store.NewMemory()
		m.Retention = cfg.HistoryRetention
		st, cache, claims = m, &store.MemoryPeople{}, &store.MemoryClaims{}
	default:
		fs, err := store.OpenFirestore(ctx, cfg.Project, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open Firestore (GOOGLE_CLOUD_PROJECT=%q, FIRESTORE_DATABASE=%q): %w", cfg.Project, cfg.Database, err)
		}
		fs.Retention = cfg.HistoryRetention
		st, cache, limits, claims = fs, store.NewPeople(fs.Client()), fs.RateLimits(), fs
	}
	slackOpts := []slackops.Option{slackops.WithRateLimits(limits)}
	var client *http.Client // nil: each client's own
	if cfg.transport != nil {
		slackOpts = append(slackOpts, slackops.WithTransport(cfg.transport))
		client = &http.Client{Transport: cfg.transport}
	}
	slack := slackops.New(cfg.SlackToken, cfg.SlackAPIURL, slackOpts...)
	icfg := incident.Config{
		ChannelPrefix: cfg.ChannelPrefix, InviteUsers: cfg.InviteUsers, Announce: cfg.Announce,
		LeaseTTL: cfg.leaseTTL, LeaseMargin: cfg.leaseMargin, ArchiveAfter: cfg.ArchiveAfter, Reminders: cfg.UpdateReminders,
		Memory: st, Canvases: true,
	}
	if !cfg.AllowSharedChannels {
		icfg.ExternalChannels = slack
	}
	if cfg.Routes != nil {
		icfg.Router = cfg.Routes
		log.InfoContext(ctx, "routing rules loaded", "routing_file", cfg.RoutingFile, "rules", cfg.Routes.Rules())
	}
	var pd *pagerduty.Client
	if cfg.PagerDutyToken != "" {
		pd = pagerduty.NewClient(pagerduty.ClientOptions{Token: cfg.PagerDutyToken, URL: cfg.PagerDutyURL, HTTPClient: client})
	}
	if pd != nil {
		// PagerDuty's own past incidents join the memory's, where the
		// account has them.
		icfg.PastIncidents = pd
	}
	switch {
	case pd != nil:
		icfg.Directory = people.New(people.Options{
			PagerDuty: pd, Slack: slack, Cache: cache, Overrides: cfg.UserOverrides, Log: log,
		})
	case len(cfg.UserOverrides) > 0:
		icfg.Directory = people.New(people.Options{Slack: slack, Cache: cache, Overrides: cfg.UserOverrides, Log: log})
	}
	responder := incident.ResponderOptions{Incidents: st, Claims: claims, Slack: slack, ActRoles: cfg.ActRoles, Explain: explain, Log: log}
	if pd != nil {
		responder.PagerDuty = pdActions{pd}
		responder.Actors = actors{people.NewActors(people.ActorOptions{
			PagerDuty: pd, Slack: slack, AllowGuests: cfg.AllowGuests, Cache: cache, Log: log,
		})}
		if cfg.PagerDutyFrom != "" {
			icfg.PagerDuty = pagerduty.Annotator{Client: pd, From: cfg.PagerDutyFrom}
		}
	}
	h := &Handler{slackOps: slack, posted: postedChannels(cfg.Config), allowShared: cfg.AllowSharedChannels}
	// One middleware chain serves every endpoint: recover, request log,
	// body limit, method check.
	chain := endpoint.Chain{Log: log, TraceProject: cfg.Project}
	// Buttons only when a click can act: /inc still answers without a
	// token, saying what to set (config.Notices says so at start).
	icfg.Interactive = len(cfg.SlackSigningSecrets) > 0 && cfg.PagerDutyToken != ""
	svc := incident.NewService(st, slack, icfg, log)
	responder.Changes = svc
	if len(cfg.SlackSigningSecrets) > 0 {
		h.slack = chain.Serve(slackops.InteractivityEndpoint, slackops.NewInteractivityHandler(slackops.InteractivityConfig{
			Secrets: cfg.SlackSigningSecrets, Workspace: slack.Workspace, Actions: slackops.ResponderActions(incident.NewResponder(responder)),
			Budget: cfg.slackBudget, APIURL: cfg.SlackAPIURL, Requests: claims, HTTPClient: client,
		}))
	}
	h.webhook = chain.Serve(pagerduty.Endpoint, pagerduty.NewHandler(pagerduty.HandlerConfig{
		Secrets: cfg.WebhookSecrets, Service: svc, Budget: cfg.budget,
		Checker: checks{{"slack", slack}, {"store", st}},
	}))
	if cfg.Sweeps() {
		verifier, err := sweep.NewVerifier(ctx, sweep.VerifierConfig{Audience: cfg.SweepAudience, Invoker: cfg.SweepInvoker, Client: cfg.sweepClient})
		if err != nil {
			return nil, err
		}
		h.sweeper, h.sweepBudget = sweep.Func(func(ctx context.Context) (sweep.Report, error) {
			r, err := svc.Sweep(ctx, time.Now())
			return sweep.Report{Due: r.Due, Archived: r.Archived, Failed: r.Failed, Left: r.Left, Reminded: r.Reminded}, err
		}), cmp.Or(cfg.sweepBudget, sweep.DefaultBudget)
		h.sweep = chain.Serve(sweep.Endpoint, sweep.NewHandler(sweep.HandlerConfig{
			Verifier: verifier, Sweeper: h.sweeper, Budget: h.sweepBudget,
		}))
	}
	return h, nil
}

// Handler is the function's HTTP handler: Cloud Scheduler's sweep at
// sweep.Path, Slack's interactions and slash command at
// slackops.PathInteractions and slackops.PathCommands, PagerDuty's
// webhooks at every other path.
type Handler struct {
	webhook http.Handler
	// slack is nil when SLACK_SIGNING_SECRET is empty.
	slack http.Handler
	// sweep and sweeper are nil when ARCHIVE_AFTER is empty.
	sweep       http.Handler
	sweeper     sweep.Sweeper
	sweepBudget time.Duration

	// slackOps, posted and allowShared serve checkSharedChannels.
	slackOps    *slackops.Client
	posted      map[string][]string
	allowShared bool
}

// ErrSweepNotConfigured is Sweep's error, and a 404 at sweep.Path, when
// ARCHIVE_AFTER and UPDATE_REMINDERS are empty.
var ErrSweepNotConfigured = errors.New("sweep not configured (ARCHIVE_AFTER and UPDATE_REMINDERS are empty)")

// ErrSlackNotConfigured is the 404 at Slack's paths when
// SLACK_SIGNING_SECRET is empty.
var ErrSlackNotConfigured = errors.New("Slack interactivity not configured (SLACK_SIGNING_SECRET is empty)")

// ServeHTTP routes by path: each path authenticates its own caller.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == slackops.PathInteractions || r.URL.Path == slackops.PathCommands:
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
