package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIURL is the PagerDuty REST API of US accounts; EU accounts use
// https://api.eu.pagerduty.com (set PAGERDUTY_API_URL).
const DefaultAPIURL = "https://api.pagerduty.com"

const (
	// acceptHeader selects version 2 of the REST API, which PagerDuty
	// documents as required on every request.
	acceptHeader = "application/vnd.pagerduty+json;version=2"
	userAgent    = "incident-channels-pdwebhook"
	// pageSize is the largest page the REST API serves.
	pageSize = 100
	// maxPages bounds listing, so a server that always answers more=true
	// cannot keep the command busy forever (10 000 subscriptions).
	maxPages = 100
	// maxErrorBody is how much of an error answer is read for its message.
	maxErrorBody = 64 << 10
)

// Subscription is a PagerDuty V3 webhook subscription as the REST API
// returns it.
type Subscription struct {
	ID             string         `json:"id,omitempty"`
	Type           string         `json:"type"`
	Active         bool           `json:"active"`
	Description    string         `json:"description,omitempty"`
	Events         []string       `json:"events"`
	Filter         Filter         `json:"filter"`
	DeliveryMethod DeliveryMethod `json:"delivery_method"`
}

// Filter is a subscription's scope: a service, a team or the whole account.
type Filter struct {
	// Type is service_reference, team_reference or account_reference.
	Type string `json:"type"`
	// ID is the service or team id; PagerDuty needs none for the account.
	ID string `json:"id,omitempty"`
}

// DeliveryMethod says where PagerDuty posts the webhooks.
type DeliveryMethod struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type"`
	URL  string `json:"url"`
	// Secret is the signing secret. PagerDuty returns it only in the answer
	// to the create request; list and get answer null.
	Secret string `json:"secret,omitempty"`
	// TemporarilyDisabled becomes true when the URL keeps rejecting
	// deliveries.
	TemporarilyDisabled bool           `json:"temporarily_disabled,omitempty"`
	CustomHeaders       []CustomHeader `json:"custom_headers"`
}

// CustomHeader is a header PagerDuty adds to each delivery. GET answers
// redact its value.
type CustomHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// APIError is an unsuccessful answer of the PagerDuty REST API.
type APIError struct {
	Status     int    // HTTP status code
	Message    string // error.message, e.g. "Invalid Input Provided"
	Errors     []string
	RetryAfter string // the Retry-After header of a 429, if any
}

// Error names the status, PagerDuty's message and what usually fixes it.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if len(e.Errors) > 0 {
		msg += " (" + strings.Join(e.Errors, "; ") + ")"
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += ": check PAGERDUTY_API_TOKEN (and PAGERDUTY_API_URL: EU accounts use https://api.eu.pagerduty.com)"
	case http.StatusForbidden:
		msg += ": the API key may be read-only, or its user may not manage webhooks; use a full-access key"
	case http.StatusTooManyRequests:
		if e.RetryAfter != "" {
			msg += ": rate limited, try again in " + e.RetryAfter + " s"
		} else {
			msg += ": rate limited, try again in a minute"
		}
	}
	return "PagerDuty answered " + msg
}

// Client calls the webhook subscription endpoints of the PagerDuty REST API.
type Client struct {
	BaseURL string // without a trailing slash
	Token   string // REST API key; sent only in the Authorization header
	HTTP    *http.Client
}

// NewClient returns a Client for baseURL with a bounded HTTP timeout.
func NewClient(baseURL, token string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		Token:   token,
		HTTP:    &http.Client{Timeout: 30 * time.Second},
	}
}

// List returns every webhook subscription of the account, page by page.
func (c *Client) List(ctx context.Context) ([]Subscription, error) {
	var all []Subscription
	for page := 0; page < maxPages; page++ {
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(len(all))}}
		var resp struct {
			Subscriptions []Subscription `json:"webhook_subscriptions"`
			More          bool           `json:"more"`
		}
		if err := c.do(ctx, http.MethodGet, "/webhook_subscriptions?"+q.Encode(), nil, &resp); err != nil {
			return nil, fmt.Errorf("list webhook subscriptions: %w", err)
		}
		all = append(all, resp.Subscriptions...)
		if !resp.More || len(resp.Subscriptions) == 0 {
			return all, nil
		}
	}
	return nil, fmt.Errorf("list webhook subscriptions: more than %d pages", maxPages)
}

// Get returns the subscription with the given id.
func (c *Client) Get(ctx context.Context, id string) (Subscription, error) {
	var resp struct {
		Subscription Subscription `json:"webhook_subscription"`
	}
	if err := c.do(ctx, http.MethodGet, "/webhook_subscriptions/"+url.PathEscape(id), nil, &resp); err != nil {
		return Subscription{}, fmt.Errorf("get webhook subscription %s: %w", id, err)
	}
	return resp.Subscription, nil
}

// Create creates sub and returns it as PagerDuty stored it, with the
// signing secret in DeliveryMethod.Secret (the only time it is returned).
func (c *Client) Create(ctx context.Context, sub Subscription) (Subscription, error) {
	req := struct {
		Subscription Subscription `json:"webhook_subscription"`
	}{sub}
	var resp struct {
		Subscription Subscription `json:"webhook_subscription"`
	}
	if err := c.do(ctx, http.MethodPost, "/webhook_subscriptions", req, &resp); err != nil {
		return Subscription{}, fmt.Errorf("create webhook subscription: %w", err)
	}
	if resp.Subscription.ID == "" {
		return Subscription{}, errors.New("create webhook subscription: the answer has no webhook_subscription.id")
	}
	return resp.Subscription, nil
}

// Ping asks PagerDuty to send the subscription a pagey.ping event.
func (c *Client) Ping(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodPost, "/webhook_subscriptions/"+url.PathEscape(id)+"/ping", nil, nil); err != nil {
		return fmt.Errorf("ping webhook subscription %s: %w", id, err)
	}
	return nil
}

// do sends one request and decodes a 2xx JSON answer into out (unless nil).
// Errors never contain the token.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Token token="+c.Token)
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode the %d answer: %w", resp.StatusCode, err)
	}
	return nil
}

// apiError reads PagerDuty's {"error":{"message","code","errors"}} body.
func apiError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	var body struct {
		Error struct {
			Message string          `json:"message"`
			Errors  json.RawMessage `json:"errors"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if json.Unmarshal(b, &body) == nil {
		e.Message = body.Error.Message
		// errors is a list of strings; tolerate a single string.
		var list []string
		var one string
		switch {
		case json.Unmarshal(body.Error.Errors, &list) == nil:
			e.Errors = list
		case json.Unmarshal(body.Error.Errors, &one) == nil && one != "":
			e.Errors = []string{one}
		}
	}
	return e
}
