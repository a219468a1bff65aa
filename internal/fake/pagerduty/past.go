package pagerduty

import (
	"net/http"
	"strconv"
	"time"
)

// PastIncident is one of PagerDuty's past incidents of an incident: an
// incident of the same service with similar metadata, and its score.
type PastIncident struct {
	ID        string
	Title     string
	CreatedAt time.Time
	Score     float64
}

// SetPastIncidents gives the account PagerDuty's Past Incidents (an Event
// Intelligence or Digital Operations feature) and sets the past incidents
// of incidentID, most similar first. Until it is called,
// GET /incidents/{id}/past_incidents answers 403, as PagerDuty's API
// reference lists for an account without it.
func (s *Server) SetPastIncidents(incidentID string, past ...PastIncident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.past == nil {
		s.past = map[string][]PastIncident{}
	}
	s.past[incidentID] = append([]PastIncident(nil), past...)
}

// listPastIncidents answers GET /incidents/{id}/past_incidents: at most
// limit (1 to 999, default 5) past incidents, and their total when asked
// for.
func (s *Server) listPastIncidents(w http.ResponseWriter, r *http.Request, id string) {
	limit := 5
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "Limit must be between 1 and 999.")
			return
		}
		limit = n
	}
	s.mu.Lock()
	_, known := s.incidents[id]
	onPlan := s.past != nil
	past := s.past[id]
	s.mu.Unlock()
	switch {
	case !onPlan:
		writeError(w, http.StatusForbidden, "Access Denied", codeAccessDenied,
			"Past Incidents requires the Event Intelligence package or the Digital Operations plan.")
		return
	case !known:
		writeError(w, http.StatusNotFound, "Not Found", codeNotFound)
		return
	}
	items := make([]map[string]any, 0, min(limit, len(past)))
	for _, p := range past[:min(limit, len(past))] {
		items = append(items, map[string]any{
			"incident": map[string]any{
				"id": p.ID, "title": p.Title, "created_at": p.CreatedAt.UTC().Format(time.RFC3339),
				"self": "https://api.pagerduty.com/incidents/" + p.ID,
			},
			"score": p.Score,
		})
	}
	// PagerDuty sends total null unless asked for it; the reference types
	// it a number only, so the fake leaves it out.
	answer := map[string]any{"past_incidents": items, "limit": limit}
	if r.URL.Query().Get("total") == "true" {
		answer["total"] = len(past)
	}
	writeJSON(w, http.StatusOK, answer)
}
