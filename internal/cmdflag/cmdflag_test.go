package cmdflag

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantDone   bool
		wantErr    bool
		wantStdout string
		wantUsage  bool
	}{
		{"flags", []string{"-n", "3"}, false, false, "", false},
		{"version", []string{"-version"}, true, false, "incident-channels ", false},
		{"help", []string{"-h"}, true, false, "", true},
		{"unknown flag", []string{"-nope"}, false, true, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, usage bytes.Buffer
			fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
			fs.SetOutput(&usage)
			n := fs.Int("n", 0, "a number")
			done, err := Parse(fs, tt.args, &stdout)
			if done != tt.wantDone || (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) = %t, %v; want %t, error %t", tt.args, done, err, tt.wantDone, tt.wantErr)
			}
			if !strings.HasPrefix(stdout.String(), tt.wantStdout) || (tt.wantStdout == "" && stdout.Len() > 0) {
				t.Errorf("Parse(%q) printed %q, want %q…", tt.args, stdout.String(), tt.wantStdout)
			}
			if got := strings.Contains(usage.String(), "-version"); got != tt.wantUsage {
				t.Errorf("Parse(%q) usage printed %t, want %t:\n%s", tt.args, got, tt.wantUsage, usage.String())
			}
			if tt.name == "flags" && *n != 3 {
				t.Errorf("-n = %d, want 3", *n)
			}
		})
	}
}
