package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/config"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/internal/sweep/sweeptest"
	"github.com/incident-channels/incident-channels/slackops"
)

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

// testGoogle signs the tokens of the package's tests; making a key
// takes a while, so they share one.
var testGoogle = sync.OnceValues(func() (*sweeptest.Issuer, error) { return sweeptest.NewIssuer("google-key-1") })

// withGoogleKeys builds with New, the sweep checking tokens against the
// test issuer's key, served to it instead of Google's.
func withGoogleKeys(t *testing.T) (buildFunc, *sweeptest.Issuer) {
	t.Helper()
	google, err := testGoogle()
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
		cfg.sweepClient = google.Client()
		return New(ctx, cfg, log)
	}, google
}

// TestSweepRouting: the one function URL serves the sweep at /tasks/sweep
// for a Google token of the invoker, and PagerDuty's webhooks, the health
// check and their answers everywhere else as before.
func TestSweepRouting(t *testing.T) {
	t.Parallel()
	build, google := withGoogleKeys(t)
	token := google.Token(sweepAudience, sweepInvoker, time.Now())
	// An event the function ignores: signed, it is answered 200 without a
	// call to Slack or the store.
	event := []byte(`{"event":{"id":"01J0SVC","event_type":"service.updated","resource_type":"service","occurred_at":"2026-03-14T09:26:53Z","agent":null,"client":null,"data":{"id":"PSVC001","type":"service"}}}`)
	tests := []struct {
		name     string
		method   string
		path     string
		token    string
		pdSigned bool // signed as PagerDuty signs a webhook
		body     []byte
		want     int
		wantBody string
	}{
		{"sweep with the invoker's token", http.MethodPost, sweep.Path, token, false, nil, http.StatusOK, `"archived":0`},
		{"sweep without a token", http.MethodPost, sweep.Path, "", false, nil, http.StatusUnauthorized, "missing Authorization"},
		{"sweep signed by PagerDuty", http.MethodPost, sweep.Path, "", true, event, http.StatusUnauthorized, "missing Authorization"},
		{"sweep not POSTed", http.MethodGet, sweep.Path, token, false, nil, http.StatusMethodNotAllowed, ""},
		{"webhook signed by PagerDuty", http.MethodPost, "/", "", true, event, http.StatusOK, "ignored"},
		{"webhook with a Google token", http.MethodPost, "/", token, false, event, http.StatusUnauthorized, "X-PagerDuty-Signature"},
		{"webhook at another path", http.MethodPost, "/tasks/other", "", false, event, http.StatusUnauthorized, "X-PagerDuty-Signature"},
		{"health check", http.MethodGet, "/healthz", "", false, nil, http.StatusOK, "ok"},
	}
	f := start(envOf(sweepEnv()), NewLogger(io.Discard), build)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.pdSigned {
				req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(tt.body, []byte(goodEnv["PAGERDUTY_WEBHOOK_SECRET"])))
			}
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, req)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.want, tt.wantBody)
			}
		})
	}
}

// Without ARCHIVE_AFTER there is no sweep: /tasks/sweep is 404 for any
// caller, and Sweep says why.
func TestSweepNotConfigured(t *testing.T) {
	t.Parallel()
	build, google := withGoogleKeys(t)
	f := start(envOf(goodEnv), NewLogger(io.Discard), build)
	req := httptest.NewRequest(http.MethodPost, sweep.Path, nil)
	req.Header.Set("Authorization", "Bearer "+google.Token(sweepAudience, sweepInvoker, time.Now()))
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if want := "sweep not configured (ARCHIVE_AFTER is empty)\n"; rec.Code != http.StatusNotFound || rec.Body.String() != want {
		t.Errorf("POST %s = %d %q, want 404 %q", sweep.Path, rec.Code, rec.Body.String(), want)
	}
	h, err := f.webhook()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sweep(context.Background()); !errors.Is(err, ErrSweepNotConfigured) {
		t.Errorf("Sweep = %v, want ErrSweepNotConfigured", err)
	}
}

// Sweep in the process runs the same sweeper as POST /tasks/sweep, with
// no token, and reports how long it took.
func TestSweepInProcess(t *testing.T) {
	t.Parallel()
	build, _ := withGoogleKeys(t)
	var logs bytes.Buffer
	f := start(envOf(sweepEnv()), NewLogger(&logs), build)
	logs.Reset() // what setup says
	h, err := f.webhook()
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Sweep(context.Background())
	if err != nil || r.Due != 0 || r.Duration <= 0 {
		t.Errorf("Sweep = %+v, %v; want an empty report (nothing resolved) and its duration", r, err)
	}
	if logs.Len() != 0 {
		t.Errorf("Sweep logged (the caller logs the report):\n%s", logs.String())
	}
}

