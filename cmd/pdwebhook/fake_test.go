package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// fakeToken is the REST API key the fake accepts.
const fakeToken = "u+fake-rest-api-key"

// documentedEvents are the event types PagerDuty's V3 webhook documentation
// lists; the fake rejects others as PagerDuty rejects invalid input.
var documentedEvents = []string{
	"incident.acknowledged", "incident.annotated", "incident.conference_bridge.updated",
	"incident.custom_field_values.updated", "incident.delegated", "incident.escalated",
	"incident.incident_type.changed", "incident.priority_updated", "incident.reassigned",
	"incident.reopened", "incident.resolved", "incident.responder.added",
	"incident.responder.replied", "incident.service_updated", "incident.status_update_published",
	"incident.triggered", "incident.unacknowledged", "incident.workflow.started",
	"incident.workflow.completed", "service.created", "service.deleted", "service.updated",
}

// fakePagerDuty is a stateful fake of the webhook subscription endpoints of
// the PagerDuty REST API: it stores subscriptions, returns a subscription's
// secret only in the answer to its creation, checks the token and the
// version header, pages lists, and can be told to fail.
type fakePagerDuty struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	subs []pagerduty.WebhookSubscription // stored without their secrets
	// secrets holds each subscription's signing secret by id.
	secrets map[string]string
	// creates counts successful POST /webhook_subscriptions.
	creates int
	// pings lists the subscriptions pinged.
	pings []string
	// page is the largest page the fake serves (the API's is 100).
	page int
	// failStatus, when set, answers every request with it.
	failStatus int
	// leakSecret answers list and get with the secret too, as a broken
	// server might, to prove the command never prints it there.
	leakSecret bool
	// lastCreate is the body of the last create request.
	lastCreate map[string]any
}

func newFakePagerDuty(t *testing.T) *fakePagerDuty {
	t.Helper()
	f := &fakePagerDuty{t: t, secrets: map[string]string{}, page: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhook_subscriptions", f.list)
	mux.HandleFunc("POST /webhook_subscriptions", f.create)
	mux.HandleFunc("GET /webhook_subscriptions/{id}", f.get)
	mux.HandleFunc("POST /webhook_subscriptions/{id}/ping", f.ping)
	f.srv = httptest.NewServer(f.guard(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to put in PAGERDUTY_API_URL.
func (f *fakePagerDuty) URL() string { return f.srv.URL }

// add stores a subscription as if created earlier and returns its id.
func (f *fakePagerDuty) add(s pagerduty.WebhookSubscription) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.ID = fmt.Sprintf("PSUB%03d", len(f.subs)+1)
	s.DeliveryMethod.ID = "PDM" + s.ID[4:]
	f.secrets[s.ID] = "secret-of-" + s.ID
	f.subs = append(f.subs, s)
	return s.ID
}

func (f *fakePagerDuty) stored() []pagerduty.WebhookSubscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subs)
}

// set changes the fake's settings while it serves.
func (f *fakePagerDuty) set(change func(f *fakePagerDuty)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// counts returns how many subscriptions were created and which were pinged.
func (f *fakePagerDuty) counts() (creates int, pings []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates, slices.Clone(f.pings)
}

// lastCreateBody returns the body of the last create request.
func (f *fakePagerDuty) lastCreateBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastCreate
}

func (f *fakePagerDuty) secretOf(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[id]
}

// guard checks what every request of the REST API must carry.
func (f *fakePagerDuty) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fail := f.failStatus
		f.mu.Unlock()
		switch {
		case fail == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "17")
			writeError(w, fail, "Rate Limit Exceeded", 2020)
		case fail != 0:
			writeError(w, fail, http.StatusText(fail), 2100)
		case r.Header.Get("Authorization") != "Token token="+fakeToken:
			writeError(w, http.StatusUnauthorized, "Authentication failed", 2006)
		case r.Header.Get("Accept") != "application/vnd.pagerduty+json;version=2":
			writeError(w, http.StatusBadRequest, "Accept header must request version 2", 2001)
		case r.Method == http.MethodPost && r.URL.Path == "/webhook_subscriptions" && r.Header.Get("Content-Type") != "application/json":
			writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", 2001)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func writeError(w http.ResponseWriter, status int, msg string, code int, errs ...string) {
	body := map[string]any{"message": msg, "code": code}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// view is a subscription as list and get answer it: secret null.
func (f *fakePagerDuty) view(s pagerduty.WebhookSubscription) map[string]any {
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	dm := m["delivery_method"].(map[string]any)
	dm["secret"] = nil
	if f.leakSecret {
		dm["secret"] = f.secrets[s.ID]
	}
	return m
}

func (f *fakePagerDuty) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	limit, err1 := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, err2 := strconv.Atoi(r.URL.Query().Get("offset"))
	if err1 != nil || err2 != nil || limit < 1 || offset < 0 {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "limit and offset must be numbers")
		return
	}
	limit = min(limit, f.page)
	page := []map[string]any{}
	for i := offset; i < len(f.subs) && len(page) < limit; i++ {
		page = append(page, f.view(f.subs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"webhook_subscriptions": page, "limit": limit, "offset": offset,
		"more": offset+len(page) < len(f.subs), "total": nil,
	})
}

func (f *fakePagerDuty) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		if s.ID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"webhook_subscription": f.view(s)})
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found", 2100)
}

func (f *fakePagerDuty) ping(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		if s.ID == r.PathValue("id") {
			f.pings = append(f.pings, s.ID)
			w.WriteHeader(http.StatusAccepted)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found", 2100)
}

func (f *fakePagerDuty) create(w http.ResponseWriter, r *http.Request) {
	var raw map[string]any
	var req struct {
		Subscription *pagerduty.WebhookSubscription `json:"webhook_subscription"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "body is not JSON")
		return
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &req); err != nil || req.Subscription == nil {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "webhook_subscription is required")
		return
	}
	s := *req.Subscription
	var errs []string
	if s.Type != "webhook_subscription" {
		errs = append(errs, "type must be webhook_subscription")
	}
	if s.DeliveryMethod.Type != "http_delivery_method" || s.DeliveryMethod.URL == "" {
		errs = append(errs, "delivery_method needs type http_delivery_method and a url")
	}
	if s.DeliveryMethod.Secret != "" {
		errs = append(errs, "delivery_method.secret is read-only")
	}
	switch s.Filter.Type {
	case "service_reference", "team_reference":
		if s.Filter.ID == "" {
			errs = append(errs, "filter.id is required for "+s.Filter.Type)
		}
	case "account_reference":
	default:
		errs = append(errs, "filter.type must be account_reference, service_reference or team_reference")
	}
	if len(s.Events) == 0 {
		errs = append(errs, "events must not be empty")
	}
	for _, e := range s.Events {
		if !slices.Contains(documentedEvents, e) {
			errs = append(errs, fmt.Sprintf("Event type %q is not valid", e))
		}
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, errs...)
		return
	}
	f.mu.Lock()
	f.lastCreate = raw
	f.creates++
	f.mu.Unlock()
	id := f.add(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	stored := f.view(f.subs[len(f.subs)-1])
	stored["delivery_method"].(map[string]any)["secret"] = f.secrets[id]
	writeJSON(w, http.StatusCreated, map[string]any{"webhook_subscription": stored})
}
