package app

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
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoggerUsesCloudLoggingKeys(t *testing.T) {
	t.Parallel()
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

// badEnv has three problems and a token that must never be shown.
var badEnv = map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-token", "STORE": "sql", "CHANNEL_PREFIX": "Inc!"}

// badEnvProblems are the variables badEnv's problems name.
var badEnvProblems = []string{"PAGERDUTY_WEBHOOK_SECRET", "STORE", "CHANNEL_PREFIX"}

// noBuild is a buildFunc for a configuration that must never be built.
func noBuild(t *testing.T) buildFunc {
	return func(context.Context, Config, *slog.Logger) (*Handler, error) {
		t.Error("the handler was built from a configuration with problems")
		return nil, errors.New("not built")
	}
}

// TestStartReportsProblems: a bad configuration is logged once when the
// process starts, in one line naming every problem, and then answered 503
// on every request (PagerDuty keeps the events) without naming them: the
// log has them, an unauthenticated caller learns nothing of the
// configuration.
func TestStartReportsProblems(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	f := start(envOf(badEnv), NewLogger(&logs), noBuild(t))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines at start = %d, want 1:\n%s", len(lines), logs.String())
	}
	var start struct {
		Severity string   `json:"severity"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &start); err != nil {
		t.Fatal(err)
	}
	if start.Severity != "ERROR" || len(start.Problems) != len(badEnvProblems) {
		t.Errorf("start log = %s, want one ERROR line with %d problems", lines[0], len(badEnvProblems))
	}
	for i, name := range badEnvProblems {
		if i < len(start.Problems) && !strings.HasPrefix(start.Problems[i], name) {
			t.Errorf("problem %d = %q, want it to name %s", i, start.Problems[i], name)
		}
	}
	for i := range 2 {
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("request %d = %d, want 503", i, rec.Code)
		}
		for _, name := range badEnvProblems {
			if strings.Contains(rec.Body.String(), name) {
				t.Errorf("request %d answer %q names %s to an unauthenticated caller", i, rec.Body.String(), name)
			}
		}
	}
	if n := strings.Count(logs.String(), "PAGERDUTY_WEBHOOK_SECRET is required"); n != 3 {
		t.Errorf("problems logged %d times, want at start and on each of 2 requests:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "xoxb-secret-token") {
		t.Errorf("logs reveal the Slack token")
	}
}

// failingBuild fails its first n builds, then builds with New.
func failingBuild(n int, tries *int) buildFunc {
	return func(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
		if *tries++; *tries <= n {
			return nil, errors.New("open Firestore: metadata server unreachable")
		}
		return New(ctx, cfg, log)
	}
}

var goodEnv = map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory"}

func TestHealthz(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		failBuilds int
		wantStatus int
		wantBody   string
		// hidden must not be in the answer: it is for the log only.
		hidden []string
	}{
		{"configured", goodEnv, 0, 200, "ok\n", nil},
		{"configuration problems", badEnv, 0, 503, "not configured: the function's log names the problems\n", badEnvProblems},
		{"setup failing", goodEnv, 100, 503, "setup failed: the function's log has the error\n", []string{"metadata server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			tries := 0
			f := start(envOf(tt.env), NewLogger(&logs), failingBuild(tt.failBuilds, &tries))
			logs.Reset()
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("GET /healthz = %d %q, want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
			if rec.Body.String() != tt.wantBody {
				t.Errorf("GET /healthz body %q, want %q", rec.Body.String(), tt.wantBody)
			}
			for _, h := range tt.hidden {
				if strings.Contains(rec.Body.String(), h) {
					t.Errorf("GET /healthz tells an unauthenticated caller %q: %q", h, rec.Body.String())
				}
			}
			if strings.Contains(rec.Body.String(), "xoxb") {
				t.Errorf("/healthz reveals the token: %q", rec.Body.String())
			}
			rec = httptest.NewRecorder()
			f.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/healthz", nil))
			if rec.Code != tt.wantStatus || rec.Body.Len() != 0 {
				t.Errorf("HEAD /healthz = %d with %d bytes, want %d and no body", rec.Code, rec.Body.Len(), tt.wantStatus)
			}
			if logs.Len() != 0 {
				t.Errorf("/healthz logged:\n%s", logs.String())
			}
		})
	}
	// Only GET and HEAD are the health check; a POST is a webhook.
	f := start(envOf(goodEnv), NewLogger(io.Discard), New)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader("{}")))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /healthz = %d, want the webhook's 401 (unsigned)", rec.Code)
	}
}

// TestSetupRetriesNonConfigErrors: a setup that fails for another reason
// than the configuration is tried again on a later request.
func TestSetupRetriesNonConfigErrors(t *testing.T) {
	t.Parallel()
	tries := 0
	var logs bytes.Buffer
	f := start(envOf(goodEnv), NewLogger(&logs), failingBuild(2, &tries))
	if tries != 1 || !strings.Contains(logs.String(), "setup failed") {
		t.Fatalf("at start: %d setups, logs %q; want 1 failed setup logged", tries, logs.String())
	}
	f.retry = 0
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("request while setup fails = %d, want 503", rec.Code)
	}
	rec = httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusUnauthorized || tries != 3 {
		t.Errorf("next request = %d after %d setups, want the handler's 401 after 3", rec.Code, tries)
	}
	f.retry = time.Hour // built: no setup again
	f.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if tries != 3 {
		t.Errorf("setups = %d after the handler was built, want 3", tries)
	}
}

// An invalid rules file fails setup loudly: every webhook is answered 503
// (PagerDuty keeps redelivering) and the log names the rule and field.
func TestInvalidRoutingFileIs503(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: sev1\n    match: {urgency: hgh}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := start(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory", "ROUTING_FILE": rules,
	}), NewLogger(&logs), noBuild(t))
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
	for _, w := range []string{"ROUTING_FILE", "sev1", "urgency", "hgh"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("setup error log does not name %q:\n%s", w, logs.String())
		}
	}
}

// Without PAGERDUTY_API_TOKEN the people PagerDuty involves are not
// invited, and setup says so once.
func TestStartupSaysPeopleInvitesOff(t *testing.T) {
	t.Parallel()
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
		f := start(envOf(env), NewLogger(&logs), New)
		for range 3 {
			f.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
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
