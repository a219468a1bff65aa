package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// client builds the REST client from the environment.
func client(getenv func(string) string) (*pagerduty.Client, error) {
	token := strings.TrimSpace(getenv("PAGERDUTY_API_TOKEN"))
	if token == "" {
		return nil, errors.New("PAGERDUTY_API_TOKEN is not set: create a REST API key in PagerDuty (Integrations → API Access Keys; full access to create subscriptions) and export it")
	}
	base := getenv("PAGERDUTY_API_URL")
	if base == "" {
		base = pagerduty.DefaultAPIURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("PAGERDUTY_API_URL %q must be an http(s) URL such as %s", base, pagerduty.DefaultAPIURL)
	}
	return pagerduty.NewClient(pagerduty.ClientOptions{Token: token, URL: base}), nil
}

// failed is err of what the command was doing, read by the person who
// runs it: the status, PagerDuty's message and what usually fixes it.
func failed(doing string, err error) error {
	var apiErr *pagerduty.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	msg := fmt.Sprintf("%d %s", apiErr.Status, http.StatusText(apiErr.Status))
	if apiErr.Message != "" && apiErr.Message != http.StatusText(apiErr.Status) {
		msg += ": " + apiErr.Message
	}
	if len(apiErr.Errors) > 0 {
		msg += " (" + strings.Join(apiErr.Errors, "; ") + ")"
	}
	switch apiErr.Status {
	case http.StatusUnauthorized:
		msg += ": check PAGERDUTY_API_TOKEN (and PAGERDUTY_API_URL: EU accounts use https://api.eu.pagerduty.com)"
	case http.StatusForbidden:
		msg += ": the API key may be read-only, or its user may not manage webhooks; use a full-access key"
	case http.StatusTooManyRequests:
		if wait := incident.RetryAfter(err); wait > 0 {
			msg += fmt.Sprintf(": rate limited, try again in %.0f s", wait.Seconds())
		} else {
			msg += ": rate limited, try again in a minute"
		}
	}
	return &commandError{text: doing + ": PagerDuty answered " + msg, err: err}
}

// commandError is a failure as the command shows it, keeping the client's
// error for errors.Is and errors.As.
type commandError struct {
	text string
	err  error
}

func (e *commandError) Error() string { return e.text }
func (e *commandError) Unwrap() error { return e.err }
