package incidentchannels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "new, old ,",
		"SLACK_BOT_TOKEN":          "xoxb-1",
		"SLACK_INVITE_USERS":       "U01, W02",
		"STORE":                    "Memory",
	}))
	if err != nil {
		t.Fatalf("LoadConfig error = %v", err)
	}
	want := Config{
		WebhookSecrets: [][]byte{[]byte("new"), []byte("old")},
		SlackToken:     "xoxb-1",
		SlackAPIURL:    "https://slack.com/api/",
		Store:          "memory",
		ChannelPrefix:  "inc",
		InviteUsers:    []string{"U01", "W02"},
		PagerDutyURL:   "https://api.pagerduty.com",
	}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("LoadConfig mismatch (-want +got):\n%s", diff)
	}
	if s := cfg.String(); strings.Contains(s, "xoxb-1") || strings.Contains(s, "new") {
		t.Errorf("Config.String() = %s reveals a secret", s)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", nil, []string{"PAGERDUTY_WEBHOOK_SECRET", "SLACK_BOT_TOKEN"}},
		{"bad values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "t",
			"STORE": "redis", "SLACK_API_URL": "slack.com", "CHANNEL_PREFIX": "Inc!", "SLACK_INVITE_USERS": "@bob",
		}, []string{"STORE", "SLACK_API_URL", "CHANNEL_PREFIX", "SLACK_INVITE_USERS"}},
		{"bad issue-4 values", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "t",
			"SLACK_ANNOUNCE_CHANNEL": "#incidents", "PAGERDUTY_API_URL": "api.eu.pagerduty.com",
			"SLACK_USER_OVERRIDES": "PABC123=U1,PBOB", "ROUTING_FILE": "/nonexistent/routes.yaml",
		}, []string{"SLACK_ANNOUNCE_CHANNEL", "PAGERDUTY_API_URL", `SLACK_USER_OVERRIDES: "PBOB"`}},
		{"missing routing file", map[string]string{
			"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "t", "ROUTING_FILE": "/nonexistent/routes.yaml",
		}, []string{"ROUTING_FILE", "/nonexistent/routes.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(envOf(tt.env))
			if err == nil {
				t.Fatal("LoadConfig error = nil, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadConfig error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestLoggerUsesCloudLoggingKeys(t *testing.T) {
	var buf bytes.Buffer
	NewLogger(&buf).Warn("careful", "incident_id", "P1")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["severity"] != "WARNING" || line["message"] != "careful" || line["incident_id"] != "P1" {
		t.Errorf("log line = %v, want severity WARNING, message, incident_id", line)
	}
}

func TestSetupErrorIs503EveryTime(t *testing.T) {
	var logs bytes.Buffer
	h := lazyHandler(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-token"}), NewLogger(&logs))
	for i := range 2 {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("request %d = %d, want 503", i, rec.Code)
		}
	}
	if n := strings.Count(logs.String(), "PAGERDUTY_WEBHOOK_SECRET is required"); n != 2 {
		t.Errorf("setup error logged %d times, want on each of 2 requests:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "xoxb-secret-token") {
		t.Errorf("logs reveal the Slack token")
	}
}

func TestHealthz(t *testing.T) {
	var logs bytes.Buffer
	// Even with the configuration broken, the instance is alive.
	h := lazyHandler(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-token"}), NewLogger(&logs))
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(m, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s /healthz = %d, want 200", m, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "xoxb") || strings.Contains(rec.Body.String(), "SLACK") {
			t.Errorf("/healthz reveals configuration: %q", rec.Body.String())
		}
	}
	if logs.Len() != 0 {
		t.Errorf("/healthz ran setup or logged:\n%s", logs.String())
	}
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("POST /healthz = %d, want the webhook's answer (503: not configured)", rec.Code)
	}
}

// TestSetupRetriesNonConfigErrors: a setup that fails for another reason
// than the configuration is tried again on a later request.
func TestSetupRetriesNonConfigErrors(t *testing.T) {
	defer func(d time.Duration, b func(context.Context, Config, *slog.Logger) (http.Handler, error)) {
		setupRetry, build = d, b
	}(setupRetry, build)
	setupRetry = 0
	tries := 0
	build = func(ctx context.Context, cfg Config, log *slog.Logger) (http.Handler, error) {
		if tries++; tries < 3 {
			return nil, errors.New("open Firestore: metadata server unreachable")
		}
		return New(ctx, cfg, log)
	}
	env := map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory"}
	h := lazyHandler(envOf(env), NewLogger(io.Discard))
	for i := range 2 {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("request %d while setup fails = %d, want 503", i, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusUnauthorized || tries != 3 {
		t.Errorf("third request = %d after %d setups, want the handler's 401 after 3", rec.Code, tries)
	}
}

func TestLoadConfigIssue4(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: low\n    match: {urgency: low}\n    channel: false\n    post_to: C0LOW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "s",
		"SLACK_BOT_TOKEN":          "xoxb-1",
		"SLACK_ANNOUNCE_CHANNEL":   "C0ANNOUNCE",
		"PAGERDUTY_API_TOKEN":      "pd-secret-token",
		"PAGERDUTY_API_URL":        "https://api.eu.pagerduty.com",
		"SLACK_USER_OVERRIDES":     "PABC123=U012AB3CD, Ada@Example.com = U045",
		"ROUTING_FILE":             rules,
	}))
	if err != nil {
		t.Fatalf("LoadConfig error = %v", err)
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

// An invalid rules file fails setup loudly: every webhook is answered 503
// (PagerDuty keeps redelivering) and the log names the rule and field.
func TestInvalidRoutingFileIs503(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: sev1\n    match: {urgency: hgh}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := lazyHandler(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory", "ROUTING_FILE": rules,
	}), NewLogger(&logs))
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
	for _, w := range []string{"ROUTING_FILE", "sev1", "urgency", "hgh"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("setup error log does not name %q:\n%s", w, logs.String())
		}
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
	cfg, err := LoadConfig(envOf(map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "t", "ROUTING_FILE": "routing.yaml"}))
	if err != nil {
		t.Fatalf("LoadConfig error = %v", err)
	}
	if r := cfg.Routes.Route(incident.Snapshot{}); r.Rule != "everything" || r.Channel {
		t.Errorf("route = %+v, want the deployed file's rule", r)
	}
}

// Without PAGERDUTY_API_TOKEN the people PagerDuty involves are not
// invited, and setup says so once.
func TestStartupSaysPeopleInvitesOff(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "the people PagerDuty involves are not invited"},
		{map[string]string{"SLACK_USER_OVERRIDES": "PABC123=U012AB3CD"}, "only the PagerDuty users in SLACK_USER_OVERRIDES are invited"},
		{map[string]string{"PAGERDUTY_API_TOKEN": "pd-token"}, ""},
	} {
		env := map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory"}
		maps.Copy(env, tt.env)
		var logs bytes.Buffer
		h := lazyHandler(envOf(env), NewLogger(&logs))
		for range 3 {
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		}
		n := strings.Count(logs.String(), "PAGERDUTY_API_TOKEN is not set")
		switch {
		case tt.want == "" && n != 0:
			t.Errorf("with a token, setup logged:\n%s", logs.String())
		case tt.want != "" && (n != 1 || !strings.Contains(logs.String(), tt.want)):
			t.Errorf("env %v: logged %d times, want once %q:\n%s", tt.env, n, tt.want, logs.String())
		}
		if strings.Contains(logs.String(), "pd-token") {
			t.Errorf("logs reveal the PagerDuty token")
		}
	}
}
