package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/pagerduty"
	"github.com/incident-channels/incident-channels/slackops/slackfake"
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
// with the in-memory store and the fake Slack, and sends it a signed
// incident.triggered: the channel must appear in Slack.
func TestServesTheFunction(t *testing.T) {
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "PORT="+port, "STORE=memory",
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

	body, err := os.ReadFile(filepath.Join("..", "..", "pagerduty", "testdata", "triggered.json"))
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
