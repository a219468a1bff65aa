// Package pdfake is a fake PagerDuty REST API over real HTTP, good enough
// for go-pagerduty's GetUserWithContext: GET /users/{id} with token
// authentication, PagerDuty's error bodies, and injected faults (rate
// limits, server errors, slow answers).
//
//	pd := pdfake.NewServer("token")
//	defer pd.Close()
//	pd.AddUser("PABC123", "Ada Lovelace", "ada@example.com")
//	client := pagerduty.NewClient("token", pagerduty.WithAPIEndpoint(pd.URL()))
package pdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault changes the answer to one request.
type Fault struct {
	// Status is the HTTP status answered instead of the real answer
	// (429, 500, 502...); 0 answers normally, after Delay.
	Status int
	// RetryAfter is the Retry-After header sent with the fault; "" for
	// none.
	RetryAfter string
	// Delay is how long the server waits before answering; it gives up
	// early when the client goes away.
	Delay time.Duration
}

// user is a PagerDuty user the fake knows.
type user struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

// Server is a fake PagerDuty REST API. It is safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	token string

	mu          sync.Mutex
	users       map[string]user
	faults      []Fault
	requests    []string
	inFlight    int
	maxInFlight int
}

// NewServer starts a fake PagerDuty REST API that accepts the API token
// token (header "Authorization: Token token=<token>"). Close it when done.
func NewServer(token string) *Server {
	s := &Server{token: token, users: map[string]user{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give go-pagerduty's WithAPIEndpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AddUser adds (or replaces) a PagerDuty user.
func (s *Server) AddUser(id, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = user{
		ID:      id,
		Type:    "user",
		Name:    name,
		Email:   email,
		Summary: name,
		HTMLURL: "https://example.pagerduty.com/users/" + id,
	}
}

// Fail queues faults: the next requests get them, one each, in order.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Calls is the number of requests received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Requests returns the paths of the requests received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// MaxInFlight is the largest number of requests the server was answering
// at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// ResetCalls forgets the requests received so far (Calls, Requests and
// MaxInFlight start again from zero).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.maxInFlight = s.inFlight
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path)
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if fault.Delay > 0 {
		t := time.NewTimer(fault.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Status == http.StatusTooManyRequests {
			writeError(w, fault.Status, "Rate Limit Exceeded", 0)
			return
		}
		// Server errors come from load balancers as often as from the
		// API: no JSON.
		http.Error(w, http.StatusText(fault.Status), fault.Status)
		return
	}

	if r.Header.Get("Authorization") != "Token token="+s.token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/users/")
	if !ok || id == "" || strings.Contains(id, "/") {
		writeError(w, http.StatusNotFound, "Not Found", 2100)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", 0)
		return
	}
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", 2100)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// writeError answers PagerDuty's error body; code 0 is left out.
func writeError(w http.ResponseWriter, status int, message string, code int) {
	e := map[string]any{"message": message}
	if code != 0 {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("pdfake: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
