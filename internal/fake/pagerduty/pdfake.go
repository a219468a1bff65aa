// Package pdfake is a stateful fake PagerDuty REST API over real HTTP:
// users with their role and teams (GET /users/{id}, GET /users?query=),
// incidents that can be
// acknowledged, resolved, escalated and annotated (PUT /incidents/{id},
// GET and POST /incidents/{id}/notes, POST /incidents/{id}/status_updates),
// escalation policies and their
// on-call entries, V3 webhook subscriptions (list, get, create, ping),
// with token authentication, the From header checks of writes,
// PagerDuty's error bodies, and injected faults (rate limits, server
// errors, slow answers, dropped connections, and writes carried out
// whose answer is lost).
//
//	pd := pdfake.NewServer("token")
//	defer pd.Close()
//	pd.AddUser("PABC123", "Ada Lovelace", "ada@example.com")
//	client := pagerduty.NewClient(pagerduty.ClientOptions{Token: "token", URL: pd.URL()})
//
// Where PagerDuty's documentation says what it answers, the fake answers
// the same; where it does not, the fake's choice is marked in a comment.
// TestAnswersMatchAPIReference checks its answers against the schemas of
// PagerDuty's REST OpenAPI reference (testdata/openapi).
package pagerduty

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// PagerDuty's error codes and messages the fake answers.
const (
	// codeAlreadyResolved: PagerDuty's error code table lists 1001
	// "Incident Already Resolved"; which write answers it in API v2 is not
	// documented. The fake answers it to resolving or escalating a
	// resolved incident.
	codeAlreadyResolved = 1001
	// codeRequesterNotFound: a From address that is no user
	// ("Requester User Not Found").
	codeRequesterNotFound = 1008
	// codeInvalidInput: "Invalid Input Provided".
	codeInvalidInput = 2001
	// codeAccessDenied: "Access Denied", with 403.
	codeAccessDenied = 2010
	// codeMissingFrom: a write without From; PagerDuty's message is
	// msgMissingFrom (its code is reported as 2016 by clients).
	codeMissingFrom = 2016
	// codeNotFound: "Not Found", with 404.
	codeNotFound = 2100

	msgMissingFrom = `You must specify a user's email address in the "From" header to perform this action`
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
	// early when the client goes away. A write delayed this way is not
	// carried out when the client gives up first.
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
	// Apply carries the request out before failing it with Status or
	// Reset, as when PagerDuty saved a note but its answer was lost on
	// the way (a gateway's 502 or 504, a dropped connection). Without
	// Status or Reset it changes nothing.
	Apply bool
}

// failing reports whether the fault fails the request; one with only a
// Delay answers normally, late.
func (f Fault) failing() bool { return f.Status != 0 || f.Reset }

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the path with the query ("/users?query=ada").
	Path string
	// Body is the request body ("" for none).
	Body string
	// From is the From header.
	From string
}

// Incident is an incident the fake knows.
type Incident struct {
	ID     string
	Number int
	Title  string
	// Status is "triggered", "acknowledged" or "resolved"; "" is
	// "triggered".
	Status   string
	PolicyID string
	// Assignees are PagerDuty user ids.
	Assignees []string
	// EscalationLevel is the level last set by an escalation; 0 until
	// then.
	EscalationLevel int
	// Priority is the id of its priority (AddPriority); "" for none.
	Priority string
	// Urgency is "high" or "low"; "" is "high".
	Urgency string
}

// Note is a note on an incident.
type Note struct {
	ID        string
	UserID    string
	Content   string
	CreatedAt time.Time
}

// Change kinds.
const (
	ChangeAcknowledged = "acknowledged"
	ChangeResolved     = "resolved"
	ChangeEscalated    = "escalated"
	ChangeAnnotated    = "annotated"
	ChangePriority     = "priority_updated"
	ChangeUrgency      = "urgency_updated"
	ChangeTitle        = "title_updated"
	ChangeReassigned   = "reassigned"
	ChangeResponder    = "responder_requested"
	// ChangeStatusUpdate is a status update published (Note is its
	// message).
	ChangeStatusUpdate = "status_update"
)

