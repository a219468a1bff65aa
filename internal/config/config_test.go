package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
)

var goodEnv = map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory"}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	cfg, err := Load(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "new, old ,",
		"SLACK_BOT_TOKEN":          "xoxb-1",
		"SLACK_INVITE_USERS":       "U01, W02",
		"STORE":                    "Memory",
		"SLACK_SIGNING_SECRET":     "sign-new,sign-old",
		"PAGERDUTY_API_TOKEN":      "pd-token",
		"PAGERDUTY_FROM_EMAIL":     "bot@example.com",
	}))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	want := Config{
		SlackSigningSecrets: [][]byte{[]byte("sign-new"), []byte("sign-old")},
		PagerDutyToken:      "pd-token",
		PagerDutyFrom:       "bot@example.com",
		WebhookSecrets:      [][]byte{[]byte("new"), []byte("old")},
		SlackToken:          "xoxb-1",
		SlackAPIURL:         "https://slack.com/api/",
		Store:               "memory",
		ChannelPrefix:       "inc",
		InviteUsers:         []string{"U01", "W02"},
		PagerDutyURL:        "https://api.pagerduty.com",
		HistoryRetention:    incident.HistoryRetention,
		ActRoles:            incident.ActingRoles,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	if s := cfg.String(); strings.Contains(s, "xoxb-1") || strings.Contains(s, "new") || strings.Contains(s, "sign-") || strings.Contains(s, "pd-token") {
		t.Errorf("Config.String() = %s reveals a secret", s)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", nil, []string{"PAGERDUTY_WEBHOOK_SECRET", "SLACK_BOT_TOKEN"}},
		{"bad values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1",
			"STORE": "redis", "SLACK_API_URL": "slack.com", "CHANNEL_PREFIX": "Inc!", "SLACK_INVITE_USERS": "@bob",
		}, []string{"STORE", "SLACK_API_URL", "CHANNEL_PREFIX", "SLACK_INVITE_USERS"}},
		{"bad routing and people values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1",
			"SLACK_ANNOUNCE_CHANNEL": "#incidents", "PAGERDUTY_API_URL": "api.eu.pagerduty.com",
			"SLACK_USER_OVERRIDES": "PABC123=U1,PBOB,\u212Aate@example.com=U2", "ROUTING_FILE": "/nonexistent/routes.yaml",
		}, []string{"SLACK_ANNOUNCE_CHANNEL", "PAGERDUTY_API_URL", `SLACK_USER_OVERRIDES: entry 2`,
			"SLACK_USER_OVERRIDES: entry 3: only plain ASCII email addresses"}},
		{"bad interactivity values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "PAGERDUTY_FROM_EMAIL": "Bot <bot@example.com>",
		}, []string{"PAGERDUTY_FROM_EMAIL must be the email address", "PAGERDUTY_FROM_EMAIL needs PAGERDUTY_API_TOKEN"}},
		{"bad acting values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1",
			"ACT_ROLES": "owner, superuser,observer", "ALLOW_GUESTS": "yes please",
		}, []string{"ACT_ROLES: entry 2 is not a PagerDuty role", "ACT_ROLES: entry 3 is a read-only PagerDuty role", "ALLOW_GUESTS must be true or false"}},
		{"no acting role", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "ACT_ROLES": ",",
		}, []string{"ACT_ROLES names no role"}},
		{"missing routing file", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "ROUTING_FILE": "/nonexistent/routes.yaml",
		}, []string{"ROUTING_FILE: the rules file cannot be read: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			if err == nil {
				t.Fatal("Load error = nil, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error %q does not name %s", err, w)
				}
			}
		})
	}
}

// TestLoadActing: ACT_ROLES narrows the acting roles (any case, no
// repeats) and ALLOW_GUESTS lets guests act.
func TestLoadActing(t *testing.T) {
	cfg, err := Load(envOf(goodEnvWith(map[string]string{"ACT_ROLES": " Owner,admin,owner ", "ALLOW_GUESTS": "true"})))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	if want := []string{"owner", "admin"}; !cmp.Equal(cfg.ActRoles, want) || !cfg.AllowGuests {
		t.Errorf("Load = ACT_ROLES %q, ALLOW_GUESTS %t; want %q, true", cfg.ActRoles, cfg.AllowGuests, want)
	}
}

