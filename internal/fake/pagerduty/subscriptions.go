package pagerduty

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// WebhookEventTypes are the event types PagerDuty's V3 webhook
// documentation lists; a subscription to any other is refused, as
// PagerDuty refuses invalid input.
var WebhookEventTypes = []string{
	"incident.acknowledged", "incident.annotated", "incident.conference_bridge.updated",
	"incident.custom_field_values.updated", "incident.delegated", "incident.escalated",
	"incident.incident_type.changed", "incident.priority_updated", "incident.reassigned",
	"incident.reopened", "incident.resolved", "incident.responder.added",
	"incident.responder.replied", "incident.service_updated", "incident.status_update_published",
	"incident.triggered", "incident.unacknowledged", "incident.workflow.started",
	"incident.workflow.completed", "service.created", "service.deleted", "service.updated",
}

// pageLimit is the largest page PagerDuty serves.
const pageLimit = 100

// Subscription is a V3 webhook subscription the fake stores, in the
// shape of the REST API's webhook_subscription.
type Subscription struct {
	ID             string               `json:"id"`
	Type           string               `json:"type"`
	Active         bool                 `json:"active"`
	Description    string               `json:"description"`
	Events         []string             `json:"events"`
	Filter         SubscriptionFilter   `json:"filter"`
	DeliveryMethod SubscriptionDelivery `json:"delivery_method"`
}

// SubscriptionFilter is a subscription's scope.
type SubscriptionFilter struct {
	// Type is service_reference, team_reference or account_reference.
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// SubscriptionDelivery is where PagerDuty posts a subscription's
// webhooks.
type SubscriptionDelivery struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	URL  string `json:"url"`
	// Secret is the signing secret; the fake answers it only to the
	// create request, as PagerDuty does.
	Secret              string               `json:"secret,omitempty"`
	TemporarilyDisabled bool                 `json:"temporarily_disabled"`
	CustomHeaders       []SubscriptionHeader `json:"custom_headers"`
}

// SubscriptionHeader is a header PagerDuty adds to each delivery.
type SubscriptionHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// subscriptions is the fake's webhook subscription state; Server.mu
// guards it.
type subscriptions struct {
	list  []Subscription // with their secrets
	pings []string
	// maxLimit is the largest page the fake serves; 0 is PagerDuty's
	// 100.
	maxLimit int
	// leakSecrets answers list and get with the secrets too.
	leakSecrets bool
}

// AddSubscription stores a subscription as if created earlier, with the
// next id (PSUB001, PSUB002, …), its delivery method's id (PDM001, …)
// and the secret "secret-of-" + id, and returns the id.
func (s *Server) AddSubscription(sub Subscription) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addSubscription(sub)
}

// addSubscription is AddSubscription; s.mu is held.
func (s *Server) addSubscription(sub Subscription) string {
	n := len(s.subs.list) + 1
	sub.ID = fmt.Sprintf("PSUB%03d", n)
	sub.DeliveryMethod.ID = fmt.Sprintf("PDM%03d", n)
	sub.DeliveryMethod.Secret = "secret-of-" + sub.ID
	sub.Events = slices.Clone(sub.Events)
	// PagerDuty answers no custom headers as [], never null.
	sub.DeliveryMethod.CustomHeaders = append([]SubscriptionHeader{}, sub.DeliveryMethod.CustomHeaders...)
	s.subs.list = append(s.subs.list, sub)
	return sub.ID
}

// Subscriptions returns the stored subscriptions, with their secrets.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs.list)
}

// Pings returns the ids of the subscriptions pinged, in order.
func (s *Server) Pings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs.pings)
}

// SetMaxLimit sets the largest page of webhook subscriptions the fake
// serves, whatever limit the client asks for (PagerDuty's is 100), so
// that a test sees a client page through a short list.
func (s *Server) SetMaxLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs.maxLimit = n
}

// LeakSubscriptionSecrets makes list and get answer each subscription's
// secret too, as a broken server might, for tests that a caller never
// shows it.
func (s *Server) LeakSubscriptionSecrets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs.leakSecrets = true
}

