package slackops_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/slackops"
)

// TestManifestMatchesHandlers: the Slack app manifest a user pastes sends
// interactions and /inc to the paths the function serves, names the
// shortcut the responder handles, hints only subcommands /inc
// understands, and asks for the scopes they need.
func TestManifestMatchesHandlers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "slack-app-manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			Shortcuts []struct {
				Type       string `yaml:"type"`
				CallbackID string `yaml:"callback_id"`
			} `yaml:"shortcuts"`
			SlashCommands []struct {
				Command string `yaml:"command"`
				URL     string `yaml:"url"`
				Escape  bool   `yaml:"should_escape"`
				Hint    string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if i := m.Settings.Interactivity; !i.Enabled || i.RequestURL != "FUNCTION_URL"+slackops.PathInteractions {
		t.Errorf("interactivity = %+v, want enabled at FUNCTION_URL%s", i, slackops.PathInteractions)
	}
	if c := m.Features.SlashCommands; len(c) != 1 || c[0].Command != "/inc" || c[0].URL != "FUNCTION_URL"+slackops.PathCommands {
		t.Errorf("slash commands = %+v, want /inc at FUNCTION_URL%s", c, slackops.PathCommands)
	}
	if c := m.Features.SlashCommands; len(c) == 1 && !c[0].Escape {
		t.Errorf("/inc has should_escape false: /inc lead, /inc reassign and /inc page need mentions escaped (<@U…>)")
	}
	if c := m.Features.SlashCommands; len(c) == 1 {
		// The hint Slack shows while typing names every subcommand of
		// /inc help, and only subcommands /inc understands.
		for _, sub := range incident.Subcommands {
			if word := strings.Fields(sub.Usage)[1]; !strings.Contains(c[0].Hint, word) {
				t.Errorf("/inc usage_hint %q lacks %s", c[0].Hint, word)
			}
		}
		for part := range strings.SplitSeq(c[0].Hint, "|") {
			word, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if req := incident.ParseCommand(word); word != "help" && req.Kind == incident.RequestHelp {
				t.Errorf("/inc usage_hint %q shows %q, which /inc does not understand", c[0].Hint, word)
			}
		}
	}
	if s := m.Features.Shortcuts; len(s) != 2 || s[0].Type != "message" || s[0].CallbackID != slackops.TimelineCallbackID ||
		s[1].Type != "message" || s[1].CallbackID != slackops.FollowUpCallbackID {
		t.Errorf("shortcuts = %+v, want the message shortcuts %s and %s", s, slackops.TimelineCallbackID, slackops.FollowUpCallbackID)
	}
	for _, scope := range []string{"commands", "users:read", "users:read.email", "chat:write", "files:write", "canvases:write"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}