// The routing, announce and people variables are read: overrides keyed
// by lower-cased email, rules inheriting the announce channel and prefix,
// and a String that hides the PagerDuty token.
func TestLoadRoutingAndPeople(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: low\n    match: {urgency: low}\n    channel: false\n    post_to: C0LOW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "s",
		"SLACK_BOT_TOKEN":          "xoxb-1",
		"SLACK_ANNOUNCE_CHANNEL":   "C0ANNOUNCE",
		"PAGERDUTY_API_TOKEN":      "pd-secret-token",
		"PAGERDUTY_API_URL":        "https://api.eu.pagerduty.com",
		"SLACK_USER_OVERRIDES":     "PABC123=U012AB3CD, Ada@Example.com = U045",
		"ROUTING_FILE":             rules,
	}))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	if cfg.Announce != "C0ANNOUNCE" || cfg.PagerDutyURL != "https://api.eu.pagerduty.com" || cfg.PagerDutyToken != "pd-secret-token" {
		t.Errorf("config = %s", cfg)
	}
	if want := map[string]string{"PABC123": "U012AB3CD", "ada@example.com": "U045"}; !cmp.Equal(cfg.UserOverrides, want) {
		t.Errorf("UserOverrides = %v, want %v", cfg.UserOverrides, want)
	}
	if cfg.Routes == nil {
		t.Fatal("Routes = nil with ROUTING_FILE set")
	}
	low := cfg.Routes.Route(incident.Snapshot{Urgency: "low"})
	high := cfg.Routes.Route(incident.Snapshot{Urgency: "high"})
	if low.Channel || low.PostChannel != "C0LOW" || !high.Channel || high.Announce != "C0ANNOUNCE" || high.Prefix != "inc" {
		t.Errorf("routes: low %+v, high %+v; want low posted in C0LOW, high a channel announced in C0ANNOUNCE", low, high)
	}
	if s := cfg.String(); strings.Contains(s, "pd-secret-token") {
		t.Errorf("Config.String() = %s reveals the PagerDuty token", s)
	}
}

// On Cloud Functions the deployed source is under
// serverless_function_source_code: a relative ROUTING_FILE is found there.
func TestRoutingFileInDeployedSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, sourceDir), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := "rules:\n  - name: everything\n    channel: false\n"
	if err := os.WriteFile(filepath.Join(dir, sourceDir, "routing.yaml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cfg, err := Load(envOf(map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "ROUTING_FILE": "routing.yaml"}))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	if r := cfg.Routes.Route(incident.Snapshot{}); r.Rule != "everything" || r.Channel {
		t.Errorf("route = %+v, want the deployed file's rule", r)
	}
}

const (
	sweepAudience = "https://incident-channels-abc123-ew.a.run.app"
	sweepInvoker  = "incident-channels-sweep@my-project.iam.gserviceaccount.com"
)

// goodEnvWith is goodEnv with extra added or overriding.
func goodEnvWith(extra map[string]string) map[string]string {
	env := maps.Clone(goodEnv)
	maps.Copy(env, extra)
	return env
}

