package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// opPast reads an incident's past incidents.
const opPast = "pagerduty.past_incidents"

var _ incident.PastIncidentFinder = (*Client)(nil)

// PastIncidents returns PagerDuty's past incidents of the incident (GET
// /incidents/{id}/past_incidents): incidents of the same service in the
// past six months with similar metadata, most similar first, at most
// limit, each with its id, title and creation time. The feature belongs
// to the Event Intelligence package and the Digital Operations plan; an
// account without it is answered 402 or 403, returned as
// incident.ErrNotOnPlan.
func (c *Client) PastIncidents(ctx context.Context, incidentID string, limit int) ([]incident.PastIncident, error) {
	var out struct {
		PastIncidents []struct {
			Incident struct {
				ID        string `json:"id"`
				Title     string `json:"title"`
				CreatedAt string `json:"created_at"`
			} `json:"incident"`
		} `json:"past_incidents"`
	}
	path := "/incidents/" + escape(incidentID) + "/past_incidents?limit=" + strconv.Itoa(limit)
	if err := c.get(ctx, opPast+" "+incidentID, path, &out); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusPaymentRequired || ae.Status == http.StatusForbidden) {
			return nil, fmt.Errorf("%w: %w", incident.ErrNotOnPlan, err)
		}
		return nil, err
	}
	past := make([]incident.PastIncident, 0, len(out.PastIncidents))
	for _, p := range out.PastIncidents {
		if p.Incident.ID == "" {
			continue
		}
		// A time PagerDuty writes oddly is left out, not the incident.
		created, _ := time.Parse(time.RFC3339, p.Incident.CreatedAt)
		past = append(past, incident.PastIncident{ID: p.Incident.ID, Title: p.Incident.Title, TriggeredAt: created})
	}
	return past, nil
}
