package pagerduty

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdclient "github.com/incident-channels/incident-channels/internal/pagerduty"
)

// TestGetUser: the project's REST client reads a user from the fake, a
// user the fake does not know is PagerDuty's 404 (code 2100), and a
// wrong token is refused.
func TestGetUser(t *testing.T) {
	s := NewServer("tok")
	defer s.Close()
	s.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	s.SetRole("PADA", "limited_user")
	s.SetTeams("PADA", "PTEAM01", "PTEAM02")
	c := pdclient.NewClient(pdclient.ClientOptions{Token: "tok", URL: s.URL()})
	ctx := context.Background()

	u, err := c.User(ctx, "PADA")
	if err != nil {
		t.Fatalf("User error = %v", err)
	}
	want := pdclient.User{ID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "limited_user", Teams: []string{"PTEAM01", "PTEAM02"}}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if status, v := send(t, s, "GET", "/users/PADA", "", ""); status != http.StatusOK {
		t.Errorf("GET /users/PADA = %d", status)
	} else if raw, _ := v["user"].(map[string]any); raw["type"] != "user" || raw["summary"] != "Ada Lovelace" {
		t.Errorf("user = %v, want type user and summary Ada Lovelace", raw)
	}

	_, err = c.User(ctx, "PNONE")
	var apiErr *pdclient.APIError
	if !errors.Is(err, pdclient.ErrNoUser) {
		t.Errorf("unknown user: error = %v, want ErrNoUser", err)
	}
	if status, v := send(t, s, "GET", "/users/PNONE", "", ""); status != http.StatusNotFound {
		t.Errorf("GET /users/PNONE = %d, want 404", status)
	} else if _, code := errorOf(v); code != codeNotFound {
		t.Errorf("GET /users/PNONE error code = %d, want %d", code, codeNotFound)
	}

	bad := pdclient.NewClient(pdclient.ClientOptions{Token: "other", URL: s.URL()})
	_, err = bad.User(ctx, "PADA")
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || incident.IsRetryable(err) {
		t.Errorf("wrong token: error = %v, want a 401 refusal", err)
	}

	if got, want := strings.Join(s.Paths(), " "), "/users/PADA /users/PADA /users/PNONE /users/PNONE /users/PADA"; got != want {
		t.Errorf("Requests = %q, want %q", got, want)
	}
	s.ResetCalls()
	if s.Calls() != 0 {
		t.Errorf("Calls after ResetCalls = %d", s.Calls())
	}
}

func TestFaults(t *testing.T) {
	s := NewServer("tok")
	defer s.Close()
	s.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	s.Fail(Fault{Status: 429, RetryAfter: "5"}, Fault{Status: 502}, Fault{Delay: 50 * time.Millisecond})

	get := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL()+"/users/PADA", nil)
		req.Header.Set("Authorization", "Token token=tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get(); r.StatusCode != 429 || r.Header.Get("Retry-After") != "5" {
		t.Errorf("first answer = %d, Retry-After %q; want 429, 5", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := get(); r.StatusCode != 502 {
		t.Errorf("second answer = %d, want 502", r.StatusCode)
	}
	start := time.Now()
	if r := get(); r.StatusCode != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("third answer = %d after %v, want 200 after 50ms", r.StatusCode, time.Since(start))
	}
	if r := get(); r.StatusCode != 200 {
		t.Errorf("fourth answer = %d, want 200 (no faults left)", r.StatusCode)
	}
	if s.Calls() != 4 || s.MaxInFlight() != 1 {
		t.Errorf("Calls, MaxInFlight = %d, %d; want 4, 1", s.Calls(), s.MaxInFlight())
	}
}

// TestSubscriptions: a subscription's secret comes only with its
// creation, lists page by the items read, invalid input and unknown ids
// are refused as PagerDuty refuses them.
func TestSubscriptions(t *testing.T) {
	s := NewServer("tok")
	defer s.Close()
	c := pdclient.NewClient(pdclient.ClientOptions{Token: "tok", URL: s.URL()})
	ctx := context.Background()
	sub := pdclient.WebhookSubscription{
		Type: "webhook_subscription", Events: []string{"incident.triggered"},
		Filter:         pdclient.SubscriptionFilter{Type: "account_reference"},
		DeliveryMethod: pdclient.DeliveryMethod{Type: "http_delivery_method", URL: "https://example.com/"},
	}
	created, err := c.CreateWebhookSubscription(ctx, sub)
	if err != nil {
		t.Fatalf("create error = %v", err)
	}
	if created.ID != "PSUB001" || created.DeliveryMethod.Secret != "secret-of-PSUB001" {
		t.Errorf("created = %+v, want PSUB001 with its secret", created)
	}
	got, err := c.WebhookSubscription(ctx, created.ID)
	if err != nil || got.DeliveryMethod.Secret != "" || got.DeliveryMethod.URL != "https://example.com/" {
		t.Errorf("get = %+v, %v; want the subscription without its secret", got, err)
	}

	for range 4 {
		s.AddSubscription(Subscription{Type: "webhook_subscription", Filter: SubscriptionFilter{Type: "account_reference"}})
	}
	s.SetMaxLimit(2)
	all, err := c.WebhookSubscriptions(ctx)
	if err != nil || len(all) != 5 || all[4].ID != "PSUB005" {
		t.Errorf("list = %d subscriptions, %v; want all 5 over three pages", len(all), err)
	}

	sub.Events = []string{"incident.nope"}
	_, err = c.CreateWebhookSubscription(ctx, sub)
	var apiErr *pdclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(err.Error(), `"incident.nope" is not valid`) {
		t.Errorf("create with an unknown event: error = %v, want 400 naming it", err)
	}
	if err := c.PingWebhookSubscription(ctx, "PNONE"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("ping of an unknown subscription: error = %v, want 404", err)
	}
	if err := c.PingWebhookSubscription(ctx, "PSUB002"); err != nil {
		t.Errorf("ping error = %v", err)
	}
	if got := strings.Join(s.Pings(), " "); got != "PSUB002" {
		t.Errorf("Pings = %q, want PSUB002", got)
	}
}
