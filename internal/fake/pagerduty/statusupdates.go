package pagerduty

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// StatusUpdates returns the status updates published on the incident,
// oldest first (Content is the message).
func (s *Server) StatusUpdates(incidentID string) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.updates[incidentID])
}

// addStatusUpdate answers POST /incidents/{id}/status_updates (200 with the
// status update, as the API reference documents). An empty message is
// refused 400 (the fake's choice: the reference requires the field, and
// PagerDuty shows nothing for an empty one).
func (s *Server) addStatusUpdate(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Message == nil || strings.TrimSpace(*req.Message) == "" {
		writeError(w, http.StatusBadRequest, "Invalid Input Provided", codeInvalidInput, "Message cannot be empty")
		return
	}
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
	s.updateSeq++
	u := Note{ID: fmt.Sprintf("PSTAT%03d", s.updateSeq), UserID: userID, Content: *req.Message, CreatedAt: s.now().UTC().Truncate(time.Second)}
	s.updates[id] = append(s.updates[id], u)
	v := map[string]any{
		"id": u.ID, "message": u.Content, "sender": s.userRef(userID),
		"created_at": u.CreatedAt.Format(time.RFC3339),
	}
	hook := s.onChange
	s.mu.Unlock()
	if hook != nil {
		hook(Change{IncidentID: id, Kind: ChangeStatusUpdate, UserID: userID, Note: u.Content})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status_update": v})
}
