package config

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/emailaddr"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/slackops"
)

// Var is one environment variable of the function.
type Var struct {
	Name string
	// Required is "yes", "no" or the condition under which it is, as the
	// README shows it.
	Required string
	// Default is the value used when the variable is empty.
	Default string
	// Shown is the README's default when it is not Default's value in
	// code quotes: a word such as "detected" or "never".
	Shown string
	// Secret variables' values appear in no problem, log line or page.
	Secret bool
	// Description is the README's meaning column (Markdown).
	Description string
	// load checks the (trimmed, defaulted) value and stores it in a
	// Config; nil for variables that others read (the Firestore client,
	// cmd/local).
	load func(cfg *Config, v string) error
}

// DefaultText is the default as the README and -h show it.
func (v Var) DefaultText() string {
	switch {
	case v.Shown != "":
		return v.Shown
	case v.Default != "":
		return "`" + v.Default + "`"
	}
	return ""
}

// Default returns the default of the variable name; "" for an unknown one.
func Default(name string) string {
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

// minArchiveAfter is the shortest ARCHIVE_AFTER: anything shorter is a
// slip (72s meant as 72h) that would archive channels as soon as their
// incident resolved.
const minArchiveAfter = time.Minute

// minHistoryRetention is the shortest HISTORY_RETENTION: anything shorter
// is a slip (4h meant as 4 days) that would delete the records of
// incidents just resolved, which a late event or the sweep still needs.
const minHistoryRetention = 24 * time.Hour

// day is the unit of HISTORY_RETENTION's "400d" form.
const day = 24 * time.Hour

// Vars are the function's environment variables, in the README's order.
var Vars = []Var{
	{
		Name: "PAGERDUTY_WEBHOOK_SECRET", Required: "yes", Secret: true,
		Description: "the V3 webhook subscription's signing secret; several, comma-separated, while rotating",
		load: func(cfg *Config, v string) error {
			cfg.WebhookSecrets = secrets(v)
			if len(cfg.WebhookSecrets) == 0 {
				return errors.New("PAGERDUTY_WEBHOOK_SECRET is required (the V3 subscription's signing secret; comma-separated during rotation)")
			}
			return nil
		},
	},
	{
		Name: "SLACK_BOT_TOKEN", Required: "yes", Secret: true,
		Description: "the Slack app's bot token (`xoxb-…`)",
		load: func(cfg *Config, v string) error {
			cfg.SlackToken = v
			switch {
			case v == "":
				return errors.New("SLACK_BOT_TOKEN is required (the Slack app's xoxb- bot token)")
			case !strings.HasPrefix(v, "xoxb-"):
				return errors.New("SLACK_BOT_TOKEN must be the Slack app's bot token, which starts with xoxb- (OAuth & Permissions → Bot User OAuth Token); the value set does not")
			}
			return nil
		},
	},
	{
		Name: "SLACK_API_URL", Required: "no", Default: slackops.DefaultAPIURL,
		Description: "Slack Web API base URL (GovSlack, tests, a fake)",
		load: func(cfg *Config, v string) error {
			cfg.SlackAPIURL = v
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return errors.New("SLACK_API_URL must be an http(s) URL")
			}
			return nil
		},
	},
	{
		Name: "STORE", Required: "no", Default: "firestore",
		Description: "`firestore` or `memory` (one process only: local runs and tests)",
		load: func(cfg *Config, v string) error {
			cfg.Store = strings.ToLower(v)
			if cfg.Store != "firestore" && cfg.Store != "memory" {
				return errors.New("STORE must be firestore or memory")
			}
			return nil
		},
	},
	{
		Name: "GOOGLE_CLOUD_PROJECT", Required: "no", Shown: "detected",
		Description: "the Firestore project (on Cloud Functions it is detected)",
		load:        func(cfg *Config, v string) error { cfg.Project = v; return nil },
	},
	{
		Name: "FIRESTORE_DATABASE", Required: "no", Shown: "`(default)`",
		Description: "the Firestore database id",
		load:        func(cfg *Config, v string) error { cfg.Database = v; return nil },
	},
	{
		Name: "FIRESTORE_EMULATOR_HOST", Required: "no",
		Description: "`host:port` of a Firestore emulator",
		load:        func(cfg *Config, v string) error { cfg.EmulatorHost = v; return nil },
	},
	{
		Name: "CHANNEL_PREFIX", Required: "no", Default: "inc",
		Description: "channel name prefix: lowercase letters, digits, `-`, `_`",
		load: func(cfg *Config, v string) error {
			cfg.ChannelPrefix = v
			if incident.Slug(v, 40) != v {
				return errors.New("CHANNEL_PREFIX must be 1-40 lowercase letters, digits, '-' or '_' (like inc or ops-inc)")
			}
			return nil
		},
	},
	{
		Name: "SLACK_INVITE_USERS", Required: "no",
		Description: "Slack user ids (`U…`) invited to every new channel, comma-separated",
		load: func(cfg *Config, v string) error {
			cfg.InviteUsers = splitList(v)
			var errs []error
			for i, u := range cfg.InviteUsers {
				if !validSlackID(u) {
					errs = append(errs, fmt.Errorf("SLACK_INVITE_USERS: entry %d is not a Slack user id (like U012AB3CD)", i+1))
				}
			}
			return errors.Join(errs...)
		},
	},
	{
		Name: "SLACK_ANNOUNCE_CHANNEL", Required: "no",
		Description: "channel id (`C…`) where every incident channel is announced and its status kept current (*Announce channel*)",
		load: func(cfg *Config, v string) error {
			cfg.Announce = v
			if v != "" && !validChannelID(v) {
				return errors.New("SLACK_ANNOUNCE_CHANNEL must be a channel id like C012AB3CD (channel details → About, at the bottom), not a name")
			}
			return nil
		},
	},
	{
		Name: "ROUTING_FILE", Required: "no",
		Description: "path of the routing rules (YAML or JSON; *Routing rules*); a relative path is also looked up in the deployed source. Without it every incident gets a channel",
		// Read by Load after every other variable: its rules inherit them.
		load: func(cfg *Config, v string) error { cfg.RoutingFile = v; return nil },
	},
	{
		Name: "ALLOW_SHARED_CHANNELS", Required: "no", Default: "false",
		Description: "`true` lets the announce channel and a rule's `post_to` channel be shared with another organisation (Slack Connect); otherwise nothing is posted in such a channel, and the log says so at start (*Announce channel*)",
		load:        loadBool("ALLOW_SHARED_CHANNELS", func(cfg *Config, b bool) { cfg.AllowSharedChannels = b }),
	},
	{
		Name: "PAGERDUTY_API_TOKEN", Required: "no", Secret: true,
		Description: "PagerDuty REST API key; turns on inviting the people PagerDuty involved (*Who is invited*; read access is enough) and, with `SLACK_SIGNING_SECRET`, acting from Slack (*Acting from Slack*; needs a full-access key)",
		load:        func(cfg *Config, v string) error { cfg.PagerDutyToken = v; return nil },
	},
	{
		Name: "SLACK_SIGNING_SECRET", Required: "no", Secret: true,
		Description: "the Slack app's *Signing Secret* (*Basic Information*); several, comma-separated, while rotating. Turns on `/slack/interactions` and `/slack/commands`: the buttons, `/inc` and the shortcut. Without it those paths answer 404",
		load:        func(cfg *Config, v string) error { cfg.SlackSigningSecrets = secrets(v); return nil },
	},
	{
		Name: "PAGERDUTY_FROM_EMAIL", Required: "no",
		Description: "email of the PagerDuty user the back-link note on each incident is written as (a bot user, say); needs `PAGERDUTY_API_TOKEN`. Empty: no back-link",
		load: func(cfg *Config, v string) error {
			cfg.PagerDutyFrom = v
			if v != "" && !bareEmail(v) {
				return errors.New("PAGERDUTY_FROM_EMAIL must be the email address of a PagerDuty user, like incident-bot@example.com")
			}
			return nil
		},
	},
	{
		Name: "ACT_ROLES", Required: "no", Default: strings.Join(incident.ActingRoles, ","),
		Description: "the PagerDuty roles that may act from Slack, comma-separated, to narrow the default, like `owner,admin` (*Acting from Slack*)",
		load: func(cfg *Config, v string) error {
			cfg.ActRoles = nil
			var errs []error
			for i, role := range splitList(v) {
				role = strings.ToLower(role)
				switch {
				case slices.Contains(incident.ActingRoles, role):
					if !slices.Contains(cfg.ActRoles, role) {
						cfg.ActRoles = append(cfg.ActRoles, role)
					}
				case slices.Contains(incident.ReadOnlyRoles, role):
					errs = append(errs, fmt.Errorf("ACT_ROLES: entry %d is a read-only PagerDuty role, which may not change incidents; the roles that may are %s",
						i+1, strings.Join(incident.ActingRoles, ", ")))
				default:
					errs = append(errs, fmt.Errorf("ACT_ROLES: entry %d is not a PagerDuty role that may change incidents (%s)",
						i+1, strings.Join(incident.ActingRoles, ", ")))
				}
			}
			if len(errs) == 0 && len(cfg.ActRoles) == 0 {
				errs = append(errs, errors.New("ACT_ROLES names no role; leave it empty for the default"))
			}
			return errors.Join(errs...)
		},
	},
	{
		Name: "ALLOW_GUESTS", Required: "no", Default: "false",
		Description: "`true` lets Slack guests act from Slack too",
		load:        loadBool("ALLOW_GUESTS", func(cfg *Config, b bool) { cfg.AllowGuests = b }),
	},
	{
		Name: "PAGERDUTY_API_URL", Required: "no", Default: pagerduty.DefaultAPIURL,
		Description: "PagerDuty REST API; EU accounts `https://api.eu.pagerduty.com`",
		load: func(cfg *Config, v string) error {
			cfg.PagerDutyURL = v
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return errors.New("PAGERDUTY_API_URL must be an http(s) URL (EU accounts: https://api.eu.pagerduty.com)")
			}
			return nil
		},
	},
	{
		Name: "SLACK_USER_OVERRIDES", Required: "no",
		Description: "`PagerDuty user id or email=Slack user id`, comma-separated (`PABC123=U012AB3CD,ada@example.com=U045`): wins over look-ups",
		load:        loadOverrides,
	},
	{
		Name: "ARCHIVE_AFTER", Required: "no", Shown: "never",
		Description: "archive an incident's channel this long after the incident resolved: a Go duration of at least `1m`, like `72h`; empty: never. Done by the sweep (*Deploy*, *Sweep*)",
		load: func(cfg *Config, v string) error {
			if v == "" {
				return nil
			}
			d, err := time.ParseDuration(v)
			cfg.ArchiveAfter = d
			if err != nil || d < minArchiveAfter {
				return fmt.Errorf("ARCHIVE_AFTER must be a Go duration of at least %s, like 72h (empty: channels are never archived)", minArchiveAfter)
			}
			return nil
		},
	},
	{
		Name: "SWEEP_AUDIENCE", Required: "with `ARCHIVE_AFTER`",
		Description: "the function's URL (`https://…`), the audience of the OIDC token Cloud Scheduler sends to `/tasks/sweep`",
		load: func(cfg *Config, v string) error {
			cfg.SweepAudience = v
			if v != "" && !httpURL(v) {
				return errors.New("SWEEP_AUDIENCE must be the function's http(s) URL, like https://incident-channels-abc123-ew.a.run.app")
			}
			return nil
		},
	},
	{
		Name: "SWEEP_INVOKER", Required: "with `ARCHIVE_AFTER`",
		Description: "the email of the service account Cloud Scheduler calls `/tasks/sweep` as; no other caller starts a sweep",
		load: func(cfg *Config, v string) error {
			cfg.SweepInvoker = strings.ToLower(v)
			if v != "" && !bareEmail(cfg.SweepInvoker) {
				return errors.New("SWEEP_INVOKER must be a service account's email, like incident-channels-sweep@my-project.iam.gserviceaccount.com")
			}
			return nil
		},
	},
	{
		Name: "HISTORY_RETENTION", Required: "no", Default: strconv.Itoa(int(incident.HistoryRetention/day)) + "d",
		Description: "how long after an incident resolved its record is kept in Firestore, then deleted by a TTL policy (*Deploy*): whole days like `400d`, or a Go duration like `72h`; at least `1d`, and a day longer than `ARCHIVE_AFTER`. An open incident's record is kept",
		load: func(cfg *Config, v string) error {
			d, err := parseRetention(v)
			cfg.HistoryRetention = d
			if err != nil || d < minHistoryRetention {
				return errors.New("HISTORY_RETENTION must be whole days like 400d, or a Go duration like 72h, of at least 1d")
			}
			return nil
		},
	},
	{
		Name: "PORT", Required: "no", Default: "8080",
		Description: "port of `cmd/local`",
	},
}

