package slackops

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

// PostBoard posts the incident's message in a shared channel (the announce
// line, or the post-only message its updates are threaded under) and
// returns its ts. The bot joins a public channel it is not in; a private
// channel must have the bot invited, else the error is an *APIError
// saying so.
func (c *Client) PostBoard(ctx context.Context, channelID string, b incident.BoardEntry) (string, error) {
	ts, err := c.post(ctx, channelID, BoardText(b), BoardBlocks(b), PlainBoardBlocks(b),
		slack.SlackMetadata{EventType: BoardMetadataType, EventPayload: map[string]any{"incident_id": b.Incident.ID}})
	if err != nil {
		return "", sharedChannelError(channelID, translate("chat.postMessage "+channelID, err))
	}
	return ts, nil
}

// UpdateBoard edits the incident's message in a shared channel in place;
// incident.ErrRootGone when someone deleted it.
func (c *Client) UpdateBoard(ctx context.Context, channelID, ts string, b incident.BoardEntry) error {
	err := c.edit(ctx, channelID, ts, BoardText(b), BoardBlocks(b), PlainBoardBlocks(b))
	return sharedChannelError(channelID, translate("chat.update "+channelID, err))
}

// sharedChannelError explains channel_not_found in a shared channel: Slack
// answers it for a private channel the bot was not invited to as well.
func sharedChannelError(channelID string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "channel_not_found" && ae.Detail == "" {
		return &incident.Error{Kind: incident.KindRefused, Op: ae.Method + " " + channelID, Err: &APIError{Method: ae.Method, Code: ae.Code,
			Detail: "no channel " + channelID + " that the bot can see: a private channel needs the bot invited to it"}}
	}
	return err
}
