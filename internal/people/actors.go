package people

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/emailaddr"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// Defaults of ActorOptions.
const (
	// DefaultActorTTL is how long a found PagerDuty user is cached.
	DefaultActorTTL = 24 * time.Hour
	// DefaultActorMissTTL is how long a Slack user without a PagerDuty
	// user is cached: short, so that fixing the address soon works.
	DefaultActorMissTTL = 10 * time.Minute
)

// Sentinels of Lookup, matched with errors.Is.
var (
	// ErrNoEmail means Slack shows no email address for the user: the
	// app lacks the users:read.email scope, or the address is hidden.
	// It is incident.ErrNoEmail, which the Slack adapter returns.
	ErrNoEmail = incident.ErrNoEmail
	// ErrNoPagerDutyUser means no PagerDuty user has the Slack user's
	// email address. The error is a *NoPagerDutyUserError, which holds
	// the address; its text does not, as errors end up in logs.
	ErrNoPagerDutyUser = errors.New("no PagerDuty user has the Slack user's email address")
)

// Reasons a miss is cached for, as stored.
const (
	reasonNoEmail         = "no_email"
	reasonNoPagerDutyUser = "no_pagerduty_user"
)

// Actor is the PagerDuty user a Slack user acts as.
type Actor struct {
	PagerDutyID, Name, Email string
	// Role is their PagerDuty role (observer, user, admin, …).
	Role string
}

// SlackEmails reads Slack users' email addresses (users.info,
// profile.email).
type SlackEmails interface {
	// UserEmail returns "" (or an error matching ErrNoEmail) when Slack
	// shows no address, and a *incident.Error for rate limits and
	// timeouts.
	UserEmail(ctx context.Context, slackUserID string) (string, error)
}

// ActorOptions configure Actors.
type ActorOptions struct {
	PagerDuty PagerDutyUsers
	Slack     SlackEmails
	// Cache keeps the answers; nil for none.
	Cache ActorCache
	// TTL is how long a found user is cached; 0 is DefaultActorTTL.
	TTL time.Duration
	// MissTTL is how long a miss is cached; 0 is DefaultActorMissTTL.
	MissTTL time.Duration
	// Log receives cache failures; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Actors maps Slack users to the PagerDuty users they act as, by email
// address. It is safe for concurrent use.
type Actors struct {
	pd           PagerDutyUsers
	slack        SlackEmails
	cache        ActorCache
	ttl, missTTL time.Duration
	log          *slog.Logger
	now          func() time.Time
}

// NewActors returns Actors configured by o.
func NewActors(o ActorOptions) *Actors {
	a := &Actors{pd: o.PagerDuty, slack: o.Slack, cache: o.Cache, ttl: o.TTL, missTTL: o.MissTTL, log: o.Log, now: o.Now}
	if a.ttl <= 0 {
		a.ttl = DefaultActorTTL
	}
	if a.missTTL <= 0 {
		a.missTTL = DefaultActorMissTTL
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Lookup returns the PagerDuty user the Slack user acts as: the cache's
// answer while it lasts, else the Slack user's email address (users.info)
// looked up in PagerDuty. A missing address fails with ErrNoEmail, an
// address of no PagerDuty user with ErrNoPagerDutyUser; both are cached
// for MissTTL, a found user for TTL. Other failures (*incident.Error for
// rate limits and timeouts) are returned as they came and not cached.
func (a *Actors) Lookup(ctx context.Context, slackUserID string) (Actor, error) {
	if !ValidID(slackUserID) {
		return Actor{}, fmt.Errorf("look up Slack user %q: not a Slack user id", slackUserID)
	}
	if a.cache != nil {
		e, ok, err := a.cache.Actor(ctx, slackUserID)
		switch {
		case err != nil:
			a.log.WarnContext(ctx, "people: actor cache read failed; looking the user up instead", "slack_user_id", slackUserID, "error", err)
		case ok && a.now().Before(e.ExpireAt):
			if actor, err, ok := e.result(); ok {
				return actor, err
			}
		}
	}

	entry, err := a.lookUp(ctx, slackUserID)
	if entry == nil {
		return Actor{}, err
	}
	if a.cache != nil && ctx.Err() == nil {
		if perr := a.cache.PutActor(ctx, slackUserID, *entry); perr != nil {
			a.log.WarnContext(ctx, "people: actor cache write failed", "slack_user_id", slackUserID, "error", perr)
		}
	}
	actor, err, _ := entry.result()
	return actor, err
}

// lookUp asks Slack and PagerDuty; entry is nil for a failure not worth
// caching (returned as err).
func (a *Actors) lookUp(ctx context.Context, slackUserID string) (*ActorEntry, error) {
	email, err := a.slack.UserEmail(ctx, slackUserID)
	email = strings.TrimSpace(email)
	switch {
	case errors.Is(err, ErrNoEmail) || errors.Is(err, incident.ErrUserNotFound) || (err == nil && email == ""):
		// Slack shows no address: a bot, a missing scope, or a user of
		// another workspace in a shared channel (users.info: user_not_found).
		return &ActorEntry{Reason: reasonNoEmail, ExpireAt: a.now().Add(a.missTTL)}, nil
	case err != nil:
		return nil, fmt.Errorf("look up the email address of Slack user %s: %w", slackUserID, err)
	}
	u, err := a.pd.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, pagerduty.ErrNoUser) || (err == nil && !emailaddr.Equal(u.Email, email)):
		// Whatever PagerDuty's search matched, only the same address
		// (ASCII case aside) makes the Slack user that PagerDuty user.
		return &ActorEntry{Email: email, Reason: reasonNoPagerDutyUser, ExpireAt: a.now().Add(a.missTTL)}, nil
	case err != nil:
		return nil, fmt.Errorf("look up the PagerDuty user of Slack user %s: %w", slackUserID, err)
	}
	return &ActorEntry{PagerDutyID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, ExpireAt: a.now().Add(a.ttl)}, nil
}

// result is the Actor or error an entry stands for; ok is false for an
// entry that stands for nothing known (written by another version).
func (e ActorEntry) result() (actor Actor, err error, ok bool) {
	switch {
	case e.Reason == reasonNoEmail:
		return Actor{}, ErrNoEmail, true
	case e.Reason == reasonNoPagerDutyUser:
		return Actor{}, &NoPagerDutyUserError{Email: e.Email}, true
	case e.Reason == "" && e.PagerDutyID != "":
		return Actor{PagerDutyID: e.PagerDutyID, Name: e.Name, Email: e.Email, Role: e.Role}, nil, true
	}
	return Actor{}, nil, false
}

// NoPagerDutyUserError is ErrNoPagerDutyUser for the address Email. Its
// text names the address by its emailaddr.Hash only; an answer shown
// only to the Slack user concerned may name Email, their own address.
type NoPagerDutyUserError struct{ Email string }

func (e *NoPagerDutyUserError) Error() string {
	return "no PagerDuty user has the Slack user's email address (" + emailaddr.Hash(e.Email) + ")"
}

// Is makes the error match ErrNoPagerDutyUser.
func (e *NoPagerDutyUserError) Is(target error) bool { return target == ErrNoPagerDutyUser }
