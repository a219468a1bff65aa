package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/setup"
)

// check verifies a deployed installation without changing it: every
// resource setup makes, then the function itself, the Slack token's
// scopes and the PagerDuty subscription. Each problem is printed with its
// fix; any makes the command fail.
func (in integrations) check(ctx context.Context) error {
	fmt.Fprintf(in.out, "Checking project %s in %s for %s.\n", in.opts.Project, in.opts.Region, in.opts.Repo)
	rep, err := setup.Apply(ctx, in.r.Runner, setup.Resources(in.opts), true, in.opts.Project, in.out)
	if err != nil {
		return err
	}
	findings := rep.Findings()
	if in.opts.URL == "" {
		findings = append(findings, setup.Finding{What: "the function is deployed", Fix: "push to main (or re-run the workflow): the deploy job deploys it"})
	} else {
		findings = append(findings, in.checkFunction(ctx)...)
	}

	fmt.Fprintln(in.out)
	failed := 0
	for _, f := range findings {
		if f.OK {
			fmt.Fprintf(in.out, "ok    %s\n", f.What)
			continue
		}
		failed++
		fmt.Fprintf(in.out, "FAIL  %s\n", f.What)
		for line := range strings.SplitSeq(f.Fix, "\n") {
			fmt.Fprintf(in.out, "      %s\n", line)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed; each is printed above with its fix", failed, len(findings))
	}
	fmt.Fprintln(in.out, "All checks passed.")
	return nil
}

// secret reads the latest version of a secret through gcloud; the
// command is printed, the value is not.
func (in integrations) secret(ctx context.Context, name string) (string, error) {
	v, err := in.r.Run(ctx, setup.Command{Args: []string{"gcloud", "secrets", "versions", "access", "latest", "--secret=" + name, "--project=" + in.opts.Project}})
	return strings.TrimSpace(v), err
}

func (in integrations) checkFunction(ctx context.Context) []setup.Finding {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	logs := fmt.Sprintf("gcloud functions logs read %s --project=%s --region=%s --limit=50", in.opts.Function, in.opts.Project, in.opts.Region)
	out := []setup.Finding{setup.CheckHealth(ctx, client, in.opts.URL, logs)}

	if secret, err := in.secret(ctx, "pagerduty-webhook-secret"); err != nil || secret == "" {
		fix := "pagerduty-webhook-secret has no version: run setup with PAGERDUTY_API_TOKEN"
		if err == nil {
			fix = "pagerduty-webhook-secret's latest version is empty: run setup with PAGERDUTY_API_TOKEN"
		} else {
			fix += " (" + err.Error() + ")"
		}
		out = append(out, setup.Finding{What: "the webhook secret can be read", Fix: fix})
	} else {
		secret, _, _ = strings.Cut(secret, ",")
		out = append(out, setup.CheckPing(ctx, client, in.opts.URL, secret))
	}

	text, err := os.ReadFile(in.o.manifest)
	scopes, err2 := setup.ManifestScopes(text)
	switch token, err3 := in.secret(ctx, "slack-bot-token"); {
	case err != nil || err2 != nil:
		out = append(out, setup.Finding{What: "the Slack app manifest is readable", Fix: fmt.Sprintf("%v%v (run from the repository's root, or pass -manifest)", err, err2)})
	case err3 != nil || token == "":
		out = append(out, setup.Finding{What: "the Slack bot token can be read", Fix: "slack-bot-token has no version: install the Slack app and store its Bot User OAuth Token there"})
	default:
		out = append(out, setup.CheckSlackScopes(ctx, client, firstOf(in.getenv("SLACK_API_URL"), slack.APIURL), token, scopes))
	}

	token := in.opts.SecretValues["PAGERDUTY_API_TOKEN"]
	if token == "" {
		token, _ = in.secret(ctx, "pagerduty-api-token")
	}
	if token == "" {
		out = append(out, setup.Finding{What: "the PagerDuty subscription can be checked", Fix: "no PAGERDUTY_API_TOKEN and pagerduty-api-token has no version: store a REST API key there"})
	} else {
		c := pagerduty.NewClient(pagerduty.ClientOptions{Token: token, URL: firstOf(in.getenv("PAGERDUTY_API_URL"), pagerduty.DefaultAPIURL)})
		out = append(out, setup.CheckSubscription(ctx, c, in.opts.URL, pagerduty.SubscriptionFilter{Type: pdScopes[in.o.pdScope], ID: in.o.pdID}))
	}
	return out
}
