package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
)

// Operations on webhook subscriptions (see the incident operations).
const (
	opSubscriptions      = "pagerduty.webhook_subscriptions"
	opSubscription       = "pagerduty.webhook_subscription"
	opCreateSubscription = "pagerduty.create_webhook_subscription"
	opPingSubscription   = "pagerduty.ping_webhook_subscription"
)

// maxSubscriptionPages bounds listing, so a server that always answers
// more=true cannot keep a caller busy forever (10 000 subscriptions).
const maxSubscriptionPages = 100

// WebhookSubscription is a V3 webhook subscription as the REST API
// returns it.
type WebhookSubscription struct {
	ID             string             `json:"id,omitempty"`
	Type           string             `json:"type"`
	Active         bool               `json:"active"`
	Description    string             `json:"description,omitempty"`
	Events         []string           `json:"events"`
	Filter         SubscriptionFilter `json:"filter"`
	DeliveryMethod DeliveryMethod     `json:"delivery_method"`
}

// SubscriptionFilter is a subscription's scope: a service, a team or the
// whole account.
type SubscriptionFilter struct {
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

// WebhookEvents are the event types a new subscription receives: every
// incident event the function acts on, spelled as PagerDuty's V3 webhook
// documentation lists them. The incident type change is
// incident.incident_type.changed there (with the incident. prefix).
var WebhookEvents = []string{
	"incident.triggered",
	"incident.acknowledged",
	"incident.unacknowledged",
	"incident.resolved",
	"incident.reopened",
	"incident.escalated",
	"incident.reassigned",
	"incident.delegated",
	"incident.priority_updated",
	"incident.annotated",
	"incident.responder.added",
	"incident.responder.replied",
	"incident.status_update_published",
	"incident.conference_bridge.updated",
	"incident.service_updated",
	"incident.incident_type.changed",
	"incident.custom_field_values.updated",
	"incident.workflow.started",
	"incident.workflow.completed",
}

// NewWebhookSubscription is an active subscription delivering
// WebhookEvents of filter's scope to url.
func NewWebhookSubscription(url string, filter SubscriptionFilter, description string) WebhookSubscription {
	return WebhookSubscription{
		Type:        "webhook_subscription",
		Active:      true,
		Description: description,
		Events:      WebhookEvents,
		Filter:      filter,
		DeliveryMethod: DeliveryMethod{
			Type:          "http_delivery_method",
			URL:           url,
			CustomHeaders: []CustomHeader{},
		},
	}
}

// Delivers reports whether s delivers to url for filter. A trailing slash
// does not make another URL: the function answers both.
func (s WebhookSubscription) Delivers(url string, filter SubscriptionFilter) bool {
	if strings.TrimRight(s.DeliveryMethod.URL, "/") != strings.TrimRight(url, "/") {
		return false
	}
	if s.Filter.Type != filter.Type {
		return false
	}
	return filter.Type == "account_reference" || s.Filter.ID == filter.ID
}

// WebhookSubscriptions returns every webhook subscription of the account
// (GET /webhook_subscriptions, page by page).
func (c *Client) WebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	var all []WebhookSubscription
	more, err := list(ctx, c, opSubscriptions, "/webhook_subscriptions", "webhook_subscriptions", nil, maxSubscriptionPages, func(s WebhookSubscription) bool {
		all = append(all, s)
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case more:
		return nil, &incident.Error{Kind: incident.KindRefused, Op: opSubscriptions, Err: fmt.Errorf("more than %d pages", maxSubscriptionPages)}
	}
	return all, nil
}

// WebhookSubscription returns the subscription id
// (GET /webhook_subscriptions/{id}).
func (c *Client) WebhookSubscription(ctx context.Context, id string) (WebhookSubscription, error) {
	var out struct {
		Subscription WebhookSubscription `json:"webhook_subscription"`
	}
	if err := c.get(ctx, opSubscription+" "+id, "/webhook_subscriptions/"+escape(id), &out); err != nil {
		return WebhookSubscription{}, err
	}
	return out.Subscription, nil
}

// CreateWebhookSubscription creates sub (POST /webhook_subscriptions) and
// returns it as PagerDuty stored it, with the signing secret in
// DeliveryMethod.Secret: the only time PagerDuty returns it.
func (c *Client) CreateWebhookSubscription(ctx context.Context, sub WebhookSubscription) (WebhookSubscription, error) {
	var out struct {
		Subscription WebhookSubscription `json:"webhook_subscription"`
	}
	err := c.do(ctx, call{
		op: opCreateSubscription, method: http.MethodPost, path: "/webhook_subscriptions",
		body: struct {
			Subscription WebhookSubscription `json:"webhook_subscription"`
		}{sub},
		out: &out,
	})
	switch {
	case err != nil:
		return WebhookSubscription{}, err
	case out.Subscription.ID == "":
		return WebhookSubscription{}, &incident.Error{Kind: incident.KindMaybeDone, Op: opCreateSubscription,
			Err: errors.New("the answer has no webhook_subscription.id")}
	}
	return out.Subscription, nil
}

// PingWebhookSubscription asks PagerDuty to send the subscription a
// pagey.ping event (POST /webhook_subscriptions/{id}/ping).
func (c *Client) PingWebhookSubscription(ctx context.Context, id string) error {
	return c.do(ctx, call{op: opPingSubscription + " " + id, method: http.MethodPost, path: "/webhook_subscriptions/" + escape(id) + "/ping"})
}
