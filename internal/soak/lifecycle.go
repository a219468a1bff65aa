package soak

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// lifecycle is the order of one incident's events, as PagerDuty sends them.
var lifecycle = []string{
	incident.EventTriggered, incident.EventAcknowledged, incident.EventAnnotated, incident.EventEscalated,
	incident.EventPriorityUpdated, incident.EventStatusUpdatePublished, incident.EventResolved,
}

type ref struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url,omitempty"`
}

// shape is what varies between the lifecycles of incidents: the priority
// before and from the priority_updated event on, where that event falls,
// the urgency, and who is assigned before and after the escalation.
type shape struct {
	// before is the priority of the full payloads before priority_updated;
	// after that of priority_updated and the payloads after it.
	before, after string
	// at is priority_updated's position in the lifecycle (1 to 5: after
	// triggered, before resolved).
	at      int
	urgency incident.Urgency
	// first are the assignees until the escalation; escalated those from
	// it on (resolved has none).
	first, escalated []ref
}

// plainShape is the lifecycle of the soak without routing: P2 raised to
// P1 after the escalation.
func plainShape() shape {
	return shape{
		before: "P2", after: "P1", at: 4, urgency: incident.UrgencyHigh,
		first:     []ref{{ID: "PADA", Type: "user_reference", Summary: "Ada Lovelace"}},
		escalated: []ref{{ID: "PGRACE", Type: "user_reference", Summary: "Grace Hopper"}},
	}
}

// incidentID is the PagerDuty id of incident n of a seed's run.
func incidentID(seed uint64, n int) string { return fmt.Sprintf("QSOAK%d%04d", seed%1000, n) }

// eventID is the id of the k-th event of incident n's lifecycle.
func lifecycleEventID(seed uint64, n, k int) string {
	return fmt.Sprintf("E%s-%d", incidentID(seed, n), k)
}

// Lifecycle returns the signed-to-be bodies of incident n's events in
// PagerDuty's V3 shape: its own incident id, number, event ids and times,
// one minute apart.
func Lifecycle(seed uint64, n int) [][]byte {
	bodies, _ := lifecycleOf(seed, n, plainShape())
	return bodies
}

// lifecycleOf returns the bodies of incident n's events for the shape sh,
// and their event types in order.
func lifecycleOf(seed uint64, n int, sh shape) ([][]byte, []string) {
	id := incidentID(seed, n)
	number := 10000 + n
	base := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
	ada := ref{ID: "PADA", Type: "user_reference", Summary: "Ada Lovelace"}
	if len(sh.first) > 0 {
		ada = sh.first[0]
	}
	url := "https://acme.pagerduty.com/incidents/" + id
	full := func(status incident.Status, priority string, assignees []ref) map[string]any {
		return map[string]any{
			"id": id, "type": "incident", "html_url": url, "number": number, "status": status,
			"title":             fmt.Sprintf("Checkout latency <%d> & errors", n),
			"created_at":        base.Format(time.RFC3339),
			"urgency":           sh.urgency,
			"service":           ref{ID: "PSVC", Type: "service_reference", Summary: "Checkout API"},
			"escalation_policy": ref{ID: "PEP", Type: "escalation_policy_reference", Summary: "Checkout on-call"},
			"assignees":         assignees,
			"priority":          ref{ID: "PP", Type: "priority_reference", Summary: priority},
			"conference_bridge": map[string]string{"conference_url": "https://meet.example.com/" + id},
		}
	}
	incRef := ref{ID: id, Type: "incident_reference", Summary: "Checkout latency", HTMLURL: url}
	types := slices.DeleteFunc(slices.Clone(lifecycle), func(t string) bool { return t == incident.EventPriorityUpdated })
	types = slices.Insert(types, sh.at, incident.EventPriorityUpdated)
	var out [][]byte
	status, assignees := incident.StatusTriggered, sh.first
	for k, typ := range types {
		priority := sh.before
		if k >= sh.at {
			priority = sh.after
		}
		var data map[string]any
		switch typ {
		case incident.EventTriggered, incident.EventPriorityUpdated:
			data = full(status, priority, assignees)
		case incident.EventAcknowledged:
			status = incident.StatusAcknowledged
			data = full(status, priority, assignees)
		case incident.EventAnnotated:
			data = map[string]any{"type": "incident_note", "id": "N" + id, "incident": incRef, "content": "Rolled back <!channel>"}
		case incident.EventEscalated:
			assignees = sh.escalated
			data = full(status, priority, assignees)
		case incident.EventStatusUpdatePublished:
			data = map[string]any{"type": "incident_status_update", "id": "S" + id, "incident": incRef, "message": "Mitigated"}
		case incident.EventResolved:
			data = full(incident.StatusResolved, priority, nil)
		}
		body, err := json.Marshal(map[string]any{"event": map[string]any{
			"id":            lifecycleEventID(seed, n, k),
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
	return out, types
}
