package slackops

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// slackHooksHosts are the hosts of Slack's response_urls: Slack's and
// GovSlack's.
var slackHooksHosts = []string{"hooks.slack.com", "hooks.slack-gov.com"}

// ErrResponseURLRefused means a response_url is not Slack's: not https on
// one of Slack's hooks hosts (nor on the host of a non-default
// SLACK_API_URL). Nothing is posted to it; the request is answered
// without it.
var ErrResponseURLRefused = errors.New("response_url refused: not https on hooks.slack.com or hooks.slack-gov.com")

// responseURLRule is where answers may be posted: https on Slack's hooks
// hosts, and, when the app calls a non-default Web API, on that API's
// host name with its scheme (or https).
type responseURLRule struct {
	// host and scheme are those of a non-default SLACK_API_URL; "" for
	// none.
	host, scheme string
}

func newResponseURLRule(apiURL string) responseURLRule {
	if apiURL == "" || apiURL == DefaultAPIURL {
		return responseURLRule{}
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Hostname() == "" {
		return responseURLRule{}
	}
	return responseURLRule{host: strings.ToLower(u.Hostname()), scheme: u.Scheme}
}

// check parses responseURL and returns it when answers may be posted
// there, else ErrResponseURLRefused naming the host (never the path,
// which works as a credential).
func (r responseURLRule) check(responseURL string) (*url.URL, error) {
	u, err := url.Parse(responseURL)
	if err != nil || u.Hostname() == "" || u.User != nil {
		return nil, ErrResponseURLRefused
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == "https" && (u.Port() == "" || u.Port() == "443") && slices.Contains(slackHooksHosts, host):
		return u, nil
	case r.host != "" && host == r.host && (u.Scheme == "https" || u.Scheme == r.scheme):
		return u, nil
	}
	return nil, fmt.Errorf("%w (it is %s on %s)", ErrResponseURLRefused, u.Scheme, host)
}
