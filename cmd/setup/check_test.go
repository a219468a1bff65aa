package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/setup"
	"github.com/incident-channels/incident-channels/internal/setup/fakecli"
)

// -check passes on a complete installation whose function answers, and
// names each problem with its fix once things break; it changes nothing.
func TestCheck(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	healthy.Store(true)
	f := newFake(t, emptyProject(false), "gcloud", "gh")
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if !healthy.Load() {
				http.Error(w, "not configured", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
			return
		}
		body, _ := io.ReadAll(r.Body)
		secret := f.world().Values["secret/"+project+"/pagerduty-webhook-secret"]
		if pagerduty.VerifySignature(body, r.Header.Get("X-PagerDuty-Signature"), [][]byte{[]byte(secret)}) != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ping ok")
	}))
	t.Cleanup(fn.Close)
	f.setWorld(func(w *fakecli.World) {
		w.Objects["function/"+project+"/"+region+"/incident-channels"] = map[string]any{"serviceConfig": map[string]any{"uri": fn.URL}}
	})
	slack := slackfake.NewServer()
	t.Cleanup(slack.Close)
	manifest, err := os.ReadFile("../../slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scopes, err := setup.ManifestScopes(manifest)
	if err != nil || len(scopes) == 0 {
		t.Fatalf("ManifestScopes = %v, %v", scopes, err)
	}
	slack.SetScopes(scopes...)
	env := map[string]string{
		"SLACK_API_URL": slack.URL, "SLACK_BOT_TOKEN": slackfake.DefaultToken,
		"SLACK_SIGNING_SECRET": "signing", "PAGERDUTY_API_TOKEN": pdToken,
	}
	if out, err := f.run(env, args...); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	mutations := f.world().Mutations

	out, err := f.run(env, append(args, "-check")...)
	if err != nil || !strings.Contains(out, "All checks passed") {
		t.Fatalf("-check on a complete installation = %v\n%s", err, out)
	}

	healthy.Store(false)
	slack.SetScopes("chat:write")
	f.setWorld(func(w *fakecli.World) {
		delete(w.Policies["secret/"+project+"/slack-bot-token"], "roles/secretmanager.secretAccessor")
	})
	out, err = f.run(env, append(args, "-check")...)
	if err == nil {
		t.Fatalf("-check on a broken installation succeeded:\n%s", out)
	}
	for _, want := range []string{
		"FAIL  roles/secretmanager.secretAccessor for incident-channels-run@" + project + ".iam.gserviceaccount.com on secret slack-bot-token is missing",
		"gcloud secrets add-iam-policy-binding slack-bot-token",
		"FAIL  GET /healthz answers 200",
		"gcloud functions logs read incident-channels",
		"FAIL  the Slack bot token has the manifest's scopes",
		"the token lacks channels:manage",
		"ok    a signed pagey.ping is answered 200",
		"ok    a PagerDuty webhook subscription delivers to the function, enabled",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-check output lacks %q:\n%s", want, out)
		}
	}
	if got := f.world().Mutations; got != mutations {
		t.Errorf("-check ran %d mutating commands, want 0", got-mutations)
	}
	if strings.Contains(out, slackfake.DefaultToken) || strings.Contains(out, f.world().Values["secret/"+project+"/pagerduty-webhook-secret"]) {
		t.Error("-check printed a secret")
	}

	// A webhook secret whose latest version is empty is read without an
	// error: the finding says what is wrong, with no empty error in it.
	f.setWorld(func(w *fakecli.World) { w.Values["secret/"+project+"/pagerduty-webhook-secret"] = "" })
	out, _ = f.run(env, append(args, "-check")...)
	if !strings.Contains(out, "FAIL  the webhook secret can be read") || strings.Contains(out, "<nil>") {
		t.Errorf("-check with an empty webhook secret: want the finding, without <nil>:\n%s", out)
	}
}
