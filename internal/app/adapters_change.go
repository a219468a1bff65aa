package app

import (
	"context"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// pdActions as incident.IncidentChanger: changing an incident, paging
// responders, and who is on call.

func (p pdActions) Change(ctx context.Context, from, incidentID string, ch incident.IncidentChange) error {
	return p.c.UpdateIncident(ctx, from, incidentID, pagerduty.Update{
		Priority: ch.Priority, Urgency: string(ch.Urgency), Title: ch.Title, Assignee: ch.Assignee,
	})
}

func (p pdActions) Page(ctx context.Context, from, requesterID, incidentID, message string, targets []incident.PageTarget) error {
	ts := make([]pagerduty.Target, len(targets))
	for i, t := range targets {
		ts[i] = pagerduty.Target{ID: t.ID, Policy: t.Policy}
	}
	return p.c.RequestResponders(ctx, from, requesterID, incidentID, message, ts)
}

func (p pdActions) Policies(ctx context.Context, query string) ([]incident.Ref, error) {
	ps, err := p.c.Policies(ctx, query)
	refs := make([]incident.Ref, len(ps))
	for i, pol := range ps {
		refs[i] = incident.Ref{ID: pol.ID, Type: "escalation_policy_reference", Summary: pol.Name}
	}
	return refs, err
}

func (p pdActions) Services(ctx context.Context, query string) ([]incident.ServicePolicy, error) {
	ss, err := p.c.Services(ctx, query)
	out := make([]incident.ServicePolicy, len(ss))
	for i, s := range ss {
		out[i] = incident.ServicePolicy{Service: s.Name,
			Policy: incident.Ref{ID: s.Policy.ID, Type: "escalation_policy_reference", Summary: s.Policy.Name}}
	}
	return out, err
}

func (p pdActions) OnCalls(ctx context.Context, policyID string) ([]incident.OnCall, error) {
	ocs, err := p.c.OnCalls(ctx, policyID)
	out := make([]incident.OnCall, len(ocs))
	for i, o := range ocs {
		out[i] = incident.OnCall{Level: o.Level, User: o.User, Schedule: o.Schedule, Until: o.Until}
	}
	return out, err
}
