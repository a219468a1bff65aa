package soak

import (
	"encoding/json"
	"fmt"
	"time"
)

// lifecycle is the order of one incident's events, as PagerDuty sends them.
var lifecycle = []string{
	"incident.triggered", "incident.acknowledged", "incident.annotated", "incident.escalated",
	"incident.priority_updated", "incident.status_update_published", "incident.resolved",
}

type ref struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url,omitempty"`
}

// Lifecycle returns the signed-to-be bodies of incident n's events in
// PagerDuty's V3 shape: its own incident id, number, event ids and times,
// one minute apart.
func Lifecycle(seed uint64, n int) [][]byte {
	id := fmt.Sprintf("QSOAK%d%04d", seed%1000, n)
	number := 10000 + n
	base := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
	ada := ref{ID: "PADA", Type: "user_reference", Summary: "Ada Lovelace"}
	grace := ref{ID: "PGRACE", Type: "user_reference", Summary: "Grace Hopper"}
	url := "https://acme.pagerduty.com/incidents/" + id
	full := func(status, priority string, assignees []ref) map[string]any {
		return map[string]any{
			"id": id, "type": "incident", "html_url": url, "number": number, "status": status,
			"title":             fmt.Sprintf("Checkout latency <%d> & errors", n),
			"created_at":        base.Format(time.RFC3339),
			"urgency":           "high",
			"service":           ref{ID: "PSVC", Type: "service_reference", Summary: "Checkout API"},
			"escalation_policy": ref{ID: "PEP", Type: "escalation_policy_reference", Summary: "Checkout on-call"},
			"assignees":         assignees,
			"priority":          ref{ID: "PP", Type: "priority_reference", Summary: priority},
			"conference_bridge": map[string]string{"conference_url": "https://meet.example.com/" + id},
		}
	}
	incRef := ref{ID: id, Type: "incident_reference", Summary: "Checkout latency", HTMLURL: url}
	var out [][]byte
	for k, typ := range lifecycle {
		var data map[string]any
		switch typ {
		case "incident.triggered":
			data = full("triggered", "P2", []ref{ada})
		case "incident.acknowledged":
			data = full("acknowledged", "P2", []ref{ada})
		case "incident.annotated":
			data = map[string]any{"type": "incident_note", "id": "N" + id, "incident": incRef, "content": "Rolled back <!channel>"}
		case "incident.escalated":
			data = full("acknowledged", "P2", []ref{grace})
		case "incident.priority_updated":
			data = full("acknowledged", "P1", []ref{grace})
		case "incident.status_update_published":
			data = map[string]any{"type": "incident_status_update", "id": "S" + id, "incident": incRef, "message": "Mitigated"}
		case "incident.resolved":
			data = full("resolved", "P1", nil)
		}
		body, err := json.Marshal(map[string]any{"event": map[string]any{
			"id":            fmt.Sprintf("E%s-%d", id, k),
			"event_type":    typ,
			"resource_type": "incident",
			"occurred_at":   base.Add(time.Duration(k) * time.Minute).Format(time.RFC3339Nano),
			"agent":         ada,
			"data":          data,
		}})
		if err != nil {
			panic(err) // the values above always marshal
		}
		out = append(out, body)
	}
	return out
}
