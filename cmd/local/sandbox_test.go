package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/replay"
)

var (
	pageRe   = regexp.MustCompile(`page +(http://127\.0\.0\.1:\d+/sandbox/)`)
	fnRe     = regexp.MustCompile(`function +POST (http://127\.0\.0\.1:\d+/)`)
	secretRe = regexp.MustCompile(`webhook secret +([0-9a-f]{32}) `)
)

// TestSandbox starts `local -sandbox` as a process with no configuration,
// reads the URLs and the secret it prints, replays an incident into it and
// reads the page; SIGTERM ends it cleanly.
func TestSandbox(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", argsEnv+"=-sandbox", "PORT=0",
		"CHANNEL_PREFIX=", "SLACK_INVITE_USERS=", "ROUTING_FILE=", "SLACK_USER_OVERRIDES=", "PAGERDUTY_WEBHOOK_SECRET=", "SLACK_BOT_TOKEN=", "STORE=firestore")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	var page, fn, secret string
	for deadline := time.Now().Add(20 * time.Second); ; {
		o := out.String()
		if m := secretRe.FindStringSubmatch(o); m != nil {
			page, fn, secret = pageRe.FindStringSubmatch(o)[1], fnRe.FindStringSubmatch(o)[1], m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner with the URLs and the secret:\n%s", o)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ds, err := replay.Build(replay.Builtin(), replay.Options{FirstNumber: 4321})
	if err != nil {
		t.Fatal(err)
	}
	s := &replay.Sender{URL: fn, Secret: []byte(secret)}
	if failed := s.SendAll(context.Background(), ds, nil); failed > 0 {
		t.Fatalf("%d deliveries failed\n%s", failed, out.String())
	}
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`data-channel="incidents"`, "→ <span class=\"mention\">#inc-4321-checkout-latency-above-2s-p99</span>", // announced
		`data-channel="incidents-low"`,
		`data-channel="inc-4321-checkout-latency-above-2s-p99"`, "Resolved by Ada Lovelace after 42m",
		"Could not add to this channel: Alan Turing (no Slack account)", // looked up in the fake PagerDuty
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, want := range []string{
		"announce        #incidents C00000001 (SLACK_ANNOUNCE_CHANNEL)",
		"Alan Turing with no Slack account", "Margaret Hamilton with no PagerDuty user",
		"act from Slack  on the page",
		"routing         built-in: low urgency posts in #incidents-low C00000002",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), `"event_type":"incident.resolved"`) {
		t.Errorf("no request log line for incident.resolved:\n%s", out.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("after SIGTERM the sandbox exited with %v, want 0\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the sandbox did not exit within 10s of SIGTERM")
	}
}

// TestSandboxRoutingFile: with ROUTING_FILE the banner names the file and
// the ids its post_to and announce must use.
func TestSandboxRoutingFile(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "routing.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: low\n    match: {urgency: low}\n    channel: false\n    post_to: C00000002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROUTING_FILE": rules}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- runSandbox(ctx, "0", func(k string) string { return env[k] }, &stdout, &stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runSandbox = %v", err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "Replay a sample"); {
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"routing         ROUTING_FILE " + rules, "post_to and announce ids must be channel ids shown on the page",
		"#incidents C00000001 and #incidents-low C00000002"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), `"routing_file":"`+rules+`"`) {
		t.Errorf("the function did not log the user's rules:\n%s", stdout.String())
	}
}
