package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunMemory(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-seeds", "2", "-incidents", "2", "-lease", "2s"}, func(string) string { return "" }, &out)
	if err != nil {
		t.Fatalf("run error = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "2 seeds (memory store, 2 incidents each): 0 failed") {
		t.Errorf("summary missing:\n%s", out.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{{"-store", "redis"}, {"-store", "firestore"}, {"extra"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, &out); err == nil {
			t.Errorf("run(%q) error = nil, want one", args)
		}
	}
}
