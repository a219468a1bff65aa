package slack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ConfigToken is the app configuration token the server accepts for
// apps.manifest.create and apps.manifest.update (Slack's xoxe tokens).
const ConfigToken = "xoxe.xoxp-fake-config-token"

// App is an app created with apps.manifest.create.
type App struct {
	ID string
	// Manifest is the manifest as last created or updated.
	Manifest json.RawMessage
	// SigningSecret is the credential apps.manifest.create answered.
	SigningSecret string
	// Updates counts apps.manifest.update calls on the app.
	Updates int
}

// Apps returns the apps created through the manifest methods.
func (s *Server) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]App, len(s.apps))
	for i, a := range s.apps {
		out[i] = *a
	}
	return out
}

// manifestCall carries out apps.manifest.create or update; s.mu is held.
func (s *Server) manifestCall(method, token string, f url.Values) (answer, *apiError) {
	if token != ConfigToken {
		return nil, fail("invalid_auth")
	}
	var m struct {
		Display struct {
			Name string `json:"name"`
		} `json:"display_information"`
	}
	raw := json.RawMessage(f.Get("manifest"))
	if err := json.Unmarshal(raw, &m); err != nil || m.Display.Name == "" {
		return nil, &apiError{code: "invalid_manifest", extra: answer{"errors": []answer{{"message": "display_information.name is required", "pointer": "/display_information/name"}}}}
	}
	switch method {
	case "apps.manifest.create":
		s.nextID++
		a := &App{ID: fmt.Sprintf("A%08d", s.nextID), Manifest: raw, SigningSecret: fmt.Sprintf("fake-signing-secret-%d", s.nextID)}
		s.apps = append(s.apps, a)
		return answer{"app_id": a.ID, "credentials": answer{
			"client_id": "1.2", "client_secret": "fake-client-secret", "verification_token": "fake-verification", "signing_secret": a.SigningSecret,
		}, "oauth_authorize_url": "https://slack.com/oauth/v2/authorize?client_id=1.2"}, nil
	default: // apps.manifest.update
		i := slices.IndexFunc(s.apps, func(a *App) bool { return a.ID == f.Get("app_id") })
		if i < 0 {
			return nil, fail("invalid_app_id")
		}
		s.apps[i].Manifest = raw
		s.apps[i].Updates++
		return answer{"app_id": s.apps[i].ID, "permissions_updated": false}, nil
	}
}

// SetScopes sets the scopes auth.test reports in its X-OAuth-Scopes
// header, as Slack does for the token's app; none: no header.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = strings.Join(scopes, ",")
}
