package slackops_test

import (
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/slackops"
)

// respondButtons returns the action ids and values of the root's row of
// responder buttons, and whether each asks for confirmation.
func respondButtons(blocks []slack.Block) (ids []string, values []string, confirms []bool) {
	for _, b := range blocks {
		ab, ok := b.(*slack.ActionBlock)
		if !ok || ab.BlockID != slackops.RespondBlockID {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			btn := el.(*slack.ButtonBlockElement)
			ids, values, confirms = append(ids, btn.ActionID), append(values, btn.Value), append(confirms, btn.Confirm != nil)
		}
	}
	return ids, values, confirms
}

// The root's buttons are those its Actions say, in order, with the
// incident id as value, resolve and escalate asking first; a root
// without actions has no row.
func TestRootResponderButtons(t *testing.T) {
	inc := incident.Snapshot{ID: "Q1ABC", Number: 7, Title: "DB down", Status: "triggered", Complete: true, HTMLURL: "https://acme.pagerduty.com/incidents/Q1ABC"}
	tests := []struct {
		name         string
		status       incident.Status
		interactive  bool
		wantIDs      []string
		wantConfirms []bool
	}{
		{"triggered", "triggered", true, []string{"incident_acknowledge", "incident_resolve", "incident_escalate", "incident_note", "incident_update", "incident_lead"}, []bool{false, true, true, false, false, false}},
		{"acknowledged: no Acknowledge", "acknowledged", true, []string{"incident_resolve", "incident_escalate", "incident_note", "incident_update", "incident_lead"}, []bool{true, true, false, false, false}},
		{"resolved: a note only", "resolved", true, []string{"incident_note"}, []bool{false}},
		{"not interactive: none", "triggered", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := inc
			inc.Status = tt.status
			r := incident.Root{Incident: inc}
			if tt.interactive {
				r.Actions = incident.Actions(inc)
			}
			ids, values, confirms := respondButtons(slackops.RootMessageBlocks(r))
			if !slices.Equal(ids, tt.wantIDs) || !slices.Equal(confirms, tt.wantConfirms) {
				t.Errorf("buttons %v confirming %v, want %v confirming %v", ids, confirms, tt.wantIDs, tt.wantConfirms)
			}
			for _, v := range values {
				if v != inc.ID {
					t.Errorf("button value %q, want the incident id %q", v, inc.ID)
				}
			}
		})
	}
	if ids, _, _ := respondButtons(slackops.RootMessageBlocks(incident.Root{Incident: incident.Snapshot{ID: "Q2"}, Actions: incident.Actions(incident.Snapshot{ID: "Q2"})})); ids != nil {
		t.Errorf("an incident known only by reference shows %v, want no buttons (its status is unknown)", ids)
	}
}
