package incident

import (
	"context"
	"errors"
	"time"
)

// Route is what the routing rules decide for one incident: whether it gets
// a channel of its own and how it is set up, who is invited, and which
// shared channels hear of it. It is computed from the current snapshot on
// every event, so an incident whose priority is raised later can move from
// a post-only channel (or none) to a channel of its own; it never moves
// back: a channel once opened stays the incident's.
type Route struct {
	// Rule is the name of the rule that matched; "" for the default route
	// (no rules file, or no rule matched).
	Rule string
	// Channel is set when the incident gets a channel of its own.
	Channel bool
	// Prefix starts the channel's name (CHANNEL_PREFIX unless the rule
	// sets its own).
	Prefix string
	// Private makes the channel private.
	Private bool
	// InviteUsers are Slack user ids invited to the channel.
	InviteUsers []string
	// InviteGroups are Slack user groups (ids like S0123ABC, or @handles)
	// whose members are invited to the channel.
	InviteGroups []string
	// Announce is the channel id where one message per incident channel
	// links the channel and shows its status; "" for none.
	Announce string
	// PostChannel is the channel id where an incident without a channel
	// of its own gets one message, edited in place, with its updates
	// threaded under it; "" for none (the incident is then only
	// recorded).
	PostChannel string
}

// Router picks the route of an incident from its snapshot. It must be
// pure: the service calls it inside store transactions, maybe more than
// once.
type Router interface {
	Route(inc Snapshot) Route
}

// Directory finds the Slack users of PagerDuty users.
type Directory interface {
	// SlackUsers maps users (PagerDuty user references) to Slack user ids.
	// found is keyed by PagerDuty user id; missing lists the users that
	// have no usable Slack account, each with a short reason for people
	// ("no Slack account"), which is posted in the channel and so never
	// names an email address. err is a failure worth a redelivery
	// (*Error: the PagerDuty API or Slack was rate limited or
	// unavailable); found and missing are then to be ignored.
	SlackUsers(ctx context.Context, users []Ref) (found map[string]string, missing []Unmatched, err error)
}

// Unmatched is a PagerDuty user who could not be added to a channel.
type Unmatched struct {
	User   Ref
	Reason string
}

// InviteFailure is a Slack user that conversations.invite refused
// (deactivated, not found, a guest who cannot join): the other users were
// invited all the same.
type InviteFailure struct {
	UserID string
	// Reason is short and readable by people ("deactivated").
	Reason string
}

// BoardEntry is what a message in a shared channel shows of one incident:
// the announce channel's line, or the post-only channel's message.
type BoardEntry struct {
	Incident Snapshot
	// ChannelID is the incident's own channel, linked from the message;
	// "" while it has none.
	ChannelID string
	// Thread is set for a post-only message: the incident's updates are
	// threaded under it.
	Thread bool
	// Before lists, on a post-only message, the events that arrived
	// before the incident's details and so have no reply of their own.
	Before []HistoryLine
	// Archived is set once the incident's own channel is archived.
	Archived bool
	// Update is the latest status update, shown on the announce line.
	Update StatusUpdate
}

// Board is a message about the incident in a shared channel (announce or
// post-only), posted once and edited in place as the incident changes.
// While it is being posted it is a ledger entry (BoardKey), not a Board.
type Board struct {
	ChannelID string
	TS        string
	// GaveUp is set when the channel refused the message for good (the
	// bot cannot post there, the channel is archived or gone): it is
	// neither posted nor edited again.
	GaveUp bool
	// Version is the State.Version the message was last rendered from;
	// HasChannel whether it linked the incident's own channel.
	Version    int64
	HasChannel bool
	// Thread is set for the post-only message the updates are threaded
	// under.
	Thread bool
}

// HistoryLine is one event of an incident, kept while the incident has
// no channel of its own so that the channel it gets later can tell what
// happened before.
type HistoryLine struct {
	At   time.Time
	Text string
	// EventID is the event the line tells of.
	EventID string
	// Early is set for an event that arrived before any full incident
	// payload: with routing rules nothing is posted for it then, so the
	// post-only message shows it.
	Early bool
}

// Errors of the Slack user look-ups.
var (
	// ErrUserNotFound means Slack has no user with the email address.
	ErrUserNotFound = errors.New("no Slack user with that email")
	// ErrUserDeactivated means the Slack user was deactivated.
	ErrUserDeactivated = errors.New("Slack user deactivated")
	// ErrNoEmail means Slack shows no email address for a user: a bot,
	// or an app without the users:read.email scope.
	ErrNoEmail = errors.New("Slack shows no email address for the user (a bot, or the Slack app lacks the users:read.email scope)")
	// ErrGroupNotFound means the Slack user group does not exist (or is
	// disabled).
	ErrGroupNotFound = errors.New("Slack user group not found")
)
