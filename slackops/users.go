package slackops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/emailaddr"
)

// groupsTTL is how long the user group handle → id map is trusted.
const groupsTTL = 5 * time.Minute

// groupsMissRefresh is how soon after a listing a handle that is not in it
// is answered ErrGroupNotFound without listing again: a rule naming a
// handle that does not exist must not cost a usergroups.list (Tier 2,
// about 20 a minute) on every event.
const groupsMissRefresh = 30 * time.Second

// groupID matches a user group id: S followed by upper-case letters and
// digits.
var groupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)

// GroupMembers returns the user ids of the members of a user group, given
// by id (S0123ABC) or handle (@sre-oncall, the @ optional). A handle is
// turned into an id with usergroups.list, kept for five minutes and listed
// again once when a handle is missing from it. An unknown or disabled
// group is incident.ErrGroupNotFound.
func (c *Client) GroupMembers(ctx context.Context, group string) ([]string, error) {
	id := group
	if strings.HasPrefix(group, "@") || !groupID.MatchString(group) {
		handle := strings.TrimPrefix(group, "@")
		var err error
		if id, err = c.groupByHandle(ctx, handle); err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("user group %s: %w", group, incident.ErrGroupNotFound)
		}
	}
	c.mu.Lock()
	cached, ok := c.members[id]
	now := c.now()
	c.mu.Unlock()
	if ok && now.Sub(cached.at) < membersTTL {
		return slices.Clone(cached.users), nil
	}
	users, err := c.api.GetUserGroupMembersContext(ctx, id)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "no_such_subteam" {
			return nil, fmt.Errorf("user group %s: %w", group, incident.ErrGroupNotFound)
		}
		return nil, translate("usergroups.users.list "+id, err)
	}
	c.mu.Lock()
	if c.members == nil {
		c.members = map[string]cachedMembers{}
	}
	c.members[id] = cachedMembers{users: slices.Clone(users), at: now}
	c.mu.Unlock()
	return users, nil
}

// membersTTL is how long a user group's members are reused.
const membersTTL = time.Minute

type cachedMembers struct {
	users []string
	at    time.Time
}

// groupByHandle returns the id of the enabled user group with the handle,
// or "" when there is none.
func (c *Client) groupByHandle(ctx context.Context, handle string) (string, error) {
	c.mu.Lock()
	id, at, now := c.groups[handle], c.groupsAt, c.now()
	c.mu.Unlock()
	fresh := !at.IsZero() && now.Sub(at) < groupsTTL
	if id != "" && fresh || id == "" && !at.IsZero() && now.Sub(at) < groupsMissRefresh {
		return id, nil
	}

	// One listing at a time: concurrent look-ups wait for it and use
	// its answer.
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	c.mu.Lock()
	if c.groupsAt.After(at) {
		id = c.groups[handle]
		c.mu.Unlock()
		return id, nil
	}
	c.mu.Unlock()

	groups, err := c.api.GetUserGroupsContext(ctx)
	if err != nil {
		return "", translate("usergroups.list", err)
	}
	m := make(map[string]string, len(groups))
	for _, g := range groups {
		if g.DateDelete == 0 { // disabled groups are left out
			m[g.Handle] = g.ID
		}
	}
	c.mu.Lock()
	c.groups, c.groupsAt = m, c.now()
	c.mu.Unlock()
	return m[handle], nil
}

// LookupByEmail returns the id of the Slack user with the email address.
// No such user (Slack answers users_not_found for a deactivated user too),
// a bot, and a user whose profile shows another address than email
// (emailaddr.Equal: Slack's own matching may fold more than ASCII case)
// are incident.ErrUserNotFound; a user Slack returns as deleted is
// incident.ErrUserDeactivated. Rate limits and failures are
// *incident.Error.
func (c *Client) LookupByEmail(ctx context.Context, email string) (string, error) {
	u, err := c.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "users_not_found" || se.Err == "user_not_found") {
			return "", fmt.Errorf("users.lookupByEmail: %w", incident.ErrUserNotFound)
		}
		return "", translate("users.lookupByEmail", err)
	}
	switch {
	case u.ID == "":
		return "", fmt.Errorf("users.lookupByEmail: %w", incident.ErrUserNotFound)
	case u.Deleted:
		return "", fmt.Errorf("users.lookupByEmail: %s: %w", u.ID, incident.ErrUserDeactivated)
	case u.IsBot || u.IsAppUser:
		return "", fmt.Errorf("users.lookupByEmail: %s is a bot: %w", u.ID, incident.ErrUserNotFound)
	case u.Profile.Email != "" && !emailaddr.Equal(u.Profile.Email, email):
		return "", fmt.Errorf("users.lookupByEmail: %s has another address: %w", u.ID, incident.ErrUserNotFound)
	}
	return u.ID, nil
}