// Change is what a successful write changed, for the OnChange hook.
type Change struct {
	IncidentID string
	// Kind is one of the Change… kinds.
	Kind string
	// UserID is the PagerDuty user of the From header.
	UserID string
	// Note is the note's content (ChangeAnnotated), or the status
	// update's message (ChangeStatusUpdate).
	Note string
	// EscalationLevel is the new level (ChangeEscalated).
	EscalationLevel int
	// Reopened is set when acknowledging reopened a resolved incident.
	Reopened bool
	// Value is the new priority id, urgency, title or assignee
	// (ChangePriority, ChangeUrgency, ChangeTitle, ChangeReassigned), or
	// the responder request's message (ChangeResponder).
	Value string
	// Targets are a responder request's targets, "user:ID" or
	// "policy:ID" (ChangeResponder).
	Targets []string
}

// user is a PagerDuty user the fake knows.
type user struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
	Role    string `json:"role"`
	// Teams are team references, as GET /users and GET /users/{id}
	// answer them without include[]=teams.
	Teams []teamRef `json:"teams"`
}

// teamRef is PagerDuty's team reference.
type teamRef struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	Self    string `json:"self"`
	HTMLURL string `json:"html_url"`
}

// policy is an escalation policy.
type policy struct {
	levels, loops int
	// name is the policy's name; "" is its id.
	name string
}

// onCall is one on-call entry.
type onCall struct {
	policyID, userID string
	level            int
}

// faultKey selects the requests of FailOn.
type faultKey struct{ method, path string }

// Server is a fake PagerDuty REST API. It is safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	token string
	now   func() time.Time

	mu          sync.Mutex
	users       map[string]user
	userOrder   []string
	forbidden   map[string]bool
	incidents   map[string]*Incident
	assignedAt  map[string]time.Time // by incident: when its assignees were last set
	notes       map[string][]Note
	noteSeq     int
	updates     map[string][]Note // status updates, by incident
	updateSeq   int
	policies    map[string]policy
	onCalls     []onCall
	priorities  []priority
	services    []service
	faults      []Fault
	pathFaults  map[faultKey][]Fault
	requests    []Request
	inFlight    int
	maxInFlight int
	onChange    func(Change)
	subs        subscriptions
	// past are the past incidents of each incident, when the account has
	// the feature (past not nil).
	past map[string][]PastIncident
}

// NewServer starts a fake PagerDuty REST API on a loopback port that
// accepts the API token token (header "Authorization: Token
// token=<token>"). Close it when done.
func NewServer(token string) *Server {
	s := newServer(token)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// NewServerOn is NewServer serving on l (a listener of an in-memory
// network, say).
func NewServerOn(l net.Listener, token string) *Server {
	s := newServer(token)
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	return s
}

func newServer(token string) *Server {
	return &Server{
		token:      token,
		now:        time.Now,
		users:      map[string]user{},
		forbidden:  map[string]bool{},
		incidents:  map[string]*Incident{},
		assignedAt: map[string]time.Time{},
		notes:      map[string][]Note{},
		updates:    map[string][]Note{},
		policies:   map[string]policy{},
		pathFaults: map[faultKey][]Fault{},
	}
}

// URL is the base URL to give a REST client (PAGERDUTY_API_URL).
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AddUser adds (or replaces) a PagerDuty user.
func (s *Server) AddUser(id, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		s.userOrder = append(s.userOrder, id)
	}
	s.users[id] = user{
		ID:      id,
		Type:    "user",
		Name:    name,
		Email:   email,
		Summary: name,
		HTMLURL: "https://example.pagerduty.com/users/" + id,
		Role:    "user",
		Teams:   []teamRef{},
	}
}

// SetTeams sets a user's teams by id (AddUser gives none); the team's
// name is its id.
func (s *Server) SetTeams(id string, teamIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return
	}
	u.Teams = []teamRef{}
	for _, t := range teamIDs {
		u.Teams = append(u.Teams, teamRef{ID: t, Type: "team_reference", Summary: t,
			Self: "https://api.pagerduty.com/teams/" + t, HTMLURL: "https://example.pagerduty.com/teams/" + t})
	}
	s.users[id] = u
}

