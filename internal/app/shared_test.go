package app

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

// TestStartWarnsOfSharedAnnounceChannel: an announce channel shared with
// another organisation is named in a warning at start, with the variable
// that sets it, and gets no message unless ALLOW_SHARED_CHANNELS=true;
// the incident's own channel opens either way.
func TestStartWarnsOfSharedAnnounceChannel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		allow     string
		wantPosts int
		wantWarn  string
	}{
		{"refused", "", 0, "nothing is posted there unless ALLOW_SHARED_CHANNELS=true"},
		{"allowed", "true", 1, "incidents are posted there, as ALLOW_SHARED_CHANNELS=true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := slackfake.NewServer()
			t.Cleanup(fake.Close)
			announce := fake.CreateChannel("incidents", false)
			fake.ShareExternally(announce)
			logs := &bytes.Buffer{}
			f := start(envOf(map[string]string{
				"PAGERDUTY_WEBHOOK_SECRET": e2eSecret,
				"SLACK_BOT_TOKEN":          slackfake.DefaultToken,
				"SLACK_API_URL":            fake.URL,
				"STORE":                    "memory",
				"SLACK_ANNOUNCE_CHANNEL":   announce,
				"ALLOW_SHARED_CHANNELS":    tt.allow,
			}), NewLogger(&lockedWriter{w: logs}), New)
			if !warned(t, logs.String(), tt.wantWarn, announce, "SLACK_ANNOUNCE_CHANNEL") {
				t.Errorf("start logs lack a warning %q naming %s and SLACK_ANNOUNCE_CHANNEL:\n%s", tt.wantWarn, announce, logs)
			}

			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			in := &instance{url: srv.URL, client: srv.Client(), logs: logs}
			in.mustDeliver(t, "triggered.json", "processed")
			ch, _ := fake.Channel(announce)
			if n := len(ch.TopLevel()); n != tt.wantPosts {
				t.Errorf("announce channel messages = %d, want %d", n, tt.wantPosts)
			}
			if own := slices.DeleteFunc(fake.Channels(), func(c slackfake.Channel) bool { return c.ID == announce }); len(own) != 1 {
				t.Errorf("incident channels = %d, want 1", len(own))
			}
		})
	}
}

// warned reports whether logs hold a WARNING line whose message contains
// msg, about channelID, naming setBy.
func warned(t *testing.T, logs, msg, channelID, setBy string) bool {
	t.Helper()
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var l struct {
			Severity  string   `json:"severity"`
			Message   string   `json:"message"`
			ChannelID string   `json:"channel_id"`
			SetBy     []string `json:"set_by"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l.Severity == "WARNING" && strings.Contains(l.Message, msg) && l.ChannelID == channelID && slices.Contains(l.SetBy, setBy) {
			return true
		}
	}
	return false
}
