package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// -version prints the module's version and -h the usage; both succeed.
func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-version"}, {"-h"}} {
		var stdout bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, &stdout); err != nil {
			t.Errorf("run(%q) = %v, want nil", args, err)
		}
		if args[0] == "-version" && !strings.HasPrefix(stdout.String(), "incident-channels ") {
			t.Errorf("run(-version) printed %q, want the version", stdout.String())
		}
	}
}
