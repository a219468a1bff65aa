package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// urlPlaceholder is where slack-app-manifest.yaml wants the function's URL.
const urlPlaceholder = "FUNCTION_URL"

// SlackManifest returns the manifest's YAML text with the function's url
// in its request URLs, as the JSON Slack's manifest methods take.
func SlackManifest(text []byte, url string) (json.RawMessage, error) {
	filled := strings.ReplaceAll(string(text), urlPlaceholder, strings.TrimRight(url, "/"))
	var m map[string]any
	if err := yaml.Unmarshal([]byte(filled), &m); err != nil {
		return nil, fmt.Errorf("read the Slack app manifest: %w", err)
	}
	return json.Marshal(m)
}

// FilledManifest returns the manifest's YAML text with the function's url
// in its request URLs, for a user to paste.
func FilledManifest(text []byte, url string) string {
	return strings.ReplaceAll(string(text), urlPlaceholder, strings.TrimRight(url, "/"))
}

// SlackApp is the Slack app EnsureSlackApp made or updated.
type SlackApp struct {
	ID      string
	Created bool
	// SigningSecret and InstallURL come with a new app only.
	SigningSecret, InstallURL string
}

// EnsureSlackApp updates the app appID to manifest, or creates the app
// when appID is empty, with an app configuration token.
func EnsureSlackApp(ctx context.Context, api *slack.Client, configToken, appID string, manifest json.RawMessage) (SlackApp, error) {
	if appID != "" {
		if _, err := api.UpdateManifestRawContext(ctx, manifest, configToken, appID); err != nil {
			return SlackApp{}, slackFailed("update Slack app "+appID, err)
		}
		return SlackApp{ID: appID}, nil
	}
	resp, err := api.CreateManifestRawContext(ctx, manifest, configToken)
	if err != nil {
		return SlackApp{}, slackFailed("create the Slack app", err)
	}
	app := SlackApp{ID: resp.AppId, Created: true, InstallURL: resp.OAuthAuthorizeUrl}
	if resp.Credentials != nil {
		app.SigningSecret = resp.Credentials.SigningSecret
	}
	return app, nil
}

// slackFailed names the fix for the refusals a user meets.
func slackFailed(doing string, err error) error {
	var se slack.SlackErrorResponse
	code := err.Error()
	if errors.As(err, &se) {
		code = se.Err
	}
	switch {
	case strings.Contains(code, "invalid_auth"), strings.Contains(code, "token_expired"), strings.Contains(code, "not_authed"):
		return fmt.Errorf("%s: %w: the app configuration token is refused (it lasts 12 hours): generate one at https://api.slack.com/apps (Your App Configuration Tokens) and set SLACK_CONFIG_TOKEN", doing, err)
	case strings.Contains(code, "invalid_app_id"), strings.Contains(code, "app_not_found"):
		return fmt.Errorf("%s: %w: no such app for this token; unset SLACK_APP_ID to create a new one", doing, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// EnsureSubscription returns the PagerDuty webhook subscription that
// delivers filter's incidents to url, creating it unless one exists or
// dryRun. Only a created one carries its signing secret.
func EnsureSubscription(ctx context.Context, c *pagerduty.Client, url string, filter pagerduty.SubscriptionFilter, dryRun bool) (sub pagerduty.WebhookSubscription, created bool, err error) {
	subs, err := c.WebhookSubscriptions(ctx)
	if err != nil {
		return sub, false, fmt.Errorf("list PagerDuty webhook subscriptions: %w", err)
	}
	for _, s := range subs {
		if s.Delivers(url, filter) {
			return s, false, nil
		}
	}
	if dryRun {
		return sub, false, nil
	}
	sub, err = c.CreateWebhookSubscription(ctx, pagerduty.NewWebhookSubscription(url, filter, "Incident Channels: one Slack channel per incident"))
	if err != nil {
		return sub, false, fmt.Errorf("create the PagerDuty webhook subscription: %w", err)
	}
	return sub, true, nil
}
