package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAskSecretRestoresEchoAfterInterrupt: Ctrl-C while the secret is
// typed cancels the context; the terminal's echo is turned back on all the
// same, and what was typed is not used.
func TestAskSecretRestoresEchoAfterInterrupt(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "stty.log")
	stty := "#!/bin/sh\necho \"$1\" >> '" + log + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "stty"), []byte(stty), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The interrupt comes once echo is off, before the line is entered.
	go func() {
		defer w.Close()
		for {
			if b, _ := os.ReadFile(log); strings.Contains(string(b), "-echo") {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		io.WriteString(w, "s3cret\n")
	}()
	got, err := askSecret(ctx, r, io.Discard, "PAGERDUTY_API_TOKEN", "a REST API key")
	if !errors.Is(err, context.Canceled) || got != "" {
		t.Errorf("askSecret interrupted = %q, %v; want nothing, context.Canceled", got, err)
	}
	calls, _ := os.ReadFile(log)
	if want := "-echo\necho\n"; string(calls) != want {
		t.Errorf("stty called with %q, want %q", strings.Fields(string(calls)), strings.Fields(want))
	}
}
