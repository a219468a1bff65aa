package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/setup"
)

// integrations are the Slack app and the PagerDuty subscription, made
// through their APIs once the function has a URL.
type integrations struct {
	o      options
	opts   setup.Options
	r      *printing
	getenv func(string) string
	out    io.Writer
}

// storeSecret adds value as a new version of the secret, printing the
// command with where the value comes from, never the value.
func (in integrations) storeSecret(ctx context.Context, secret, from, value string) error {
	c := setup.Command{Args: []string{"gcloud", "secrets", "versions", "add", secret, "--project=" + in.opts.Project, "--data-file=-"}, Stdin: value, StdinFrom: from}
	if _, err := in.r.Run(ctx, c); err != nil {
		return fmt.Errorf("store %s: %w", from, err)
	}
	return nil
}

// ghVariable returns the repository variable name, "" when unset or gh
// cannot say.
func (in integrations) ghVariable(ctx context.Context, name string) string {
	if !in.opts.GitHub {
		return ""
	}
	out, err := in.r.Run(ctx, setup.Command{Args: []string{"gh", "variable", "list", "--repo=" + in.opts.Repo, "--json=name,value"}})
	if err != nil {
		return ""
	}
	var vars []struct{ Name, Value string }
	_ = json.Unmarshal([]byte(out), &vars)
	for _, v := range vars {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// slackApp creates the Slack app from the manifest, or updates it, with
// a configuration token; without one it prints the manifest to paste.
func (in integrations) slackApp(ctx context.Context) error {
	fmt.Fprintln(in.out, "\nSlack app:")
	if in.opts.URL == "" {
		fmt.Fprintln(in.out, "  after the first deploy gives the function its URL: push to main, then run setup again")
		return nil
	}
	text, err := os.ReadFile(in.o.manifest)
	if err != nil {
		return fmt.Errorf("read the Slack app manifest: %w (run setup from the repository's root, or pass -manifest)", err)
	}
	token := firstOf(in.o.slackConfigToken, in.getenv("SLACK_CONFIG_TOKEN"))
	if token == "" {
		fmt.Fprintln(in.out, "  No SLACK_CONFIG_TOKEN: create the app by hand at https://api.slack.com/apps → Create New App → From an app manifest, with:")
		fmt.Fprintln(in.out)
		fmt.Fprint(in.out, indent(setup.FilledManifest(text, in.opts.URL), "    "))
		fmt.Fprintln(in.out, "\n  (or generate an app configuration token there, Your App Configuration Tokens, and run setup with SLACK_CONFIG_TOKEN)")
		return nil
	}
	manifest, err := setup.SlackManifest(text, in.opts.URL)
	if err != nil {
		return err
	}
	appID := firstOf(in.o.slackAppID, in.getenv("SLACK_APP_ID"), in.ghVariable(ctx, "SLACK_APP_ID"))
	switch {
	case in.o.dryRun && appID == "":
		fmt.Fprintln(in.out, "  would create the app from the manifest (apps.manifest.create)")
		return nil
	case in.o.dryRun:
		fmt.Fprintf(in.out, "  would update app %s from the manifest (apps.manifest.update)\n", appID)
		return nil
	}
	api := slack.New("", slack.OptionAPIURL(firstOf(in.getenv("SLACK_API_URL"), slack.APIURL)))
	app, err := setup.EnsureSlackApp(ctx, api, token, appID, manifest)
	if err != nil {
		return err
	}
	if !app.Created {
		fmt.Fprintf(in.out, "  app %s updated from the manifest\n", app.ID)
		return nil
	}
	fmt.Fprintf(in.out, "  created app %s\n", app.ID)
	if app.SigningSecret != "" {
		if err := in.storeSecret(ctx, "slack-signing-secret", "the new app's signing secret", app.SigningSecret); err != nil {
			return err
		}
	}
	set := setup.Command{Args: []string{"gh", "variable", "set", "SLACK_APP_ID", "--repo=" + in.opts.Repo, "--body=" + app.ID}}
	if in.opts.GitHub {
		if _, err := in.r.Run(ctx, set); err != nil {
			return fmt.Errorf("remember the app's id: %w", err)
		}
	} else {
		fmt.Fprintf(in.out, "  so later runs update it: %s (or export SLACK_APP_ID=%s)\n", set, app.ID)
	}
	install := firstOf(app.InstallURL, "https://api.slack.com/apps/"+app.ID+"/install-on-team")
	fmt.Fprintf(in.out, "  Install it to the workspace (a click: %s) and copy its Bot User OAuth Token.\n", install)
	if in.opts.Ask != nil {
		token, err := in.opts.Ask("SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-…) the install shows")
		if err != nil {
			return err
		}
		if token != "" {
			return in.storeSecret(ctx, "slack-bot-token", "$SLACK_BOT_TOKEN", token)
		}
	}
	fmt.Fprintln(in.out, "  Then store it:")
	fmt.Fprintf(in.out, "    read -rs SLACK_BOT_TOKEN && printf %%s \"$SLACK_BOT_TOKEN\" | gcloud secrets versions add slack-bot-token --project=%s --data-file=-\n", in.opts.Project)
	return nil
}

// pagerDuty finds or creates the webhook subscription for the function's
// URL and stores a new subscription's signing secret.
func (in integrations) pagerDuty(ctx context.Context) error {
	fmt.Fprintln(in.out, "\nPagerDuty webhook subscription:")
	if in.opts.URL == "" {
		fmt.Fprintln(in.out, "  after the first deploy gives the function its URL: push to main, then run setup again")
		return nil
	}
	token := in.opts.SecretValues["PAGERDUTY_API_TOKEN"]
	if token == "" {
		fmt.Fprintf(in.out, "  No PAGERDUTY_API_TOKEN: create a full-access REST API key in PagerDuty (Integrations → API Access Keys), then run setup again with it, or:\n")
		fmt.Fprintf(in.out, "    go run ./cmd/pdwebhook create -url %s -scope %s -secret-out pd.secret -print-secret=false\n", in.opts.URL, in.o.pdScope)
		fmt.Fprintf(in.out, "    gcloud secrets versions add pagerduty-webhook-secret --project=%s --data-file=pd.secret && rm pd.secret\n", in.opts.Project)
		return nil
	}
	c := pagerduty.NewClient(pagerduty.ClientOptions{Token: token, URL: firstOf(in.getenv("PAGERDUTY_API_URL"), pagerduty.DefaultAPIURL)})
	filter := pagerduty.SubscriptionFilter{Type: pdScopes[in.o.pdScope], ID: in.o.pdID}
	sub, created, err := setup.EnsureSubscription(ctx, c, in.opts.URL, filter, in.o.dryRun)
	switch {
	case err != nil:
		return err
	case sub.ID == "":
		fmt.Fprintf(in.out, "  would create a subscription for %s → %s\n", in.o.pdScope, in.opts.URL)
		return nil
	case !created:
		fmt.Fprintf(in.out, "  subscription %s delivers to %s\n", sub.ID, in.opts.URL)
		if !sub.Active || sub.DeliveryMethod.TemporarilyDisabled {
			fmt.Fprintf(in.out, "  but it is disabled: enable it in PagerDuty (Integrations → Generic Webhooks (v3)), then go run ./cmd/pdwebhook ping %s\n", sub.ID)
		}
		return nil
	}
	fmt.Fprintf(in.out, "  created subscription %s for %s → %s\n", sub.ID, in.o.pdScope, in.opts.URL)
	if sub.DeliveryMethod.Secret == "" {
		return fmt.Errorf("PagerDuty returned no signing secret for subscription %s: delete it in PagerDuty and run setup again", sub.ID)
	}
	if err := in.storeSecret(ctx, "pagerduty-webhook-secret", "the subscription's signing secret", sub.DeliveryMethod.Secret); err != nil {
		return fmt.Errorf("%w; the secret is lost: delete subscription %s in PagerDuty and run setup again", err, sub.ID)
	}
	fmt.Fprintln(in.out, "  Deploy again (re-run the workflow) so new instances read it.")
	return nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