// SetRole sets a user's PagerDuty role (AddUser gives "user"): observer,
// read_only_user, admin, …
func (s *Server) SetRole(id, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		u.Role = role
		s.users[id] = u
	}
}

// Forbid makes PagerDuty refuse every write by the user (403 Access
// Denied), like a user whose role may not change incidents.
func (s *Server) Forbid(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[userID] = true
}

// AddIncident adds (or replaces) an incident.
func (s *Server) AddIncident(inc Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc.Status == "" {
		inc.Status = "triggered"
	}
	inc.Assignees = slices.Clone(inc.Assignees)
	s.incidents[inc.ID] = &inc
	s.assignedAt[inc.ID] = s.now()
}

// Incident returns the incident's current state.
func (s *Server) Incident(id string) (Incident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok {
		return Incident{}, false
	}
	out := *inc
	out.Assignees = slices.Clone(inc.Assignees)
	return out, true
}

// Notes returns the notes of the incident, oldest first.
func (s *Server) Notes(incidentID string) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes[incidentID])
}

// AddPolicy adds (or replaces) an escalation policy of levels rules that
// repeats loops times (num_loops).
func (s *Server) AddPolicy(id string, levels, loops int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[id] = policy{levels: levels, loops: loops, name: s.policies[id].name}
}

// AddOnCall puts the user on call at level of the escalation policy.
func (s *Server) AddOnCall(policyID, userID string, level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCalls = append(s.onCalls, onCall{policyID: policyID, userID: userID, level: level})
}

// SetOnChange sets the hook called after every successful write, with
// what changed, before the answer is sent; nil removes it. The hook runs
// without the server's lock, so it may call the server.
func (s *Server) SetOnChange(f func(Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = f
}

// Fail queues faults: the next requests get them, one each, in order.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// FailOn queues faults for the requests of method to path (without the
// query), one each, in order; they come before those queued by Fail.
// Requests running in parallel get their own faults this way.
func (s *Server) FailOn(method, path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := faultKey{method, path}
	s.pathFaults[k] = append(s.pathFaults[k], faults...)
}

// Calls is the number of requests received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Requests returns the requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Paths returns the paths (without the query) of the requests received,
// in order.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.requests))
	for i, r := range s.requests {
		out[i], _, _ = strings.Cut(r.Path, "?")
	}
	return out
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

// maxRequestBody bounds the request bodies read.
const maxRequestBody = 1 << 20

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.RequestURI(), Body: string(body), From: r.Header.Get("From")})
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	var fault Fault
	k := faultKey{r.Method, r.URL.Path}
	if q := s.pathFaults[k]; len(q) > 0 {
		fault, s.pathFaults[k] = q[0], q[1:]
	} else if len(s.faults) > 0 {
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
	if fault.Apply && fault.failing() {
		// Done, and the answer thrown away.
		s.answer(httptest.NewRecorder(), r, body)
	}
	if fault.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		switch {
		case fault.Status == http.StatusTooManyRequests:
			writeError(w, fault.Status, "Rate Limit Exceeded", 0)
			return
		case fault.Status < 500:
			// A refusal of the API itself (402: the plan lacks the
			// feature; 403): PagerDuty's error body.
			writeError(w, fault.Status, http.StatusText(fault.Status), 0)
			return
		}
		// Server errors come from load balancers as often as from the
		// API: no JSON.
		http.Error(w, http.StatusText(fault.Status), fault.Status)
		return
	}
	s.answer(w, r, body)
}

// answer checks the token and answers the request.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("Authorization") != "Token token="+s.token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	s.route(w, r, body)
}

