package pagerduty

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

func TestGetUser(t *testing.T) {
	s := NewServer("tok")
	defer s.Close()
	s.AddUser("PADA", "Ada Lovelace", "ada@example.com")
	c := pagerduty.NewClient("tok", pagerduty.WithAPIEndpoint(s.URL()))
	ctx := context.Background()

	u, err := c.GetUserWithContext(ctx, "PADA", pagerduty.GetUserOptions{})
	if err != nil {
		t.Fatalf("GetUserWithContext error = %v", err)
	}
	if u.ID != "PADA" || u.Email != "ada@example.com" || u.Name != "Ada Lovelace" || u.Type != "user" || u.Summary != "Ada Lovelace" {
		t.Errorf("user = %+v", u)
	}

	_, err = c.GetUserWithContext(ctx, "PNONE", pagerduty.GetUserOptions{})
	var apiErr pagerduty.APIError
	if !errors.As(err, &apiErr) || !apiErr.NotFound() || !apiErr.APIError.Valid || apiErr.APIError.ErrorObject.Code != 2100 {
		t.Errorf("unknown user: error = %#v, want a 404 with code 2100", err)
	}

	bad := pagerduty.NewClient("other", pagerduty.WithAPIEndpoint(s.URL()))
	_, err = bad.GetUserWithContext(ctx, "PADA", pagerduty.GetUserOptions{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: error = %v, want a 401", err)
	}

	if got, want := strings.Join(s.Paths(), " "), "/users/PADA /users/PNONE /users/PADA"; got != want {
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
