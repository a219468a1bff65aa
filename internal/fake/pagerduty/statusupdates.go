package pagerduty

import (
	"encoding/json"
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
	s.addEntry(w, r, id, *req.Message, entryKind{
		idPrefix: "PSTAT", seq: &s.updateSeq, list: s.updates, change: ChangeStatusUpdate, answerKey: "status_update",
		render: func(u Note) map[string]any {
			return map[string]any{
				"id": u.ID, "message": u.Content, "sender": s.userRef(u.UserID),
				"created_at": u.CreatedAt.Format(time.RFC3339),
			}
		},
	})
}