// route answers an authenticated request.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "users":
		s.listUsers(w, r)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "users":
		s.getUser(w, parts[1])
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "incidents":
		s.getIncident(w, parts[1])
	case r.Method == http.MethodPut && len(parts) == 2 && parts[0] == "incidents":
		s.updateIncident(w, r, parts[1], body)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "incidents" && parts[2] == "notes":
		s.listNotes(w, parts[1])
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "incidents" && parts[2] == "notes":
		s.addNote(w, r, parts[1], body)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "incidents" && parts[2] == "status_updates":
		s.addStatusUpdate(w, r, parts[1], body)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "incidents" && parts[2] == "responder_requests":
		s.requestResponders(w, r, parts[1], body)
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "escalation_policies":
		s.listPolicies(w, r)
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "priorities":
		s.listPriorities(w)
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "services":
		s.listServices(w, r)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "incidents" && parts[2] == "past_incidents":
		s.listPastIncidents(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "escalation_policies":
		s.getPolicy(w, parts[1])
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "oncalls":
		s.listOnCalls(w, r)
	case parts[0] == "webhook_subscriptions":
		s.routeSubscriptions(w, r, parts, body)
	case len(parts) >= 1 && slices.Contains([]string{"users", "incidents", "escalation_policies", "oncalls", "priorities", "services"}, parts[0]):
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", 0)
	default:
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
	}
}

func (s *Server) getUser(w http.ResponseWriter, id string) {
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// listUsers answers GET /users?query=: the users whose name or email
// contains the query, ignoring case, as PagerDuty's search matches part
// of a name or an address.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("query"))
	s.mu.Lock()
	users := []user{}
	for _, id := range s.userOrder {
		u := s.users[id]
		if strings.Contains(strings.ToLower(u.Name), q) || strings.Contains(strings.ToLower(u.Email), q) {
			users = append(users, u)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "limit": 100, "offset": 0, "more": false, "total": nil})
}

