package slackops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

// The Slack calls behind the incident channel's actions (buttons, /inc,
// the note modal, the message shortcut): who clicked, a modal to open, a
// link to a message, and which workspace the bot token belongs to.

// ErrTriggerExpired means Slack refused a trigger_id: more than 3 s old,
// or used already. The view can only be opened by a new interaction.
var ErrTriggerExpired = errors.New("the trigger_id is over 3 s old or was used already: a modal must be opened right after the click, once")

// SlackUser returns what Slack says of a user who asks to act
// (users.info), judged against the bot token's workspace: a user of
// another team (other than the workspace's Enterprise Grid organisation)
// or marked is_stranger is External. An unknown user is
// incident.ErrUserNotFound; rate limits and failures are *incident.Error.
// Email is "" when Slack shows none (without the users:read.email scope).
func (c *Client) SlackUser(ctx context.Context, userID string) (incident.SlackUser, error) {
	_, ws, err := c.whoami(ctx)
	if err != nil {
		return incident.SlackUser{}, err
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "user_not_found" || se.Err == "users_not_found") {
			return incident.SlackUser{}, fmt.Errorf("users.info %s: %w", userID, incident.ErrUserNotFound)
		}
		return incident.SlackUser{}, translate("users.info "+userID, err)
	}
	ours := ws.Owns(u.TeamID) || (ws.EnterpriseID != "" && u.Enterprise.EnterpriseID == ws.EnterpriseID)
	return incident.SlackUser{
		Email:          u.Profile.Email,
		External:       !ours || u.IsStranger,
		Deleted:        u.Deleted,
		Bot:            u.IsBot || u.IsAppUser || u.ID == "USLACKBOT",
		Guest:          u.IsRestricted || u.IsUltraRestricted,
		EmailConfirmed: u.IsEmailConfirmed,
	}, nil
}

// OpenView opens the modal for the user of the interaction that gave
// triggerID (views.open). An expired or used trigger is an
// *incident.Error that errors.Is ErrTriggerExpired; a view Slack refuses
// is an *incident.Error carrying an *APIError whose Detail holds Slack's
// messages naming the faulty fields.
func (c *Client) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	const op = "views.open"
	_, err := c.api.OpenViewContext(ctx, triggerID, view)
	if err == nil {
		return nil
	}
	var se slack.SlackErrorResponse
	switch {
	case errors.Is(err, slack.ErrParametersMissing) || errors.Is(err, slack.ErrBlockIDNotUnique):
		// slack-go refused it before sending.
		return &incident.Error{Kind: incident.KindRefused, Op: op, Err: &APIError{Method: op, Code: "invalid_arguments", Detail: err.Error()}}
	case errors.As(err, &se) && (se.Err == "expired_trigger_id" || se.Err == "exchanged_trigger_id"):
		return &incident.Error{Kind: incident.KindRefused, Op: op,
			Err: fmt.Errorf("%w: %w", &APIError{Method: op, Code: se.Err}, ErrTriggerExpired)}
	case errors.As(err, &se) && se.Err == "invalid_arguments" && len(se.ResponseMetadata.Messages) > 0:
		return &incident.Error{Kind: incident.KindRefused, Op: op,
			Err: &APIError{Method: op, Code: se.Err, Detail: strings.Join(se.ResponseMetadata.Messages, "; ")}}
	}
	return translate(op, err)
}

// Permalink returns the link to the message ts of the channel
// (chat.getPermalink). A deleted message is incident.ErrRootGone.
func (c *Client) Permalink(ctx context.Context, channelID, ts string) (string, error) {
	link, err := c.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channelID, Ts: ts})
	if err != nil {
		return "", translate("chat.getPermalink "+channelID, err)
	}
	return link, nil
}

// Workspace is the app's own workspace: the bot token's team and, on
// Enterprise Grid, its organisation (auth.test's team_id and
// enterprise_id).
type Workspace struct {
	TeamID, EnterpriseID string
}

// Owns reports whether a team id Slack gives (a payload's team.id or
// user.team_id, a user's team_id) is the workspace's own: its team, or
// its Enterprise Grid organisation, which Slack gives as the team of an
// organisation's users.
func (w Workspace) Owns(teamID string) bool {
	return teamID != "" && (teamID == w.TeamID || (w.EnterpriseID != "" && teamID == w.EnterpriseID))
}

// Workspace returns the workspace the bot token belongs to, asking
// auth.test the first time: requests and users of other workspaces are
// refused.
func (c *Client) Workspace(ctx context.Context) (Workspace, error) {
	_, ws, err := c.whoami(ctx)
	return ws, err
}

// UserName returns how a Slack user is shown: their display name, else
// their real name, else their user name (users.info).
func (c *Client) UserName(ctx context.Context, userID string) (string, error) {
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", translate("users.info "+userID, err)
	}
	for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
		if strings.TrimSpace(n) != "" {
			return n, nil
		}
	}
	return userID, nil
}

// ShareFile shares a text file named name and titled title in the
// thread of threadTS in the channel (files.getUploadURLExternal, the
// upload, files.completeUploadExternal; files:write).
func (c *Client) ShareFile(ctx context.Context, channelID, threadTS, name, title, content string) error {
	_, err := c.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: name, Title: title, Content: content, FileSize: len(content),
		Channel: channelID, ThreadTimestamp: threadTS,
	})
	return translate("files.completeUploadExternal "+channelID, err)
}
