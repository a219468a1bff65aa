package setup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// Finding is one thing a check verified, with the fix when it failed.
type Finding struct {
	OK   bool
	What string
	Fix  string
}

// Findings turns a dry run's report into findings: what is missing,
// differs or waits, each with its fix; what is in place counts as one.
func (rep Report) Findings() []Finding {
	commands := func(cs []Command) string {
		var lines []string
		for _, c := range cs {
			lines = append(lines, c.String())
		}
		return strings.Join(lines, "\n")
	}
	out := []Finding{{OK: true, What: fmt.Sprintf("%d resources in place", len(rep.InPlace))}}
	for _, r := range rep.Planned {
		out = append(out, Finding{What: r.Name + " is missing", Fix: commands(r.Create)})
	}
	for _, r := range rep.Differs {
		out = append(out, Finding{What: r.Name + " has other settings", Fix: commands(r.Fix)})
	}
	for _, r := range rep.Pending {
		out = append(out, Finding{What: r.Name + " is missing", Fix: r.Pending + "\n" + commands(r.Create)})
	}
	return out
}

// checkTimeout bounds each HTTP check: a cold start is well under it.
const checkTimeout = 20 * time.Second

func get(ctx context.Context, client *http.Client, req *http.Request) (int, string, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header, nil
}

// CheckHealth asks the function's /healthz whether its configuration is
// valid. logs is the command that shows the problems, which the public
// answer leaves out.
func CheckHealth(ctx context.Context, client *http.Client, url, logs string) Finding {
	req, _ := http.NewRequest(http.MethodGet, strings.TrimRight(url, "/")+"/healthz", nil)
	status, body, _, err := get(ctx, client, req)
	f := Finding{What: "GET /healthz answers 200"}
	switch {
	case err != nil:
		f.Fix = fmt.Sprintf("the function is not reachable at %s: %v", url, err)
	case status == http.StatusOK:
		f.OK = true
	case status == http.StatusForbidden:
		f.Fix = "HTTP 403: the function does not accept unauthenticated calls; run setup again (it grants roles/run.invoker to allUsers, or says what to ask the organisation admin)"
	default:
		f.Fix = fmt.Sprintf("HTTP %d %q: the configuration has problems, named in the log at start: %s", status, body, logs)
	}
	return f
}

// CheckPing sends the function a pagey.ping signed with the webhook
// secret: 200 means it is configured, Slack takes its token and
// Firestore answers.
func CheckPing(ctx context.Context, client *http.Client, url, secret string) Finding {
	body := fmt.Sprintf(`{"event":{"id":"setup-check-%d","event_type":"pagey.ping","resource_type":"pagey","occurred_at":%q,"agent":null,"client":null,"data":{"message":"setup -check","type":"ping"}}}`,
		time.Now().UnixNano(), time.Now().UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-PagerDuty-Signature", pagerduty.Sign([]byte(body), []byte(secret)))
	status, answer, _, err := get(ctx, client, req)
	f := Finding{What: "a signed pagey.ping is answered 200 (Slack takes the token, Firestore answers)"}
	switch {
	case err != nil:
		f.Fix = fmt.Sprintf("the function is not reachable at %s: %v", url, err)
	case status == http.StatusOK:
		f.OK = true
	case status == http.StatusUnauthorized:
		f.Fix = "HTTP 401: the deployed function has another webhook secret than the latest version of pagerduty-webhook-secret; deploy again (re-run the workflow) so new instances read it"
	default:
		f.Fix = fmt.Sprintf("HTTP %d %q", status, answer)
	}
	return f
}

// ManifestScopes returns the bot scopes the Slack app manifest asks for.
func ManifestScopes(text []byte) ([]string, error) {
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
	}
	if err := yaml.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("read the Slack app manifest: %w", err)
	}
	return m.OAuth.Scopes.Bot, nil
}

// CheckSlackScopes calls auth.test with the bot token and compares the
// scopes Slack says it has (the X-OAuth-Scopes header) with want.
func CheckSlackScopes(ctx context.Context, client *http.Client, apiURL, token string, want []string) Finding {
	f := Finding{What: "the Slack bot token has the manifest's scopes"}
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(apiURL, "/")+"/auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	status, body, header, err := get(ctx, client, req)
	switch {
	case err != nil:
		f.Fix = fmt.Sprintf("Slack is not reachable: %v", err)
		return f
	case status != http.StatusOK || !strings.Contains(body, `"ok":true`):
		f.Fix = fmt.Sprintf("Slack refused the token in slack-bot-token (HTTP %d, %s): store the installed app's Bot User OAuth Token there", status, body)
		return f
	}
	var have []string
	for s := range strings.SplitSeq(header.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			have = append(have, s)
		}
	}
	var missing []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		f.Fix = "the token lacks " + strings.Join(missing, ", ") + ": update the app from the manifest (setup with SLACK_CONFIG_TOKEN), reinstall it to the workspace, and store the new token in slack-bot-token"
		return f
	}
	f.OK = true
	return f
}

// CheckSubscription finds the PagerDuty subscription delivering filter's
// incidents to url and checks it is enabled.
func CheckSubscription(ctx context.Context, c *pagerduty.Client, url string, filter pagerduty.SubscriptionFilter) Finding {
	f := Finding{What: "a PagerDuty webhook subscription delivers to the function, enabled"}
	sub, _, err := EnsureSubscription(ctx, c, url, filter, true)
	switch {
	case err != nil:
		f.Fix = err.Error()
	case sub.ID == "":
		f.Fix = "there is none for " + url + ": run setup with PAGERDUTY_API_TOKEN (and -pagerduty-scope if not the account)"
	case !sub.Active || sub.DeliveryMethod.TemporarilyDisabled:
		f.Fix = "subscription " + sub.ID + " is disabled (PagerDuty disables one whose deliveries keep failing): fix the function, then enable it in PagerDuty (Integrations → Generic Webhooks (v3))"
	default:
		f.OK = true
	}
	return f
}