func (s *Server) getIncident(w http.ResponseWriter, id string) {
	s.mu.Lock()
	inc, ok := s.incidents[id]
	var v map[string]any
	if ok {
		v = s.incidentJSON(inc)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": v})
}

// requester checks the From header of a write and returns its user id;
// ok is false when it answered an error. Missing From: 400; an address
// of no user: 400 "Requester User Not Found"; a forbidden user: 403.
func (s *Server) requester(w http.ResponseWriter, r *http.Request) (userID string, ok bool) {
	from := strings.TrimSpace(r.Header.Get("From"))
	if from == "" {
		writeError(w, http.StatusBadRequest, msgMissingFrom, codeMissingFrom)
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.userOrder {
		if strings.EqualFold(s.users[id].Email, from) {
			userID = id
			break
		}
	}
	switch {
	case userID == "":
		writeError(w, http.StatusBadRequest, "Requester User Not Found", codeRequesterNotFound)
		return "", false
	case s.forbidden[userID]:
		writeError(w, http.StatusForbidden, "Access Denied", codeAccessDenied)
		return "", false
	}
	return userID, true
}

// updateIncident answers PUT /incidents/{id}: status "acknowledged" or
// "resolved", or escalation_level.
func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		Incident *struct {
			Type            string `json:"type"`
			Status          string `json:"status"`
			EscalationLevel *int   `json:"escalation_level"`
			incidentFields
		} `json:"incident"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Incident == nil {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "incident is missing or not an object")
		return
	}
	in := req.Incident
	if in.Type != "incident" && in.Type != "incident_reference" {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "type must be incident or incident_reference")
		return
	}
	if in.Status != "" && in.Status != "acknowledged" && in.Status != "resolved" && in.Status != "triggered" {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "Status must be one of triggered, acknowledged, or resolved.")
		return
	}
	if problem := in.incidentFields.problem(); problem != "" {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, problem)
		return
	}
	if in.Status == "" && in.EscalationLevel == nil && !in.incidentFields.any() {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "nothing to update")
		return
	}
	userID, ok := s.requester(w, r)
	if !ok {
		return
	}

	s.mu.Lock()
	inc, ok := s.incidents[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	var changes []Change
	status, errMsg, errDetail := http.StatusOK, "", ""
	switch {
	case in.Status == "acknowledged":
		// PagerDuty reopens a resolved incident that is acknowledged
		// (API reference, PUT /incidents/{id}, status; since 2025-09-18).
		// Acknowledging an acknowledged incident succeeds without a
		// change.
		if inc.Status != "acknowledged" {
			changes = append(changes, Change{IncidentID: id, Kind: ChangeAcknowledged, UserID: userID, Reopened: inc.Status == "resolved"})
			inc.Status = "acknowledged"
		}
	case in.Status == "resolved" && inc.Status == "resolved":
		status, errMsg, errDetail = http.StatusBadRequest, "Incident Already Resolved", "Incident Already Resolved"
	case in.Status == "resolved":
		inc.Status = "resolved"
		changes = append(changes, Change{IncidentID: id, Kind: ChangeResolved, UserID: userID})
	case in.Status == "triggered":
		inc.Status = "triggered"
	}
	if in.EscalationLevel != nil && errMsg == "" {
		p, known := s.policies[inc.PolicyID]
		level := *in.EscalationLevel
		switch {
		case inc.Status == "resolved":
			status, errMsg, errDetail = http.StatusBadRequest, "Incident Already Resolved", "Incident Already Resolved"
		case !known || level < 1 || level > p.levels:
			// The fake's choice: PagerDuty does not document its answer
			// to a level the policy does not have.
			status, errMsg, errDetail = http.StatusBadRequest, "Invalid Input Provided", "escalation_level is not a level of the escalation policy"
		default:
			inc.EscalationLevel = level
			var assignees []string
			for _, o := range s.onCalls {
				if o.policyID == inc.PolicyID && o.level == level {
					assignees = append(assignees, o.userID)
				}
			}
			if len(assignees) > 0 {
				inc.Assignees = assignees
				s.assignedAt[id] = s.now()
			}
			changes = append(changes, Change{IncidentID: id, Kind: ChangeEscalated, UserID: userID, EscalationLevel: level})
		}
	}
	if errMsg == "" {
		var more []Change
		more, errMsg, errDetail = s.applyFields(inc, in.incidentFields, userID)
		if errMsg != "" {
			status = http.StatusBadRequest
		}
		changes = append(changes, more...)
	}
	v := s.incidentJSON(inc)
	hook := s.onChange
	s.mu.Unlock()

	if errMsg != "" {
		code := codeInvalidInput
		if errMsg == "Incident Already Resolved" {
			code = codeAlreadyResolved
		}
		writeError(w, status, errMsg, code, errDetail)
		return
	}
	if hook != nil {
		for _, c := range changes {
			hook(c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": v})
}

func (s *Server) listNotes(w http.ResponseWriter, id string) {
	s.mu.Lock()
	_, ok := s.incidents[id]
	notes := make([]map[string]any, 0, len(s.notes[id]))
	for _, n := range s.notes[id] {
		notes = append(notes, s.noteJSON(n))
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notes": notes})
}

// addNote answers POST /incidents/{id}/notes (200 with the note, as the
// API reference documents).
func (s *Server) addNote(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		Note *struct {
			Content string `json:"content"`
		} `json:"note"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Note == nil || strings.TrimSpace(req.Note.Content) == "" {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "Content cannot be empty")
		return
	}
	s.addEntry(w, r, id, req.Note.Content, entryKind{
		idPrefix: "PNOTE", seq: &s.noteSeq, list: s.notes, change: ChangeAnnotated, answerKey: "note",
		render: s.noteJSON,
	})
}

// entryKind is what sets a note apart from a status update: both are a
// text by the request's From user, appended to the incident's list of
// its kind, told to the change hook and answered as the reference shows.
type entryKind struct {
	idPrefix  string
	seq       *int
	list      map[string][]Note
	change    string
	answerKey string
	// render is the answer's JSON of the entry; it runs under s.mu.
	render func(Note) map[string]any
}

// addEntry adds text to incident id as k says: 404 for an unknown
// incident, the From checks of every write, 200 with the entry.
func (s *Server) addEntry(w http.ResponseWriter, r *http.Request, id, text string, k entryKind) {
	userID, ok := s.requester(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	if _, ok := s.incidents[id]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	*k.seq++
	n := Note{ID: fmt.Sprintf("%s%03d", k.idPrefix, *k.seq), UserID: userID, Content: text, CreatedAt: s.now().UTC().Truncate(time.Second)}
	k.list[id] = append(k.list[id], n)
	v := k.render(n)
	hook := s.onChange
	s.mu.Unlock()
	if hook != nil {
		hook(Change{IncidentID: id, Kind: k.change, UserID: userID, Note: n.Content})
	}
	writeJSON(w, http.StatusOK, map[string]any{k.answerKey: v})
}

func (s *Server) getPolicy(w http.ResponseWriter, id string) {
	s.mu.Lock()
	p, ok := s.policies[id]
	var v map[string]any
	if ok {
		v = s.policyJSON(id, p)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"escalation_policy": v})
}

