package slackops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/incident-channels/incident-channels/incident"
)

// TestManifestUsageHintNamesCommands: every subcommand the /inc usage
// hint shows is one /inc understands, the ones that name people are
// escaped (Slack then sends <@U…>), and update and lead are shown.
func TestManifestUsageHintNamesCommands(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "slack-app-manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				UsageHint    string `yaml:"usage_hint"`
				ShouldEscape bool   `yaml:"should_escape"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil || len(m.Features.SlashCommands) != 1 {
		t.Fatalf("manifest: %v, %d slash commands", err, len(m.Features.SlashCommands))
	}
	c := m.Features.SlashCommands[0]
	if !c.ShouldEscape {
		t.Error("/inc is not escaped: /inc lead @person would get a name, not a user id")
	}
	var words []string
	for part := range strings.SplitSeq(c.UsageHint, "|") {
		word, _, _ := strings.Cut(strings.TrimSpace(part), " ")
		words = append(words, word)
		if word == "help" {
			continue
		}
		if req := incident.ParseCommand(word); req.Kind == incident.RequestHelp {
			t.Errorf("usage hint %q shows %q, which /inc does not understand", c.UsageHint, word)
		}
	}
	for _, want := range []string{"update", "lead"} {
		if !strings.Contains(" "+strings.Join(words, " ")+" ", " "+want+" ") {
			t.Errorf("usage hint %q does not show %s", c.UsageHint, want)
		}
	}
}
