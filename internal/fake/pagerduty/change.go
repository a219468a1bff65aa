package pagerduty

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// priority is one of the account's priorities.
type priority struct{ id, name string }

func (p priority) json() map[string]any {
	return map[string]any{"id": p.id, "type": "priority", "summary": p.name, "name": p.name}
}

// AddPriority adds a priority to the account, after the ones it has
// (PagerDuty lists them from the highest).
func (s *Server) AddPriority(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.priorities = append(s.priorities, priority{id: id, name: name})
}

// NamePolicy names an escalation policy (AddPolicy names it by its id).
func (s *Server) NamePolicy(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.policies[id]
	p.name = name
	s.policies[id] = p
}

// priority returns the priority of the id; s.mu is held.
func (s *Server) priority(id string) (priority, bool) {
	i := slices.IndexFunc(s.priorities, func(p priority) bool { return p.id == id })
	if id == "" || i < 0 {
		return priority{}, false
	}
	return s.priorities[i], true
}

// listPriorities answers GET /priorities: every priority, one page.
func (s *Server) listPriorities(w http.ResponseWriter) {
	s.mu.Lock()
	out := []map[string]any{}
	for _, p := range s.priorities {
		out = append(out, p.json())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"priorities": out, "limit": 100, "offset": 0, "more": false, "total": nil})
}

// listPolicies answers GET /escalation_policies?query=: the policies
// whose name contains the query, ignoring case, by name.
func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("query"))
	s.mu.Lock()
	ids := make([]string, 0, len(s.policies))
	for id := range s.policies {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []map[string]any{}
	for _, id := range ids {
		if p := s.policies[id]; strings.Contains(strings.ToLower(cmp.Or(p.name, id)), q) {
			out = append(out, s.policyJSON(id, p))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"escalation_policies": out, "limit": 100, "offset": 0, "more": false, "total": nil})
}

// service is a PagerDuty service and the id of its escalation policy.
type service struct{ id, name, policyID string }

// AddService adds a service whose escalation policy is policyID.
func (s *Server) AddService(id, name, policyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = append(s.services, service{id: id, name: name, policyID: policyID})
}

// listServices answers GET /services?query=: the services whose name
// contains the query, ignoring case.
func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("query"))
	s.mu.Lock()
	out := []map[string]any{}
	for _, sv := range s.services {
		if !strings.Contains(strings.ToLower(sv.name), q) {
			continue
		}
		out = append(out, map[string]any{
			"id": sv.id, "type": "service", "summary": sv.name, "name": sv.name,
			"escalation_policy": map[string]any{"id": sv.policyID, "type": "escalation_policy_reference",
				"summary": cmp.Or(s.policies[sv.policyID].name, sv.policyID)},
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"services": out, "limit": 100, "offset": 0, "more": false, "total": nil})
}

// incidentFields are the fields of PUT /incidents/{id} beyond status and
// escalation level.
type incidentFields struct {
	Priority *struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"priority"`
	Urgency     *string `json:"urgency"`
	Title       *string `json:"title"`
	Assignments []struct {
		Assignee struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"assignee"`
	} `json:"assignments"`
}

func (f incidentFields) any() bool {
	return f.Priority != nil || f.Urgency != nil || f.Title != nil || f.Assignments != nil
}

// problem says what PagerDuty refuses in the fields as input (400).
func (f incidentFields) problem() string {
	switch {
	case f.Priority != nil && (f.Priority.ID == "" || f.Priority.Type != "priority_reference" && f.Priority.Type != "priority"):
		return "priority must be a priority reference"
	case f.Urgency != nil && *f.Urgency != "high" && *f.Urgency != "low":
		return "Urgency must be one of high or low."
	case f.Title != nil && strings.TrimSpace(*f.Title) == "":
		return "Title cannot be empty."
	case f.Assignments != nil && len(f.Assignments) == 0:
		return "assignments cannot be empty"
	}
	for _, a := range f.Assignments {
		if a.Assignee.ID == "" || a.Assignee.Type != "user_reference" {
			return "assignee must be a user reference"
		}
	}
	return ""
}