// routeSubscriptions answers the webhook subscription endpoints; parts
// is the path's segments, starting with "webhook_subscriptions".
func (s *Server) routeSubscriptions(w http.ResponseWriter, r *http.Request, parts []string, body []byte) {
	switch {
	case r.Method == http.MethodGet && len(parts) == 1:
		s.listSubscriptions(w, r)
	case r.Method == http.MethodPost && len(parts) == 1:
		s.createSubscription(w, body)
	case r.Method == http.MethodGet && len(parts) == 2:
		s.getSubscription(w, parts[1])
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "ping":
		s.pingSubscription(w, parts[1])
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", 0)
	}
}

// subscriptionJSON is a subscription as list and get answer it: secret
// null; s.mu is held.
func (s *Server) subscriptionJSON(sub Subscription) map[string]any {
	b, _ := json.Marshal(sub)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	dm := v["delivery_method"].(map[string]any)
	dm["secret"] = nil
	if s.subs.leakSecrets {
		dm["secret"] = sub.DeliveryMethod.Secret
	}
	return v
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	limit, err1 := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, err2 := strconv.Atoi(r.URL.Query().Get("offset"))
	if err1 != nil || err2 != nil || limit < 1 || offset < 0 {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "limit and offset must be numbers")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	limit = min(limit, pageLimit)
	if s.subs.maxLimit > 0 {
		limit = min(limit, s.subs.maxLimit)
	}
	page := []map[string]any{}
	for i := offset; i < len(s.subs.list) && len(page) < limit; i++ {
		page = append(page, s.subscriptionJSON(s.subs.list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"webhook_subscriptions": page, "limit": limit, "offset": offset,
		"more": offset+len(page) < len(s.subs.list), "total": nil,
	})
}

// subscription returns the index of the subscription id, or -1; s.mu is
// held.
func (s *Server) subscription(id string) int {
	return slices.IndexFunc(s.subs.list, func(sub Subscription) bool { return sub.ID == id })
}

func (s *Server) getSubscription(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.subscription(id)
	if i < 0 {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook_subscription": s.subscriptionJSON(s.subs.list[i])})
}

// pingSubscription answers POST /webhook_subscriptions/{id}/ping with 202
// and no body; the fake sends no pagey.ping.
func (s *Server) pingSubscription(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subscription(id) < 0 {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	s.subs.pings = append(s.subs.pings, id)
	w.WriteHeader(http.StatusAccepted)
}

// createSubscription answers POST /webhook_subscriptions with 200 (as the
// API reference documents) and the subscription, its secret included.
func (s *Server) createSubscription(w http.ResponseWriter, body []byte) {
	var req struct {
		Subscription *Subscription `json:"webhook_subscription"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Subscription == nil {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "webhook_subscription is required")
		return
	}
	sub := *req.Subscription
	var errs []string
	if sub.Type != "webhook_subscription" {
		errs = append(errs, "type must be webhook_subscription")
	}
	if sub.DeliveryMethod.Type != "http_delivery_method" || sub.DeliveryMethod.URL == "" {
		errs = append(errs, "delivery_method needs type http_delivery_method and a url")
	}
	if sub.DeliveryMethod.Secret != "" {
		errs = append(errs, "delivery_method.secret is read-only")
	}
	switch sub.Filter.Type {
	case "service_reference", "team_reference":
		if sub.Filter.ID == "" {
			errs = append(errs, "filter.id is required for "+sub.Filter.Type)
		}
	case "account_reference":
	default:
		errs = append(errs, "filter.type must be account_reference, service_reference or team_reference")
	}
	if len(sub.Events) == 0 {
		errs = append(errs, "events must not be empty")
	}
	for _, e := range sub.Events {
		if !slices.Contains(WebhookEventTypes, e) {
			errs = append(errs, fmt.Sprintf("Event type %q is not valid", e))
		}
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, errs...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addSubscription(sub)
	created := s.subs.list[len(s.subs.list)-1]
	v := s.subscriptionJSON(created)
	v["delivery_method"].(map[string]any)["secret"] = created.DeliveryMethod.Secret
	writeJSON(w, http.StatusOK, map[string]any{"webhook_subscription": v})
}
