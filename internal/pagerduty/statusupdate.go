package pagerduty

import (
	"context"
	"net/http"
	"strings"
)

// opStatusUpdate is the operation of PostStatusUpdate, for errors and
// Explain.
const opStatusUpdate = "pagerduty.status_update"

// PostStatusUpdate publishes a status update with message on the incident
// as the PagerDuty user whose email is from
// (POST /incidents/{id}/status_updates), and returns its id. PagerDuty then
// sends incident.status_update_published, which is how the update reaches
// the incident's channel. Without an answer the update may exist: the
// error is then KindMaybeDone.
func (c *Client) PostStatusUpdate(ctx context.Context, from, incidentID, message string) (string, error) {
	var out struct {
		StatusUpdate struct {
			ID string `json:"id"`
		} `json:"status_update"`
	}
	err := c.do(ctx, call{
		op: opStatusUpdate + " " + incidentID, method: http.MethodPost, path: "/incidents/" + escape(incidentID) + "/status_updates",
		from: from, asUser: true,
		body: map[string]any{"message": strings.TrimSpace(message)},
		out:  &out,
	})
	if err != nil {
		return "", err
	}
	return out.StatusUpdate.ID, nil
}
