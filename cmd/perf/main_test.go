package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// TestRunWritesTable runs two quick sections and checks the table reaches
// stdout and the -out file alike.
func TestRunWritesTable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "perf.md")
	var stdout, stderr bytes.Buffer
	args := []string{"-runs", "1", "-latencies", "5ms", "-only", "critical,calls,scale,storm", "-prior", "3", "-big", "4",
		"-storm-n", "2", "-storm-spread", "20ms", "-storm-window", "1s", "-storm-latency", "5ms", "-out", out}
	if err := run(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) error = %v\n%s", args, err, stderr.String())
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, stdout.Bytes()) {
		t.Errorf("-out file differs from stdout:\n%s\n---\n%s", file, stdout.String())
	}
	for _, want := range []string{
		"with the in-memory store; runs per number: 1",
		"| critical path | triggered → answered, L=5 ms (× L) | New |",
		"| calls per event | Slack calls, triggered | composed | 6 | 6 | 6 |",
		"| calls per event | Slack calls, redelivered finished event | composed | 0 | 0 | 0 | 0 ✓ |",
		"| scale | incident document after 6 events",
		"| **lifecycle** |",
		"| storm | time until every channel has its root (× 1s = ⌈2/20⌉ windows of 1s) | New |",
		"Storm: 2 new incidents triggered evenly over 20ms",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "perf: critical") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "firestore"}, // no FIRESTORE_EMULATOR_HOST: never a real project
		{"-store", "redis"},
		{"-only", "everything"},
		{"-runs", "0"},
		{"-latencies", "fast"},
		{"-latencies", "-5ms"},
		{"-storm-n", "0"},
		{"-storm-window", "100ms"}, // Retry-After has whole seconds
		{"-storm-spread", "0s"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, noEnv, &stdout, &stderr); err == nil {
			t.Errorf("run(%q) error = nil, want one", args)
		}
	}
}

func TestParseDurations(t *testing.T) {
	got, err := parseDurations("50ms, 100,0.2s")
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseDurations = %v, %v; want %v", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseDurations[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