// sweepEnv is goodEnv with the sweep configured.
func sweepEnv() map[string]string {
	return goodEnvWith(map[string]string{"ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker})
}

func TestLoadSweep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		archiveAfter time.Duration
		invoker      string
	}{
		{"never archive by default", map[string]string{}, 0, ""},
		{"configured", map[string]string{"ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker}, 72 * time.Hour, sweepInvoker},
		{"invoker in other case", map[string]string{"ARCHIVE_AFTER": "1m", "SWEEP_AUDIENCE": "http://127.0.0.1:8080", "SWEEP_INVOKER": " Sweep@Example.com "}, time.Minute, "sweep@example.com"},
		{"audience and invoker without ARCHIVE_AFTER", map[string]string{"SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker}, 0, sweepInvoker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(envOf(goodEnvWith(tt.env)))
			if err != nil {
				t.Fatalf("Load error = %v", err)
			}
			if cfg.ArchiveAfter != tt.archiveAfter || cfg.SweepInvoker != tt.invoker {
				t.Errorf("Load = ARCHIVE_AFTER %v, SWEEP_INVOKER %q; want %v, %q", cfg.ArchiveAfter, cfg.SweepInvoker, tt.archiveAfter, tt.invoker)
			}
		})
	}
}

func TestLoadSweepErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"not a duration", map[string]string{"ARCHIVE_AFTER": "3 days", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker},
			[]string{`ARCHIVE_AFTER must be a Go duration of at least 1m0s`}},
		{"too short", map[string]string{"ARCHIVE_AFTER": "30s", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker},
			[]string{`ARCHIVE_AFTER must be a Go duration of at least 1m0s`}},
		{"zero", map[string]string{"ARCHIVE_AFTER": "0", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker},
			[]string{`ARCHIVE_AFTER must be a Go duration of at least 1m0s`}},
		{"audience and invoker missing", map[string]string{"ARCHIVE_AFTER": "72h"},
			[]string{"SWEEP_AUDIENCE is required with ARCHIVE_AFTER", "SWEEP_INVOKER is required with ARCHIVE_AFTER"}},
		{"audience not a URL", map[string]string{"ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": "incident-channels", "SWEEP_INVOKER": sweepInvoker},
			[]string{`SWEEP_AUDIENCE must be the function's http(s) URL`}},
		{"invoker not an email", map[string]string{"ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": "Sweep <sweep@example.com>"},
			[]string{`SWEEP_INVOKER must be a service account's email`}},
		{"bad values without ARCHIVE_AFTER", map[string]string{"SWEEP_AUDIENCE": "ftp://x", "SWEEP_INVOKER": "nobody"},
			[]string{"SWEEP_AUDIENCE", "SWEEP_INVOKER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(envOf(goodEnvWith(tt.env)))
			if err == nil {
				t.Fatal("Load error = nil, want one")
			}
			if n := len(Problems(err)); n != len(tt.want) {
				t.Errorf("Load problems = %d (%v), want %d", n, err, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestLoadHistoryRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want time.Duration
	}{
		{"default", nil, 400 * 24 * time.Hour},
		{"days", map[string]string{"HISTORY_RETENTION": " 30d "}, 30 * 24 * time.Hour},
		{"one day", map[string]string{"HISTORY_RETENTION": "1d"}, 24 * time.Hour},
		{"Go duration", map[string]string{"HISTORY_RETENTION": "72h"}, 72 * time.Hour},
		{"a day longer than ARCHIVE_AFTER", map[string]string{"HISTORY_RETENTION": "4d", "ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker}, 96 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(envOf(goodEnvWith(tt.env)))
			if err != nil {
				t.Fatalf("Load error = %v", err)
			}
			if cfg.HistoryRetention != tt.want {
				t.Errorf("Load: HistoryRetention = %v, want %v", cfg.HistoryRetention, tt.want)
			}
		})
	}
}

// TestLoadHistoryRetentionErrors: a retention that would delete the
// records of live or just-resolved incidents, or of incidents whose
// channel the sweep is still to archive, is a problem.
func TestLoadHistoryRetentionErrors(t *testing.T) {
	t.Parallel()
	const format = "HISTORY_RETENTION must be whole days like 400d, or a Go duration like 72h, of at least 1d"
	const archive = "HISTORY_RETENTION must be at least a day longer than ARCHIVE_AFTER"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"hours meant as days", map[string]string{"HISTORY_RETENTION": "4h"}, format},
		{"zero days", map[string]string{"HISTORY_RETENTION": "0d"}, format},
		{"negative", map[string]string{"HISTORY_RETENTION": "-30d"}, format},
		{"words", map[string]string{"HISTORY_RETENTION": "1 year"}, format},
		{"bare number", map[string]string{"HISTORY_RETENTION": "400"}, format},
		{"too many days", map[string]string{"HISTORY_RETENTION": "999999999d"}, format},
		{"shorter than ARCHIVE_AFTER", map[string]string{"HISTORY_RETENTION": "2d", "ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker}, archive},
		{"less than a day longer", map[string]string{"HISTORY_RETENTION": "95h", "ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker}, archive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(goodEnvWith(tt.env)))
			if got := Problems(err); len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("Load problems = %q, want one starting %q", got, tt.want)
			}
		})
	}
}

func TestLoadAllowSharedChannels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value   string
		want    bool
		problem bool
	}{
		{"", false, false}, {"true", true, false}, {"TRUE", true, false}, {"false", false, false}, {"yes please", false, true},
	} {
		cfg, err := Load(envOf(goodEnvWith(map[string]string{"ALLOW_SHARED_CHANNELS": tt.value})))
		switch got := Problems(err); {
		case tt.problem && (len(got) != 1 || !strings.HasPrefix(got[0], "ALLOW_SHARED_CHANNELS must be true or false")):
			t.Errorf("ALLOW_SHARED_CHANNELS=%q: problems %q, want one naming the variable", tt.value, got)
		case !tt.problem && err != nil:
			t.Errorf("ALLOW_SHARED_CHANNELS=%q: Load error = %v", tt.value, err)
		case !tt.problem && cfg.AllowSharedChannels != tt.want:
			t.Errorf("ALLOW_SHARED_CHANNELS=%q: AllowSharedChannels = %t, want %t", tt.value, cfg.AllowSharedChannels, tt.want)
		}
	}
}

