package slackops

// Looking up what an earlier attempt may have done: the root message,
// the board message, a thread reply, a channel, the bookmarks. Every
// message the function posts carries metadata naming the incident or
// event it is for, so an attempt whose answer was lost can be settled.

import (
	"context"
	"slices"
	"time"

	"github.com/slack-go/slack"
)

// Message metadata types. Every root message and thread reply carries
// metadata naming its incident or PagerDuty event, so a redelivery can find
// what an attempt posted but could not record.
const (
	RootMetadataType  = "incident_channels_root"
	ReplyMetadataType = "incident_channels_event"
	// BoardMetadataType marks an incident's message in a shared channel
	// (announce or post-only); its payload names the incident.
	BoardMetadataType = "incident_channels_board"
)

// maxFindPages bounds the pages of history or replies one Find call reads.
const maxFindPages = 5

// FindRoot returns the ts of the root message posted for incidentID, or ""
// when the channel's recent history holds none. The root is the channel's
// first message and is looked for only until it is recorded, so a few
// pages of history are enough.
func (c *Client) FindRoot(ctx context.Context, channelID, incidentID string) (string, error) {
	return c.findTop(ctx, channelID, RootMetadataType, incidentID)
}

// FindBoard returns the ts of the message posted for incidentID in a
// shared channel, or "" when the channel's recent history (a few pages)
// holds none. It is looked for only right after a post whose outcome was
// not recorded, so the message is among the newest.
func (c *Client) FindBoard(ctx context.Context, channelID, incidentID string) (string, error) {
	ts, err := c.findTop(ctx, channelID, BoardMetadataType, incidentID)
	return ts, sharedChannelError(channelID, err)
}

// findTop returns the ts of the newest top-level message this bot posted
// in the channel with metadata of eventType naming incidentID, reading at
// most maxFindPages pages of history.
func (c *Client) findTop(ctx context.Context, channelID, eventType, incidentID string) (string, error) {
	bot, err := c.bot(ctx)
	if err != nil {
		return "", err
	}
	params := &slack.GetConversationHistoryParameters{ChannelID: channelID, Limit: 200, IncludeAllMetadata: true}
	for range maxFindPages {
		var resp *slack.GetConversationHistoryResponse
		err := c.inChannel(ctx, channelID, func() (err error) {
			resp, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", translate("conversations.history "+channelID, err)
		}
		for _, m := range resp.Messages {
			// Only this bot's messages: after the app is reinstalled as
			// another bot user, the old message can no longer be edited.
			if m.User == bot && m.Metadata.EventType == eventType && m.Metadata.EventPayload["incident_id"] == incidentID {
				return m.Timestamp, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", nil
}

// FindReply returns the ts of the reply posted for eventID in the thread of
// rootTS, or "" when there is none.
func (c *Client) FindReply(ctx context.Context, channelID, rootTS, eventID string) (string, error) {
	params := &slack.GetConversationRepliesParameters{ChannelID: channelID, Timestamp: rootTS, Limit: 200, IncludeAllMetadata: true}
	for range maxFindPages {
		var (
			msgs   []slack.Message
			more   bool
			cursor string
		)
		err := c.inChannel(ctx, channelID, func() (err error) {
			msgs, more, cursor, err = c.api.GetConversationRepliesContext(ctx, params)
			return err
		})
		if err != nil {
			return "", translate("conversations.replies "+channelID, err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType == ReplyMetadataType && m.Metadata.EventPayload["event_id"] == eventID {
				return m.Timestamp, nil
			}
		}
		if !more || cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	return "", nil
}

// maxListPages bounds the conversations.list pages (Tier 2, 1000 channels
// each) read to find an orphan channel.
const maxListPages = 10

// FindChannel returns the id and name of a live channel, public or
// private, with one of names that this app's bot created at or after
// createdAfter, or "" when there is none. It reads the workspace's channel
// list (private channels only those the bot is in, which it is in every
// channel it created), so it is only called after a creation attempt that
// may have created a channel unrecorded.
func (c *Client) FindChannel(ctx context.Context, names []string, createdAfter time.Time) (string, string, error) {
	bot, err := c.bot(ctx)
	if err != nil {
		return "", "", err
	}
	params := &slack.GetConversationsParameters{ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"}}
	for range maxListPages {
		chs, cursor, err := c.api.GetConversationsContext(ctx, params)
		if err != nil {
			return "", "", translate("conversations.list", err)
		}
		for _, ch := range chs {
			if !slices.Contains(names, ch.Name) {
				continue
			}
			created := time.Unix(int64(ch.Created), 0)
			if ch.Creator == bot && !created.Before(createdAfter.Truncate(time.Second)) {
				return ch.ID, ch.Name, nil
			}
		}
		if cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	return "", "", nil
}

// Bookmarks returns the links bookmarked in the channel.
func (c *Client) Bookmarks(ctx context.Context, channelID string) ([]string, error) {
	var bs []slack.Bookmark
	err := c.inChannel(ctx, channelID, func() (err error) {
		bs, err = c.api.ListBookmarksContext(ctx, channelID)
		return err
	})
	if err != nil {
		return nil, translate("bookmarks.list "+channelID, err)
	}
	links := make([]string, 0, len(bs))
	for _, b := range bs {
		links = append(links, b.Link)
	}
	return links, nil
}
