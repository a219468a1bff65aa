package pagerduty

import (
	"context"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
)

// Annotator writes the back-link notes (incident.PagerDuty) as the
// PagerDuty user From (PAGERDUTY_FROM_EMAIL).
type Annotator struct {
	Client *Client
	From   string
}

var _ incident.PagerDuty = Annotator{}

// AddNote implements incident.PagerDuty.
func (a Annotator) AddNote(ctx context.Context, incidentID, content string) error {
	_, err := a.Client.AddNote(ctx, a.From, incidentID, content)
	return err
}

// HasNote implements incident.PagerDuty: it lists the incident's notes.
func (a Annotator) HasNote(ctx context.Context, incidentID, marker string) (bool, error) {
	notes, err := a.Client.Notes(ctx, incidentID)
	if err != nil {
		return false, err
	}
	for _, n := range notes {
		if strings.Contains(n.Content, marker) {
			return true, nil
		}
	}
	return false, nil
}
