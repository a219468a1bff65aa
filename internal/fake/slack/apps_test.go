package slack

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
)

// An app created from a manifest can be updated by its id with the
// configuration token only; a bot token or an unknown id is refused.
func TestManifestCreateThenUpdate(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	api := slack.New("", slack.OptionAPIURL(s.URL))
	ctx := context.Background()
	manifest := json.RawMessage(`{"display_information":{"name":"Incident Channels"}}`)

	if _, err := api.CreateManifestRawContext(ctx, manifest, DefaultToken); err == nil {
		t.Error("apps.manifest.create with a bot token succeeded, want invalid_auth")
	}
	created, err := api.CreateManifestRawContext(ctx, manifest, ConfigToken)
	if err != nil {
		t.Fatalf("apps.manifest.create: %v", err)
	}
	if created.AppId == "" || created.Credentials == nil || created.Credentials.SigningSecret == "" {
		t.Fatalf("apps.manifest.create answered %+v, want an app id and a signing secret", created)
	}
	renamed := json.RawMessage(`{"display_information":{"name":"Incidents"}}`)
	if _, err := api.UpdateManifestRawContext(ctx, renamed, ConfigToken, created.AppId); err != nil {
		t.Fatalf("apps.manifest.update: %v", err)
	}
	if _, err := api.UpdateManifestRawContext(ctx, renamed, ConfigToken, "A404"); err == nil {
		t.Error("apps.manifest.update of an unknown app succeeded")
	}
	if _, err := api.CreateManifestRawContext(ctx, json.RawMessage(`{}`), ConfigToken); err == nil {
		t.Error("apps.manifest.create without a name succeeded, want invalid_manifest")
	}
	apps := s.Apps()
	if len(apps) != 1 || string(apps[0].Manifest) != string(renamed) || apps[0].Updates != 1 {
		t.Errorf("Apps() = %+v, want the one app with the updated manifest", apps)
	}
}
