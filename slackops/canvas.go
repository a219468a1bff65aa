package slackops

import (
	"context"

	"github.com/slack-go/slack"
)

// CreateCanvas creates the channel's canvas showing markdown and returns
// its id (conversations.canvases.create; canvases:write, Tier 2). A
// workspace that cannot have channel canvases (Slack's free plan) is
// refused with incident.ErrNoCanvases, an app without the scope with
// incident.ErrMissingScope.
func (c *Client) CreateCanvas(ctx context.Context, channelID, title, markdown string) (string, error) {
	id, err := c.api.CreateChannelCanvasContext(ctx, channelID, slack.DocumentContent{Type: "markdown", Markdown: markdown},
		slack.CreateChannelCanvasOptionTitle(title))
	if err != nil {
		return "", translate("conversations.canvases.create "+channelID, err)
	}
	return id, nil
}

// EditCanvas replaces the whole of the canvas with markdown: one change,
// as canvases.edit takes one per call (Tier 3).
func (c *Client) EditCanvas(ctx context.Context, canvasID, markdown string) error {
	err := c.api.EditCanvasContext(ctx, slack.EditCanvasParams{CanvasID: canvasID, Changes: []slack.CanvasChange{{
		Operation: "replace", DocumentContent: slack.DocumentContent{Type: "markdown", Markdown: markdown},
	}}})
	return translate("canvases.edit "+canvasID, err)
}