// One log line per sweep request, in Cloud Logging's keys, never the
// token.
func TestSweepLogsOneLine(t *testing.T) {
	t.Parallel()
	build, google := withGoogleKeys(t)
	var logs bytes.Buffer
	f := start(envOf(sweepEnv()), NewLogger(&logs), build)
	logs.Reset()
	token := google.Token(sweepAudience, sweepInvoker, time.Now())
	req := httptest.NewRequest(http.MethodPost, sweep.Path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	f.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var line map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil {
		t.Fatalf("log = %q, want one JSON line", logs.String())
	}
	if line["severity"] != "INFO" || line["message"] != "sweep done" || line["invoker"] != sweepInvoker {
		t.Errorf("log line = %v, want INFO sweep done by the invoker", line)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("log reveals the token")
	}
}

// TestEndToEndSweepArchivesResolvedChannel: with ARCHIVE_AFTER, Cloud
// Scheduler's call archives the channel of an incident resolved longer
// ago than that, after a line saying so (without it when someone deleted
// the root message); the next call finds nothing due.
func TestEndToEndSweepArchivesResolvedChannel(t *testing.T) {
	t.Parallel()
	for _, rootDeleted := range []bool{false, true} {
		t.Run(fmt.Sprintf("root deleted %v", rootDeleted), func(t *testing.T) {
			t.Parallel()
			sweepArchives(t, rootDeleted)
		})
	}
}

func sweepArchives(t *testing.T, rootDeleted bool) {
	_, google := withGoogleKeys(t)
	nw := netfake.New()
	fake := newSlack(t, nw)
	env := map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": e2eSecret,
		"SLACK_BOT_TOKEN":          slackfake.DefaultToken,
		"SLACK_API_URL":            fake.URL,
		"STORE":                    "memory",
		"ARCHIVE_AFTER":            "1m", // the samples resolved long ago
		"SWEEP_AUDIENCE":           sweepAudience,
		"SWEEP_INVOKER":            sweepInvoker,
	}
	c, err := config.Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Config: c}
	cfg.sweepClient = google.Client()
	fn := serve(t, nw, cfg)
	fn.mustDeliver(t, "triggered.json", "processed")
	fn.mustDeliver(t, "resolved.json", "processed")
	if rootDeleted {
		ch := onlyChannel(t, fake)
		fake.DeleteMessage(ch.ID, ch.TopLevel()[0].TS)
	}
	call := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fn.url+sweep.Path, nil)
		req.Header.Set("Authorization", "Bearer "+google.Token(sweepAudience, sweepInvoker, time.Now()))
		resp, err := fn.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d %s", sweep.Path, resp.StatusCode, body)
		}
		return string(body)
	}
	if body := call(); !strings.Contains(body, `"archived":1`) {
		t.Errorf("sweep report %s, want one channel archived", body)
	}
	ch := onlyChannel(t, fake)
	if !ch.Archived {
		t.Errorf("channel %s not archived", ch.Name)
	}
	if !rootDeleted && !slices.ContainsFunc(ch.Messages, func(m slackfake.Message) bool { return strings.Contains(m.Text, "Archiving this channel") }) {
		t.Errorf("no line saying the channel is being archived")
	}
	if body := call(); !strings.Contains(body, `"due":0`) {
		t.Errorf("second sweep report %s, want nothing due", body)
	}
}

// TestEveryEndpointBehindTheChain: the webhook, Slack's two paths and the
// sweep are served through the one middleware chain: another method is
// 405 with Allow, and each request is one log line with its status.
func TestEveryEndpointBehindTheChain(t *testing.T) {
	t.Parallel()
	build, _ := withGoogleKeys(t)
	var logs bytes.Buffer
	f := start(envOf(goodEnvWith(map[string]string{
		"ARCHIVE_AFTER": "72h", "SWEEP_AUDIENCE": sweepAudience, "SWEEP_INVOKER": sweepInvoker, "SLACK_SIGNING_SECRET": "signing",
	})), NewLogger(&logs), build)
	for _, path := range []string{"/", slackops.PathInteractions, slackops.PathCommands, sweep.Path} {
		logs.Reset()
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("PUT %s = %d Allow %q, want 405 Allow POST", path, rec.Code, rec.Header().Get("Allow"))
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["status"] != 405.0 {
			t.Errorf("PUT %s logged %q, want one line with status 405", path, logs.String())
		}
	}
}