// policyJSON is PagerDuty's escalation policy; s.mu is held.
func (s *Server) policyJSON(id string, p policy) map[string]any {
	return map[string]any{
		"id": id, "type": "escalation_policy", "summary": cmp.Or(p.name, id), "name": cmp.Or(p.name, id),
		"num_loops": p.loops, "escalation_rules": s.escalationRules(id, p),
	}
}

// escalationRules are the policy's rules; s.mu is held.
func (s *Server) escalationRules(id string, p policy) []map[string]any {
	rules := make([]map[string]any, p.levels)
	for i := range rules {
		// A rule has at least one target: the users on call at its level,
		// or else a schedule (the fake's choice; it knows no schedules).
		targets := []any{}
		for _, o := range s.onCalls {
			if o.policyID == id && o.level == i+1 {
				targets = append(targets, s.userRef(o.userID))
			}
		}
		if len(targets) == 0 {
			targets = append(targets, map[string]any{"id": fmt.Sprintf("S%s%d", id, i+1), "type": "schedule_reference"})
		}
		rules[i] = map[string]any{"id": fmt.Sprintf("R%s%d", id, i+1), "escalation_delay_in_minutes": 30, "targets": targets}
	}
	return rules
}

// listOnCalls answers GET /oncalls, filtered by escalation_policy_ids[]
// when given.
func (s *Server) listOnCalls(w http.ResponseWriter, r *http.Request) {
	ids := r.URL.Query()["escalation_policy_ids[]"]
	s.mu.Lock()
	out := []map[string]any{}
	for _, o := range s.onCalls {
		if len(ids) > 0 && !slices.Contains(ids, o.policyID) {
			continue
		}
		out = append(out, map[string]any{
			"user":              s.userRef(o.userID),
			"escalation_policy": map[string]any{"id": o.policyID, "type": "escalation_policy_reference"},
			"escalation_level":  o.level,
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"oncalls": out, "limit": 100, "offset": 0, "more": false, "total": nil})
}

// userRef is a user reference; s.mu is held.
func (s *Server) userRef(id string) map[string]any {
	return map[string]any{"id": id, "type": "user_reference", "summary": s.users[id].Name}
}

// noteJSON is PagerDuty's note; s.mu is held.
func (s *Server) noteJSON(n Note) map[string]any {
	return map[string]any{
		"id":         n.ID,
		"user":       s.userRef(n.UserID),
		"channel":    map[string]any{"summary": "The PagerDuty website or APIs"},
		"content":    n.Content,
		"created_at": n.CreatedAt.Format(time.RFC3339),
	}
}

// incidentJSON is PagerDuty's incident; s.mu is held.
func (s *Server) incidentJSON(inc *Incident) map[string]any {
	assignments := []map[string]any{}
	if inc.Status != "resolved" {
		at := s.assignedAt[inc.ID].UTC().Format(time.RFC3339)
		for _, a := range inc.Assignees {
			assignments = append(assignments, map[string]any{"at": at, "assignee": map[string]any{"id": a, "type": "user_reference"}})
		}
	}
	v := map[string]any{
		"id": inc.ID, "type": "incident", "incident_number": inc.Number, "title": inc.Title,
		"status": inc.Status, "assignments": assignments, "urgency": cmp.Or(inc.Urgency, "high"),
		"escalation_policy": map[string]any{"id": inc.PolicyID, "type": "escalation_policy_reference"},
	}
	if p, ok := s.priority(inc.Priority); ok {
		v["priority"] = p.json()
	}
	return v
}

// writeError answers PagerDuty's error body; code 0 is left out.
func writeError(w http.ResponseWriter, status int, message string, code int, errs ...string) {
	e := map[string]any{"message": message}
	if code != 0 {
		e["code"] = code
	}
	if len(errs) > 0 {
		e["errors"] = errs
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
