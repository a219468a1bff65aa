package main

import (
	"strings"
	"testing"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

const pdToken = "u+fake-rest-api-key"

// With a Slack configuration token and a PagerDuty key, the first run
// creates the Slack app with the function's request URLs and the webhook
// subscription, storing both signing secrets without printing them; the
// second updates the app in place and creates nothing.
func TestSlackAppAndSubscriptionMadeOnce(t *testing.T) {
	t.Parallel()
	slack := slackfake.NewServer()
	t.Cleanup(slack.Close)
	f := newFake(t, emptyProject(true), "gcloud", "gh")
	pd := f.pd
	env := map[string]string{
		"SLACK_CONFIG_TOKEN": slackfake.ConfigToken, "SLACK_API_URL": slack.URL,
		"PAGERDUTY_API_TOKEN": pdToken,
		"SLACK_BOT_TOKEN":     secrets["SLACK_BOT_TOKEN"],
	}
	run := func() string {
		t.Helper()
		out, err := f.run(env, args...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		return out
	}
	out := run()
	apps := slack.Apps()
	if len(apps) != 1 {
		t.Fatalf("the fake Slack has %d apps, want 1:\n%s", len(apps), out)
	}
	for _, want := range []string{`"request_url":"` + fnURL + `/slack/interactions"`, `"url":"` + fnURL + `/slack/commands"`} {
		if !strings.Contains(string(apps[0].Manifest), want) {
			t.Errorf("the app's manifest lacks %s:\n%s", want, apps[0].Manifest)
		}
	}
	subs := pd.Subscriptions()
	if len(subs) != 1 || subs[0].DeliveryMethod.URL != fnURL || subs[0].Filter.Type != "account_reference" {
		t.Fatalf("PagerDuty subscriptions = %+v, want one for the account to %s", subs, fnURL)
	}
	w := f.world()
	for _, s := range []string{"slack-signing-secret", "pagerduty-webhook-secret"} {
		if w.Versions["secret/"+project+"/"+s] != 1 {
			t.Errorf("secret %s has %d versions, want 1 (the signing secret)", s, w.Versions["secret/"+project+"/"+s])
		}
	}
	if w.Vars["SLACK_APP_ID"] != apps[0].ID {
		t.Errorf("SLACK_APP_ID = %q, want %q", w.Vars["SLACK_APP_ID"], apps[0].ID)
	}
	for _, secret := range []string{apps[0].SigningSecret, subs[0].DeliveryMethod.Secret} {
		if strings.Contains(out, secret) || strings.Contains(f.calls(), secret) {
			t.Errorf("a signing secret was printed or passed as an argument")
		}
	}

	mutations := w.Mutations
	out = run()
	if got := slack.Apps(); len(got) != 1 || got[0].Updates != 1 {
		t.Errorf("after the second run the fake Slack has %+v, want the one app updated once", got)
	}
	if got := len(pd.Subscriptions()); got != 1 {
		t.Errorf("after the second run PagerDuty has %d subscriptions, want 1", got)
	}
	if got := f.world().Mutations; got != mutations {
		t.Errorf("the second run ran %d mutating commands, want 0:\n%s", got-mutations, out)
	}
}

// Without a configuration token setup prints the manifest with the
// function's URLs filled in, to paste.
func TestWithoutConfigTokenPrintsManifest(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(true), "gcloud", "gh")
	out, err := f.run(secrets, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{"From an app manifest", "request_url: " + fnURL + "/slack/interactions", "url: " + fnURL + "/slack/commands"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FUNCTION_URL/") {
		t.Errorf("the printed manifest still has FUNCTION_URL:\n%s", out)
	}
}
