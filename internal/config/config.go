// Package config reads the function's configuration from the environment.
// Vars is the one table of its variables (name, default, check,
// description): Load checks the environment against it and names every
// problem at once, cmd/local -h lists it, and the README's configuration
// table is generated from it (see TestREADMEConfigurationTable).
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/routing"
)

// Config is the function's configuration, read from the environment by
// Load. Its names are a contract documented in the README.
type Config struct {
	WebhookSecrets [][]byte // PAGERDUTY_WEBHOOK_SECRET, comma-separated
	SlackToken     string   // SLACK_BOT_TOKEN
	SlackAPIURL    string   // SLACK_API_URL
	Store          string   // STORE: firestore | memory
	Project        string   // GOOGLE_CLOUD_PROJECT
	Database       string   // FIRESTORE_DATABASE
	EmulatorHost   string   // FIRESTORE_EMULATOR_HOST, read by the Firestore client itself
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
	// HistoryRetention is how long after its incident resolved an
	// incident's record is kept (HISTORY_RETENTION).
	HistoryRetention time.Duration
	// AllowSharedChannels lets the announce and post-only channels be
	// shared with another organisation (ALLOW_SHARED_CHANNELS).
	AllowSharedChannels bool
	// ActRoles are the PagerDuty roles that may act from Slack
	// (ACT_ROLES), of incident.ActingRoles.
	ActRoles []string
	// AllowGuests lets the Slack workspace's guests act (ALLOW_GUESTS).
	AllowGuests bool
}

// String hides the secrets so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("Config{secrets:%d, slack_api_url:%q, store:%q, project:%q, database:%q, channel_prefix:%q, invite_users:%d, "+
		"announce:%q, routing_file:%q, pagerduty_token:%t, pagerduty_api_url:%q, user_overrides:%d, "+
		"archive_after:%q, sweep_audience:%q, sweep_invoker:%q, slack_signing_secrets:%d, pagerduty_from_email:%q, "+
		"history_retention:%q, allow_shared_channels:%t, act_roles:%q, allow_guests:%t}",
		len(c.WebhookSecrets), c.SlackAPIURL, c.Store, c.Project, c.Database, c.ChannelPrefix, len(c.InviteUsers),
		c.Announce, c.RoutingFile, c.PagerDutyToken != "", c.PagerDutyURL, len(c.UserOverrides),
		archiveAfterText(c.ArchiveAfter), c.SweepAudience, c.SweepInvoker, len(c.SlackSigningSecrets), c.PagerDutyFrom,
		c.HistoryRetention.String(), c.AllowSharedChannels, strings.Join(c.ActRoles, ","), c.AllowGuests)
}

// archiveAfterText is ARCHIVE_AFTER as a person reads it: "never" for 0.
func archiveAfterText(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// Load reads the configuration through getenv and checks it. Its error
// joins every problem, each naming its variable and never the value of a
// secret one; the rules file is read and checked even when other
// variables have problems, so one deploy shows them all.
func Load(getenv func(string) string) (Config, error) {
	var cfg Config
	var errs []error
	for _, v := range Vars {
		if v.load == nil {
			continue
		}
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if err := v.load(&cfg, val); err != nil {
			errs = append(errs, unjoin(err)...)
		}
	}
	errs = append(errs, crossChecks(cfg, strings.TrimSpace(getenv("ARCHIVE_AFTER")))...)
	if cfg.RoutingFile != "" {
		// Rules inherit the defaults above, so they are read last.
		t, err := routing.Load(sourcePath(cfg.RoutingFile), incident.Route{
			Channel: true, Prefix: cfg.ChannelPrefix, InviteUsers: cfg.InviteUsers, Announce: cfg.Announce,
		})
		var pathErr *fs.PathError
		switch {
		case errors.As(err, &pathErr):
			// The file could not be read: say why, not the path, which
			// may be a secret pasted into the wrong variable.
			errs = append(errs, fmt.Errorf("ROUTING_FILE: the rules file cannot be read: %w (a relative path is looked up in the working directory and the deployed source)", pathErr.Err))
		case err != nil:
			errs = append(errs, fmt.Errorf("ROUTING_FILE: %w", err))
		}
		cfg.Routes = t
	}
	return cfg, errors.Join(errs...)
}

// crossChecks are the checks of variables that go together. The sweep's
// variables are required whenever ARCHIVE_AFTER is set, valid or not, so
// that one deploy names every problem.
func crossChecks(cfg Config, archiveAfter string) []error {
	var errs []error
	if cfg.PagerDutyFrom != "" && cfg.PagerDutyToken == "" {
		errs = append(errs, errors.New("PAGERDUTY_FROM_EMAIL needs PAGERDUTY_API_TOKEN (the back-link note is written with the REST API key)"))
	}
	if cfg.ArchiveAfter > 0 && cfg.HistoryRetention >= minHistoryRetention && cfg.HistoryRetention < cfg.ArchiveAfter+day {
		// The sweep reads the incident's record to archive its channel,
		// and may run late (Slack down, a missed schedule).
		errs = append(errs, errors.New("HISTORY_RETENTION must be at least a day longer than ARCHIVE_AFTER: the sweep needs an incident's record to archive its channel"))
	}
	if archiveAfter != "" {
		if cfg.SweepAudience == "" {
			errs = append(errs, errors.New("SWEEP_AUDIENCE is required with ARCHIVE_AFTER (the function's URL, the audience of the Cloud Scheduler job's OIDC token)"))
		}
		if cfg.SweepInvoker == "" {
			errs = append(errs, errors.New("SWEEP_INVOKER is required with ARCHIVE_AFTER (the email of the service account Cloud Scheduler calls the sweep as)"))
		}
	}
	return errs
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// Problems returns the problems joined in err, one text each.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	errs := unjoin(err)
	list := make([]string, len(errs))
	for i, e := range errs {
		list[i] = e.Error()
	}
	return list
}

// Notices are what a valid configuration leaves off, said once at start
// so that nobody waits for a feature the configuration does not turn on.
func Notices(cfg Config) []string {
	var notes []string
	switch {
	case cfg.PagerDutyToken != "":
	case len(cfg.UserOverrides) > 0:
		notes = append(notes, "PAGERDUTY_API_TOKEN is not set: only the PagerDuty users in SLACK_USER_OVERRIDES are invited to incident channels")
	default:
		notes = append(notes, "PAGERDUTY_API_TOKEN is not set: the people PagerDuty involves are not invited to incident channels")
	}
	if cfg.PagerDutyFrom == "" || cfg.PagerDutyToken == "" {
		notes = append(notes, "PAGERDUTY_FROM_EMAIL is not set: PagerDuty incidents get no note linking their Slack channel")
	}
	switch {
	case len(cfg.SlackSigningSecrets) == 0:
		notes = append(notes, "SLACK_SIGNING_SECRET is not set: responders cannot act from Slack (no buttons, /inc or shortcut)")
	case cfg.PagerDutyToken == "":
		notes = append(notes, "PAGERDUTY_API_TOKEN is not set: the root messages show no buttons, and /inc says what to set")
	}
	return notes
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
