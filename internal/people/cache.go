package people

import (
	"context"
	"time"
)

// Entry is what a Cache remembers of one PagerDuty user.
type Entry struct {
	// SlackUserID is the user's Slack user id; "" for a cached miss.
	SlackUserID string
	// Reason is why the user has no usable Slack account ("no Slack
	// account"; it is posted, so it never names an address); Reason != ""
	// means a cached miss.
	Reason string
	// ExpireAt is when the entry stops being used; the Resolver looks the
	// user up again after it.
	ExpireAt time.Time
}

// Cache is what the Resolver needs of the people cache: the Slack users
// of PagerDuty users, kept between calls (and, in Firestore, between
// instances). The store package's People implements it and ActorCache
// in one collection. Implementations must be safe for concurrent use.
type Cache interface {
	// SlackUsers returns the entries stored for pagerDutyIDs, keyed by
	// PagerDuty user id; ids without an entry are absent. Expired entries
	// may be returned: the caller checks ExpireAt.
	SlackUsers(ctx context.Context, pagerDutyIDs []string) (map[string]Entry, error)
	// PutSlackUsers stores entries, keyed by PagerDuty user id, replacing
	// what was stored for them.
	PutSlackUsers(ctx context.Context, entries map[string]Entry) error
}

// ActorEntry is what an ActorCache remembers of one Slack user.
type ActorEntry struct {
	// PagerDutyID, Name and Email are the PagerDuty user found; Email is
	// also the address no PagerDuty user has, for a miss.
	PagerDutyID, Name, Email string
	// Role is the PagerDuty user's role; Teams their teams' ids.
	Role  string
	Teams []string
	// Guest is set when the Slack user is a guest of the workspace.
	Guest bool
	// Reason is why there is no PagerDuty user ("no_email",
	// "no_pagerduty_user"); Reason != "" means a cached miss.
	Reason string
	// ExpireAt is when the entry stops being used.
	ExpireAt time.Time
}

// ActorCache is what Actors needs of the people cache: the PagerDuty
// users of Slack users, kept between calls. Implementations must be safe
// for concurrent use.
type ActorCache interface {
	// Actor returns the entry of the Slack user; ok is false without one.
	// An expired entry may be returned: the caller checks ExpireAt.
	Actor(ctx context.Context, slackUserID string) (e ActorEntry, ok bool, err error)
	// PutActor stores the entry of the Slack user, replacing any.
	PutActor(ctx context.Context, slackUserID string, e ActorEntry) error
}

// ValidID reports whether id can be a PagerDuty or Slack user id: both
// are short strings of letters and digits ("PXPGF42", "U024BE7LH").
// Anything else is never sent to PagerDuty or Slack nor used in a
// Firestore document id.
func ValidID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
