package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/people"
)

// The glue between the PagerDuty REST client, the Slack → PagerDuty user
// map and the responder: each speaks its own package's language.

// pdActions is pagerduty.Client as incident.ResponderPagerDuty: its
// "already resolved" and "last level" errors are incident's too.
type pdActions struct{ c *pagerduty.Client }

func (p pdActions) Acknowledge(ctx context.Context, from, incidentID string) error {
	return responderErr(p.c.Acknowledge(ctx, from, incidentID))
}

func (p pdActions) Resolve(ctx context.Context, from, incidentID string) error {
	return responderErr(p.c.Resolve(ctx, from, incidentID))
}

func (p pdActions) Escalate(ctx context.Context, from, incidentID, policyID string, assignees []string) (int, error) {
	level, err := p.c.Escalate(ctx, from, incidentID, policyID, assignees)
	return level, responderErr(err)
}

func (p pdActions) AddNote(ctx context.Context, from, incidentID, content string) error {
	_, err := p.c.AddNote(ctx, from, incidentID, content)
	return err
}

// responderErr marks pagerduty's sentinels with incident's.
func responderErr(err error) error {
	switch {
	case errors.Is(err, pagerduty.ErrAlreadyResolved):
		return fmt.Errorf("%w: %w", incident.ErrAlreadyResolved, err)
	case errors.Is(err, pagerduty.ErrAlreadyAcknowledged):
		return fmt.Errorf("%w: %w", incident.ErrAlreadyAcknowledged, err)
	case errors.Is(err, pagerduty.ErrLastLevel):
		return fmt.Errorf("%w: %w", incident.ErrLastLevel, err)
	}
	return err
}

// actors is people.Actors as incident.Actors.
type actors struct{ a *people.Actors }

func (a actors) Lookup(ctx context.Context, slackUserID string) (incident.Actor, error) {
	return actor(a.a.Lookup(ctx, slackUserID))
}

func (a actors) Reload(ctx context.Context, slackUserID string) (incident.Actor, error) {
	return actor(a.a.Reload(ctx, slackUserID))
}

func actor(act people.Actor, err error) (incident.Actor, error) {
	return incident.Actor{PagerDutyID: act.PagerDutyID, Name: act.Name, Email: act.Email, Role: act.Role,
		Teams: act.Teams, FromCache: act.FromCache}, err
}

// explain is what a responder reads when acting failed: why their Slack
// user has no PagerDuty user, or what PagerDuty answered.
func explain(err error) string {
	var noUser *people.NoPagerDutyUserError
	switch {
	case errors.Is(err, people.ErrNotOurs):
		// Its text is the plain answer.
		return err.Error()
	case errors.As(err, &noUser):
		// Only the user who acted sees this: it names their own address,
		// the one thing they need to fix it.
		return "You can't act on PagerDuty from Slack yet: no PagerDuty user has the email address " + noUser.Email +
			" (your Slack one). Ask a PagerDuty admin to add you, or to use the same email address as in Slack."
	case errors.Is(err, people.ErrNoEmail):
		return "Slack does not show Incident Channels your email address, so it cannot find your PagerDuty user: " +
			"an admin must grant the app the users:read.email scope (and reinstall it)."
	}
	return pagerduty.Explain(err)
}