func TestConfigStringShowsSweep(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{goodEnv, `archive_after:"never"`},
		{sweepEnv(), `archive_after:"72h0m0s", sweep_audience:"` + sweepAudience + `", sweep_invoker:"` + sweepInvoker + `"`},
	} {
		cfg, err := Load(envOf(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if s := cfg.String(); !strings.Contains(s, tt.want) {
			t.Errorf("Config.String() = %s, want it to contain %s", s, tt.want)
		}
	}
}

// TestLoadNamesEveryProblemAtOnce: a malformed rules file is read and
// reported beside the other variables' problems, so one deploy shows
// them all.
func TestLoadNamesEveryProblemAtOnce(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: sev1\n    match: {urgency: hgh}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(envOf(map[string]string{"STORE": "sql", "ROUTING_FILE": rules}))
	got := Problems(err)
	want := []string{"PAGERDUTY_WEBHOOK_SECRET is required", "SLACK_BOT_TOKEN is required", "STORE", "ROUTING_FILE"}
	if len(got) != len(want) {
		t.Fatalf("Load problems = %q, want %d naming %v", got, len(want), want)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], w)
		}
	}
	for _, w := range []string{"sev1", "urgency", "hgh"} {
		if !strings.Contains(got[3], w) {
			t.Errorf("routing problem %q does not name %q", got[3], w)
		}
	}
}

// TestLoadChecksBotTokenFormat: a token that is not a bot token (a user
// token, a signing secret pasted in the wrong field) is a problem that
// says what is expected without showing the value.
func TestLoadChecksBotTokenFormat(t *testing.T) {
	for _, token := range []string{"xoxp-user-token-123", "8f742231b10e8888abcd99yyyzzz85a5"} {
		_, err := Load(envOf(map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": token}))
		got := Problems(err)
		if len(got) != 1 || !strings.Contains(got[0], "SLACK_BOT_TOKEN") || !strings.Contains(got[0], "xoxb-") {
			t.Errorf("Load with SLACK_BOT_TOKEN %s: problems %q, want one saying it must start with xoxb-", token, got)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("problem %q shows the token", err)
		}
	}
}

// TestProblemsNeverShowSecrets: whatever a secret variable holds, no
// problem repeats it, even when other variables have problems.
func TestProblemsNeverShowSecrets(t *testing.T) {
	env := map[string]string{
		"STORE": "sql", "CHANNEL_PREFIX": "Inc!", "PAGERDUTY_FROM_EMAIL": "not-an-email",
		"SLACK_API_URL": "slack.com", "ARCHIVE_AFTER": "soon",
	}
	var secretVars int
	for _, v := range Vars {
		if v.Secret {
			secretVars++
			env[v.Name] = "  sekret-" + strings.ToLower(v.Name) + ",also-sekret  "
		}
	}
	if secretVars < 4 {
		t.Fatalf("Vars has %d secret variables, want the 4 secrets and tokens marked", secretVars)
	}
	_, err := Load(envOf(env))
	if err == nil {
		t.Fatal("Load error = nil, want problems")
	}
	if strings.Contains(err.Error(), "sekret") {
		t.Errorf("problems show a secret:\n%s", err)
	}
}

// TestProblemsNeverShowValues: a secret put in the wrong variable (a bot
// token pasted as the channel prefix, say) is not repeated by the problem
// that variable's check reports: no problem shows any variable's value.
func TestProblemsNeverShowValues(t *testing.T) {
	t.Parallel()
	const token = "xoxb-1234-5678-Sekr3tT0kenValue"
	for _, v := range Vars {
		if v.Secret || v.load == nil {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			env := goodEnvWith(map[string]string{v.Name: token, "ARCHIVE_AFTER": "72h"})
			if v.Name == "ARCHIVE_AFTER" {
				env["ARCHIVE_AFTER"] = token
			}
			_, err := Load(envOf(env))
			if err != nil && strings.Contains(strings.ToLower(err.Error()), "sekr3t") {
				t.Errorf("%s=<a token>: problems show it:\n%s", v.Name, err)
			}
		})
	}
}

func TestNotices(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing optional", nil, []string{
			"PAGERDUTY_API_TOKEN is not set: the people PagerDuty involves are not invited",
			"PAGERDUTY_FROM_EMAIL is not set", "SLACK_SIGNING_SECRET is not set",
		}},
		{"overrides only", map[string]string{"SLACK_USER_OVERRIDES": "PABC123=U012AB3CD", "SLACK_SIGNING_SECRET": "x"}, []string{
			"PAGERDUTY_API_TOKEN is not set: only the PagerDuty users in SLACK_USER_OVERRIDES are invited",
			"PAGERDUTY_FROM_EMAIL is not set", "PAGERDUTY_API_TOKEN is not set: the root messages show no buttons",
		}},
		{"everything", map[string]string{"PAGERDUTY_API_TOKEN": "pd", "PAGERDUTY_FROM_EMAIL": "bot@example.com", "SLACK_SIGNING_SECRET": "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(goodEnv)
			maps.Copy(env, tt.env)
			cfg, err := Load(envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			got := Notices(cfg)
			if len(got) != len(tt.want) {
				t.Fatalf("Notices = %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("notice %d = %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
}
