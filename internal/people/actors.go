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
	// DefaultActorTTL is how long a found PagerDuty user is cached, and
	// the longest TTL may be: their role and teams decide what they may
	// do, so a change in PagerDuty (or in Slack: a member turned guest)
	// takes effect within it.
	DefaultActorTTL = time.Hour
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
	// ErrNotOurs means the Slack user may not act whatever their
	// PagerDuty user: not of the app's workspace, deactivated, a bot, an
	// address Slack has not confirmed, or a guest while guests may not
	// act. The error's text is the plain answer for them.
	ErrNotOurs = errors.New("the Slack user may not act on incidents")
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
	// Teams are the ids of their PagerDuty teams.
	Teams []string
	// FromCache is set for an answer the cache gave.
	FromCache bool
}

// SlackUsers reads what Slack says of users (users.info).
type SlackUsers interface {
	// SlackUser fails with incident.ErrUserNotFound for a user the
	// workspace does not know, and with a *incident.Error for rate
	// limits and timeouts.
	SlackUser(ctx context.Context, slackUserID string) (incident.SlackUser, error)
}

// ActorOptions configure Actors.
type ActorOptions struct {
	PagerDuty PagerDutyUsers
	Slack     SlackUsers
	// AllowGuests lets the workspace's guests act (ALLOW_GUESTS).
	AllowGuests bool
	// Cache keeps the answers; nil for none.
	Cache ActorCache
	// TTL is how long a found user is cached; 0 (or more than
	// DefaultActorTTL) is DefaultActorTTL.
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
	slack        SlackUsers
	allowGuests  bool
	cache        ActorCache
	ttl, missTTL time.Duration
	log          *slog.Logger
	now          func() time.Time
}

// NewActors returns Actors configured by o.
func NewActors(o ActorOptions) *Actors {
	a := &Actors{pd: o.PagerDuty, slack: o.Slack, allowGuests: o.AllowGuests, cache: o.Cache,
		ttl: o.TTL, missTTL: o.MissTTL, log: o.Log, now: o.Now}
	if a.ttl <= 0 || a.ttl > DefaultActorTTL {
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
// answer while it lasts, else Reload's. Only the workspace's own people
// act: a Slack user of another organisation, deactivated, a bot or app
// user, one whose address Slack has not confirmed, or a guest (unless
// AllowGuests) fails with ErrNotOurs, and is not cached. A missing address
// fails with ErrNoEmail, an address of no PagerDuty user with
// ErrNoPagerDutyUser; both are cached for MissTTL, a found user (with
// their role and teams) for TTL. Other failures (*incident.Error for rate
// limits and timeouts) are returned as they came and not cached.
func (a *Actors) Lookup(ctx context.Context, slackUserID string) (Actor, error) {
	if !ValidID(slackUserID) {
		return Actor{}, fmt.Errorf("look up Slack user %q: not a Slack user id", slackUserID)
	}
	if a.cache != nil {
		e, ok, err := a.cache.Actor(ctx, slackUserID)
		now := a.now()
		switch {
		case err != nil:
			a.log.WarnContext(ctx, "people: actor cache read failed; looking the user up instead", "slack_user_id", slackUserID, "error", err)
		case ok && now.Before(e.ExpireAt) && !e.ExpireAt.After(now.Add(a.ttl)):
			// An entry meant to last longer than TTL was written with a
			// longer one (an older version's 24 h): looked up again.
			if actor, err, ok := a.result(e); ok {
				actor.FromCache = err == nil
				return actor, err
			}
		}
	}
	return a.Reload(ctx, slackUserID)
}

// Reload looks the Slack user up in Slack and PagerDuty, without the
// cache, and caches the answer as Lookup does.
func (a *Actors) Reload(ctx context.Context, slackUserID string) (Actor, error) {
	if !ValidID(slackUserID) {
		return Actor{}, fmt.Errorf("look up Slack user %q: not a Slack user id", slackUserID)
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
	actor, err, _ := a.result(*entry)
	return actor, err
}

// lookUp asks Slack and PagerDuty; entry is nil for a failure not worth
// caching (returned as err).
func (a *Actors) lookUp(ctx context.Context, slackUserID string) (*ActorEntry, error) {
	su, err := a.slack.SlackUser(ctx, slackUserID)
	switch {
	case errors.Is(err, incident.ErrUserNotFound):
		// users.info answers user_not_found for users the workspace
		// cannot see, such as some of another organisation's in a
		// shared channel.
		return nil, &notOursError{why: whyExternal}
	case err != nil:
		return nil, fmt.Errorf("look up Slack user %s: %w", slackUserID, err)
	}
	if why := a.notOurs(su); why != "" {
		return nil, &notOursError{why: why}
	}
	email := strings.TrimSpace(su.Email)
	if email == "" {
		// Slack shows no address: the app lacks the users:read.email
		// scope, or the profile hides it.
		return &ActorEntry{Reason: reasonNoEmail, ExpireAt: a.now().Add(a.missTTL)}, nil
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
	return &ActorEntry{PagerDutyID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Teams: u.Teams,
		Guest: su.Guest, ExpireAt: a.now().Add(a.ttl)}, nil
}

// Why a Slack user is not one of the workspace's own people: the plain
// answers of ErrNotOurs.
const (
	whyExternal    = incident.ExternalUserText
	whyDeleted     = "Your Slack account is deactivated, so it cannot act on incidents."
	whyBot         = "Bots and apps cannot act on incidents from Slack."
	whyUnconfirmed = "Slack has not confirmed your email address, so Incident Channels cannot tell that the PagerDuty user with that address is you. Confirm it in Slack, then try again."
	whyGuest       = "Guests of this Slack workspace cannot act on incidents from Slack here (an admin can allow it with ALLOW_GUESTS). Ask a member of the team on call."
)

// notOurs says why su may not act; "" when they may.
func (a *Actors) notOurs(su incident.SlackUser) string {
	switch {
	case su.External:
		return whyExternal
	case su.Deleted:
		return whyDeleted
	case su.Bot:
		return whyBot
	case su.Guest && !a.allowGuests:
		return whyGuest
	case !su.EmailConfirmed:
		return whyUnconfirmed
	}
	return ""
}

// notOursError is ErrNotOurs with the plain answer.
type notOursError struct{ why string }

func (e *notOursError) Error() string        { return e.why }
func (e *notOursError) Is(target error) bool { return target == ErrNotOurs }

// result is the Actor or error an entry stands for; ok is false for an
// entry that stands for nothing known (written by another version). A
// guest's entry is refused while guests may not act.
func (a *Actors) result(e ActorEntry) (actor Actor, err error, ok bool) {
	switch {
	case e.Reason == reasonNoEmail:
		return Actor{}, ErrNoEmail, true
	case e.Reason == reasonNoPagerDutyUser:
		return Actor{}, &NoPagerDutyUserError{Email: e.Email}, true
	case e.Reason == "" && e.PagerDutyID != "" && e.Guest && !a.allowGuests:
		return Actor{}, &notOursError{why: whyGuest}, true
	case e.Reason == "" && e.PagerDutyID != "":
		return Actor{PagerDutyID: e.PagerDutyID, Name: e.Name, Email: e.Email, Role: e.Role, Teams: e.Teams}, nil, true
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
