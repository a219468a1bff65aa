package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/internal/config"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/sweep"
)

// runMainEnv makes the test binary run main instead of the tests, so the
// tests can start the real command as a separate process; argsEnv holds
// the command's arguments, separated by spaces.
const (
	runMainEnv = "LOCAL_TEST_RUN_MAIN"
	argsEnv    = "LOCAL_TEST_ARGS"
)

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append(os.Args[:1], strings.Fields(os.Getenv(argsEnv))...)
		main()
		return
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestServesTheFunction starts the command as `go run ./cmd/local` would,
// with the fake Slack and neither STORE nor a Google Cloud project nor an
// emulator, and sends it a signed incident.triggered: it says it uses the
// in-memory store, logs the start-up notices before serving, and the
// channel must appear in Slack.
func TestServesTheFunction(t *testing.T) {
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "PORT="+port, "STORE=", "GOOGLE_CLOUD_PROJECT=", "FIRESTORE_EMULATOR_HOST=",
		"PAGERDUTY_WEBHOOK_SECRET=local-secret", "SLACK_BOT_TOKEN="+slackfake.DefaultToken, "SLACK_API_URL="+fake.URL,
		"FUNCTION_TARGET=")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	url := "http://127.0.0.1:" + port + "/"
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET / = %d, want 405", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("command did not listen on %s: %v\n%s", url, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	notice, serving := strings.Index(out.String(), "PAGERDUTY_API_TOKEN is not set"), strings.Index(out.String(), "serving PagerDutyWebhook")
	if notice < 0 || serving < 0 || notice > serving || !strings.Contains(out.String(), "using the in-memory store") {
		t.Errorf("output before the first request: want the in-memory store named and the start-up notices before serving:\n%s", out.String())
	}

	body, err := os.ReadFile(filepath.Join("..", "..", "internal", "pagerduty", "testdata", "triggered.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(body, []byte("local-secret")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != "processed" {
		t.Fatalf("POST triggered = %d %q, want 200 processed\n%s", resp.StatusCode, got, out.String())
	}
	if chs := fake.Channels(); len(chs) != 1 || chs[0].Name != "inc-1234-checkout-latency-above-2s-p99" {
		t.Errorf("channels = %v, want inc-1234-checkout-latency-above-2s-p99", chs)
	}
	// The request's log line is written just after its answer.
	for end := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), `"event_type":"incident.triggered"`); {
		if time.Now().After(end) {
			t.Fatalf("request log line missing:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that the command's output goroutine and
// the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBadConfigurationStopsAtStart runs the command as a process with a
// bad configuration: it exits 1 at once, naming every problem and no
// secret, and never listens.
func TestBadConfigurationStopsAtStart(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "PORT="+port, "FUNCTION_TARGET=",
		"PAGERDUTY_WEBHOOK_SECRET=", "SLACK_BOT_TOKEN=xoxb-secret-token", "STORE=sql", "CHANNEL_PREFIX=Inc!",
		"SLACK_API_URL=", "SLACK_INVITE_USERS=", "SLACK_ANNOUNCE_CHANNEL=", "ROUTING_FILE=", "SLACK_USER_OVERRIDES=", "PAGERDUTY_API_URL=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("local with a bad configuration: %v, want exit status 1\n%s", err, out)
	}
	for _, name := range []string{"PAGERDUTY_WEBHOOK_SECRET", "STORE", "CHANNEL_PREFIX"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
	if strings.Contains(string(out), "xoxb-secret-token") || strings.Contains(string(out), "serving") {
		t.Errorf("output reveals the token or says it is serving:\n%s", out)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-secret-token", "STORE": "sql"}
	err := run(context.Background(), nil, func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("run with a bad configuration = nil, want the problems")
	}
	for _, name := range []string{"PAGERDUTY_WEBHOOK_SECRET", "STORE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("run error %q does not name %s", err, name)
		}
	}
}

func TestRunRejectsArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stray argument", []string{"serve"}, "unexpected arguments"},
		{"stray argument after -sandbox", []string{"-sandbox", "now"}, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{"nothing", nil, options{}, ""},
		{"sandbox", []string{"-sandbox"}, options{sandbox: true}, ""},
		{"sweep", []string{"-sweep", "10s"}, options{sweep: 10 * time.Second}, ""},
		{"sweep with =", []string{"-sweep=2m"}, options{sweep: 2 * time.Minute}, ""},
		{"sweep not a duration", []string{"-sweep", "often"}, options{}, `invalid value "often" for flag -sweep`},
		{"sweep without unit", []string{"-sweep", "10"}, options{}, `invalid value "10" for flag -sweep`},
		{"sweep zero", []string{"-sweep", "0s"}, options{}, "-sweep 0s: the interval must be at least 1s"},
		{"sweep too often", []string{"-sweep", "500ms"}, options{}, "at least 1s"},
		{"sweep and sandbox", []string{"-sandbox", "-sweep", "10s"}, options{}, "the sandbox has none"},
		{"stray argument after -sweep", []string{"-sweep", "10s", "now"}, options{}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseArgs(tt.args, io.Discard, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseArgs(%q) error = %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

// -h and -version succeed; -h lists the environment variables of the
// configuration's table.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if _, done, err := parseArgs([]string{"-h"}, &stdout, &stderr); !done || err != nil {
		t.Errorf("parseArgs(-h) = done %t, %v; want done, nil", done, err)
	}
	for _, v := range config.Vars {
		if !strings.Contains(stderr.String(), "  "+v.Name) {
			t.Errorf("-h does not list %s:\n%s", v.Name, stderr.String())
		}
	}
	stderr.Reset()
	if _, done, err := parseArgs([]string{"-version"}, &stdout, &stderr); !done || err != nil || !strings.HasPrefix(stdout.String(), "incident-channels ") {
		t.Errorf("parseArgs(-version) = done %t, %v, printed %q; want done and the version", done, err, stdout.String())
	}
}

// -sweep without ARCHIVE_AFTER stops at start: there is nothing to sweep.
func TestRunSweepNeedsArchiveAfter(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "STORE": "memory"}
	err := run(context.Background(), []string{"-sweep", "10s"}, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "-sweep needs ARCHIVE_AFTER or UPDATE_REMINDERS") {
		t.Errorf("run(-sweep) without ARCHIVE_AFTER = %v, want it to name ARCHIVE_AFTER", err)
	}
}

// sweepEvery calls the sweeper at once and then every interval, never
// two at once, logs one line per run, and stops with its context.
func TestSweepEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var calls, running int
		fake := sweep.Func(func(ctx context.Context) (sweep.Report, error) {
			calls++
			running++
			defer func() { running-- }()
			if running > 1 {
				t.Error("two sweeps at once")
			}
			time.Sleep(3 * time.Second) // within the interval
			if calls == 2 {
				return sweep.Report{Due: 2, Archived: 1, Left: 1}, errors.New("slack: ratelimited")
			}
			return sweep.Report{Due: 1, Archived: 1}, nil
		})
		var logs bytes.Buffer
		done := make(chan struct{})
		go func() {
			sweepEvery(ctx, 10*time.Second, fake, slog.New(slog.NewJSONHandler(&logs, nil)))
			close(done)
		}()
		time.Sleep(25 * time.Second) // runs at 0 s, 10 s and 20 s
		synctest.Wait()
		cancel()
		<-done
		if calls != 3 {
			t.Errorf("sweeps in 25 s every 10 s = %d, want 3", calls)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 3 {
			t.Fatalf("log lines = %d, want one per sweep:\n%s", len(lines), logs.String())
		}
		for i, wants := range [][]string{
			{`"level":"INFO","msg":"local sweep done","due":1,"archived":1,"failed":0,"left":0`},
			{`"level":"WARN","msg":"local sweep not finished","due":2,"archived":1,"failed":0,"left":1`, `"error":"slack: ratelimited"`},
			{`"msg":"local sweep done"`},
		} {
			for _, want := range wants {
				if !strings.Contains(lines[i], want) {
					t.Errorf("log line %d = %s, want it to contain %s", i, lines[i], want)
				}
			}
		}
	})
}

// TestSweepsInProcess starts the command with -sweep: it logs a sweep's
// report at start and then every second, and the sweep over HTTP still
// needs a token.
func TestSweepsInProcess(t *testing.T) {
	t.Parallel()
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", argsEnv+"=-sweep 1s", "PORT="+port, "STORE=memory", "FUNCTION_TARGET=",
		"PAGERDUTY_WEBHOOK_SECRET=local-secret", "SLACK_BOT_TOKEN="+slackfake.DefaultToken, "SLACK_API_URL="+fake.URL,
		"ARCHIVE_AFTER=2m", "SWEEP_AUDIENCE=http://127.0.0.1:"+port, "SWEEP_INVOKER=sweep@example.com")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	for end := time.Now().Add(20 * time.Second); strings.Count(out.String(), `"message":"local sweep done"`) < 2; {
		if time.Now().After(end) {
			t.Fatalf("no two sweeps logged:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Post("http://127.0.0.1:"+port+"/tasks/sweep", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /tasks/sweep without a token = %d, want 401", resp.StatusCode)
	}
}
