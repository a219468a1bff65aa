package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
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
		"CHANNEL_PREFIX=", "SLACK_INVITE_USERS=", "PAGERDUTY_WEBHOOK_SECRET=", "SLACK_BOT_TOKEN=", "STORE=firestore")
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
	for _, want := range []string{"inc-4321-checkout-latency-above-2s-p99", "Resolved by Ada Lovelace after 42m"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q:\n%s", want, body)
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