// loadBool reads a true/false variable, name, with set.
func loadBool(name string, set func(cfg *Config, b bool)) func(*Config, string) error {
	return func(cfg *Config, v string) error {
		b, err := strconv.ParseBool(v)
		set(cfg, b)
		if err != nil {
			return errors.New(name + " must be true or false")
		}
		return nil
	}
}

// parseRetention reads HISTORY_RETENTION: a number of days with the unit
// d ("400d"), which is how retention is usually said and which Go
// durations lack, or a Go duration ("72h").
func parseRetention(v string) (time.Duration, error) {
	days, ok := strings.CutSuffix(v, "d")
	if !ok {
		return time.ParseDuration(v)
	}
	n, err := strconv.ParseInt(days, 10, 64)
	if err != nil || n < 0 || n > int64(math.MaxInt64/day) {
		return 0, fmt.Errorf("not a number of days: %q", v)
	}
	return time.Duration(n) * day, nil
}

// loadOverrides reads SLACK_USER_OVERRIDES, keyed by PagerDuty user id or
// email (its emailaddr.Key: an address beyond ASCII could never match).
func loadOverrides(cfg *Config, v string) error {
	var errs []error
	for i, pair := range splitList(v) {
		from, to, ok := strings.Cut(pair, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || !validSlackID(to) {
			errs = append(errs, fmt.Errorf("SLACK_USER_OVERRIDES: entry %d must be a PagerDuty user id or email, '=', and a Slack user id (like PABC123=U012AB3CD)", i+1))
			continue
		}
		if strings.Contains(from, "@") {
			key, ok := emailaddr.Key(from)
			if !ok {
				errs = append(errs, fmt.Errorf("SLACK_USER_OVERRIDES: entry %d: only plain ASCII email addresses are matched; use the PagerDuty user id", i+1))
				continue
			}
			from = key
		}
		if cfg.UserOverrides == nil {
			cfg.UserOverrides = map[string]string{}
		}
		cfg.UserOverrides[from] = to
	}
	return errors.Join(errs...)
}

// secrets splits a comma-separated list of secrets.
func secrets(v string) [][]byte {
	var out [][]byte
	for _, s := range splitList(v) {
		out = append(out, []byte(s))
	}
	return out
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
