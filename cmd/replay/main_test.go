package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/internal/app"
	"github.com/incident-channels/incident-channels/internal/config"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/replay"
)

// function serves the real function with the in-memory store against a
// fake Slack, signed with secret.
func function(t *testing.T, secret string) (*httptest.Server, *slackfake.Server) {
	t.Helper()
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	h, err := app.New(context.Background(), app.Config{Config: config.Config{
		WebhookSecrets: [][]byte{[]byte(secret)}, SlackToken: slackfake.DefaultToken, SlackAPIURL: fake.URL,
		Store: "memory", ChannelPrefix: "inc",
	}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fake
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestReplaysIntoTheFunction sends two interleaved lifecycles through the
// real handler: two channels, each with its root and replies in order.
func TestReplaysIntoTheFunction(t *testing.T) {
	srv, fake := function(t, "dev-secret")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL + "/", "-incidents", "2", "-interleave", "-number", "1234"},
		env(map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "dev-secret,old-secret"}), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run error = %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if got := strings.Count(stdout.String(), "ok   "); got != 12 {
		t.Errorf("%d ok lines, want 12:\n%s", got, stdout.String())
	}
	wantReplies := []string{"Acknowledged by Ada Lovelace", "Note from Ada Lovelace", "Escalated to Grace Hopper",
		"Priority changed to P1 by Ada Lovelace", "Resolved by Ada Lovelace after 42m"}
	for _, name := range []string{"inc-1234-checkout-latency-above-2s-p99", "inc-1235-checkout-latency-above-2s-p99"} {
		ch, ok := fake.Channel(name)
		if !ok {
			t.Errorf("channel %s missing; channels: %v", name, fake.Channels())
			continue
		}
		roots := ch.TopLevel()
		if len(roots) != 1 {
			t.Fatalf("%s has %d top-level messages, want 1", name, len(roots))
		}
		replies := ch.Replies(roots[0].TS)
		if len(replies) != len(wantReplies) {
			t.Fatalf("%s has %d replies, want %d", name, len(replies), len(wantReplies))
		}
		for i, want := range wantReplies {
			if got := replies[i].BlockText(); !strings.Contains(got, want) {
				t.Errorf("%s reply %d = %q, want it to contain %q", name, i, got, want)
			}
		}
	}
}

func TestReplaysADirectory(t *testing.T) {
	srv, fake := function(t, "k")
	dir := t.TempDir()
	for _, tmpl := range replay.Builtin()[:2] { // triggered, acknowledged
		if err := os.WriteFile(filepath.Join(dir, tmpl.Name+".json"), tmpl.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-url", srv.URL, "-secret", "k", "-dir", dir, "-number", "77"}, env(nil), &out, &out); err != nil {
		t.Fatalf("run -dir error = %v\n%s", err, out.String())
	}
	if _, ok := fake.Channel("inc-77-checkout-latency-above-2s-p99"); !ok {
		t.Errorf("channel inc-77-… missing; channels: %v", fake.Channels())
	}
}

func TestFailsWhenADeliveryFails(t *testing.T) {
	srv, _ := function(t, "right")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-secret", "wrong"}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "6 of 6 deliveries failed") {
		t.Errorf("run with the wrong secret error = %v, want 6 of 6 deliveries failed", err)
	}
	if !strings.Contains(stdout.String(), "FAIL") || !strings.Contains(stdout.String(), "401") {
		t.Errorf("output = %q, want FAIL lines with 401", stdout.String())
	}
}

func TestRejectsBadInvocations(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no secret", nil, nil, "no signing secret"},
		{"bad url", []string{"-secret", "s", "-url", "ftp://x"}, nil, "must be an http(s) URL"},
		{"no incidents", []string{"-secret", "s", "-incidents", "0"}, nil, "must be 1-100"},
		{"negative delay", []string{"-secret", "s", "-delay", "-1s"}, nil, "must not be negative"},
		{"missing dir", []string{"-secret", "s", "-dir", "/nonexistent/payloads"}, nil, "no *.json payload files"},
		{"stray argument", []string{"-secret", "s", "extra"}, nil, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, env(tt.env), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}