// applyFields sets the fields on inc, as userID, or returns PagerDuty's
// refusal (message and detail) changing nothing; s.mu is held.
func (s *Server) applyFields(inc *Incident, f incidentFields, userID string) (changes []Change, msg, detail string) {
	if !f.any() {
		return nil, "", ""
	}
	if f.Priority != nil {
		if _, ok := s.priority(f.Priority.ID); !ok {
			return nil, "Invalid Input Provided", "Priority not found"
		}
	}
	for _, a := range f.Assignments {
		if _, ok := s.users[a.Assignee.ID]; !ok {
			return nil, "Invalid Input Provided", "Assignee not found"
		}
	}
	if (f.Assignments != nil) && inc.Status == "resolved" {
		return nil, "Incident Already Resolved", "Incident Already Resolved"
	}
	ch := func(kind, value string) Change {
		return Change{IncidentID: inc.ID, Kind: kind, UserID: userID, Value: value}
	}
	if f.Priority != nil && f.Priority.ID != inc.Priority {
		inc.Priority = f.Priority.ID
		changes = append(changes, ch(ChangePriority, inc.Priority))
	}
	if f.Urgency != nil && *f.Urgency != cmp.Or(inc.Urgency, "high") {
		inc.Urgency = *f.Urgency
		changes = append(changes, ch(ChangeUrgency, inc.Urgency))
	}
	if f.Title != nil && *f.Title != inc.Title {
		inc.Title = *f.Title
		changes = append(changes, ch(ChangeTitle, inc.Title))
	}
	if f.Assignments != nil {
		inc.Assignees = inc.Assignees[:0]
		for _, a := range f.Assignments {
			inc.Assignees = append(inc.Assignees, a.Assignee.ID)
		}
		s.assignedAt[inc.ID] = s.now()
		changes = append(changes, ch(ChangeReassigned, strings.Join(inc.Assignees, ",")))
	}
	return changes, "", ""
}

// requestResponders answers POST /incidents/{id}/responder_requests:
// requester_id must be a user, each target a known user or policy. The
// request wraps each target in responder_request_target, as PagerDuty's
// example does; the answer lists them flat, as its schema does.
func (s *Server) requestResponders(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		RequesterID string  `json:"requester_id"`
		Message     *string `json:"message"`
		Targets     []struct {
			Target struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"responder_request_target"`
		} `json:"responder_request_targets"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.RequesterID == "" || req.Message == nil || len(req.Targets) == 0 {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "requester_id, message and responder_request_targets are required")
		return
	}
	userID, ok := s.requester(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	inc, known := s.incidents[id]
	_, requester := s.users[req.RequesterID]
	var targets []string
	var refs []map[string]any
	bad := !requester
	for _, t := range req.Targets {
		switch t.Target.Type {
		case "user_reference":
			_, ok := s.users[t.Target.ID]
			bad = bad || !ok
			targets = append(targets, "user:"+t.Target.ID)
			refs = append(refs, map[string]any{"id": t.Target.ID, "type": "user"})
		case "escalation_policy_reference":
			_, ok := s.policies[t.Target.ID]
			bad = bad || !ok
			targets = append(targets, "policy:"+t.Target.ID)
			refs = append(refs, map[string]any{"id": t.Target.ID, "type": "escalation_policy"})
		default:
			bad = true
		}
	}
	var v map[string]any
	if known && !bad {
		v = map[string]any{
			"incident":                  map[string]any{"id": id, "type": "incident_reference", "summary": inc.Title},
			"requester":                 s.userRef(req.RequesterID),
			"requested_at":              s.now().UTC().Format(time.RFC3339),
			"message":                   *req.Message,
			"responder_request_targets": refs,
		}
	}
	hook := s.onChange
	s.mu.Unlock()
	switch {
	case !known:
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	case bad:
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "requester or target not found")
		return
	}
	if hook != nil {
		hook(Change{IncidentID: id, Kind: ChangeResponder, UserID: userID, Value: *req.Message, Targets: targets})
	}
	writeJSON(w, http.StatusOK, map[string]any{"responder_request": v})
}
