package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
)

// The runs on the memory store are in a testing/synctest bubble: with
// production's leases and budgets, the waits pass on the bubble's clock.

func TestRunMemory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"-seeds", "2", "-incidents", "2"}, func(string) string { return "" }, &out)
		if err != nil {
			t.Fatalf("run error = %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "2 seeds (memory store, 2 incidents each): 0 failed") {
			t.Errorf("summary missing:\n%s", out.String())
		}
	})
}

// TestRunRoutes runs one routed seed and checks its report.
func TestRunRoutes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-routes", "-seeds", "1", "-first-seed", "6"}, func(string) string { return "" }, &out); err != nil {
			t.Fatalf("run error = %v\n%s", err, out.String())
		}
		for _, want := range []string{"pd_fault", "1 seeds (memory store, 4 incidents each): 0 failed", "routed: ", "PagerDuty calls; incidents "} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-store", "redis"}, {"-store", "firestore"}, {"extra"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, &out); err == nil {
			t.Errorf("run(%q) error = nil, want one", args)
		}
	}
}
