package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// -check-config checks the environment as the function would at start,
// taking the variables the deploy reads from Secret Manager as set, and
// names every problem without echoing a value.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr bool
		want    []string
	}{
		{
			name: "valid with secrets from Secret Manager",
			env:  map[string]string{"STORE": "memory", "CHANNEL_PREFIX": "inc"},
			args: []string{"-check-config", "-from-secrets", "PAGERDUTY_WEBHOOK_SECRET,SLACK_BOT_TOKEN"},
			want: []string{"The configuration is valid."},
		},
		{
			name:    "sweep without its audience, a missing rules file",
			env:     map[string]string{"STORE": "memory", "ARCHIVE_AFTER": "72h", "ROUTING_FILE": "no-such-rules.yaml"},
			args:    []string{"-check-config", "-from-secrets", "PAGERDUTY_WEBHOOK_SECRET,SLACK_BOT_TOKEN"},
			wantErr: true,
			want:    []string{"problem: SWEEP_AUDIENCE is required with ARCHIVE_AFTER", "problem: ROUTING_FILE: the rules file cannot be read"},
		},
		{
			name:    "a secret the deploy does not set",
			env:     map[string]string{"STORE": "memory", "SLACK_API_URL": "xoxb-pasted-in-the-wrong-place"},
			args:    []string{"-check-config", "-from-secrets", "SLACK_BOT_TOKEN"},
			wantErr: true,
			want:    []string{"problem: PAGERDUTY_WEBHOOK_SECRET is required", "problem: SLACK_API_URL must be an http(s) URL"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, strings.NewReader(""), &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("run = %v, want error %v\n%s", err, tc.wantErr, stdout.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			if strings.Contains(stdout.String(), "xoxb-pasted") {
				t.Errorf("a value was echoed:\n%s", stdout.String())
			}
		})
	}
}
