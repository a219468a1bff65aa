// The incident's messages in shared channels: posted once (looked up
// first when an earlier attempt may have), then edited in place.

package incident

import (
	"context"
	"slices"
)

// entry is what a board shows.
func (x *executor) entry(b Board) BoardEntry {
	st := x.st
	e := BoardEntry{Incident: st.Snapshot, ChannelID: st.ChannelID, Thread: b.Thread, Archived: st.ChannelArchived}
	if b.Thread {
		for _, l := range st.History {
			if l.Early {
				e.Before = append(e.Before, l)
			}
		}
	}
	return e
}

// optional reports whether b is a message the incident's updates need
// not wait for: any but the post-only message of an incident without a
// channel of its own, which its replies are threaded under.
func (x *executor) optional(b Board) bool { return !b.Thread || x.st.ChannelID != "" }

// bookmarks adds the plan's bookmarks, each once: in a channel where an
// earlier attempt may have added some unrecorded, it lists them first.
func (x *executor) bookmarks(ctx context.Context) {
	ch := x.st.ChannelID
	var have []string
	if x.p.FindBookmarks {
		var err error
		if have, err = x.a.slack.Bookmarks(ctx, ch); err != nil {
			x.failed(ctx, stepLookup, "", nil, err)
			return
		}
	}
	for _, b := range x.p.Bookmarks {
		x.goSafe(func() {
			key := BookmarkKey(b.Link)
			if !slices.Contains(have, b.Link) {
				if err := x.a.slack.AddBookmark(ctx, ch, b); err != nil && !x.failed(ctx, stepBookmark, key, nil, err) {
					return
				}
			}
			x.locked(func(r *Results) { r.Bookmarks = append(r.Bookmarks, b.Link); x.ran[key] = true })
		})
	}
}

// board posts or edits the incident's message in a shared channel.
func (x *executor) board(ctx context.Context, b Board) {
	if b.TS == "" {
		x.postBoard(ctx, b)
		return
	}
	err := x.postable(ctx, b.ChannelID)
	if err == nil {
		err = x.a.slack.UpdateBoard(ctx, b.ChannelID, b.TS, x.entry(b))
	}
	if err != nil {
		s := stepBoardEdit
		if x.optional(b) {
			s = stepAnnounceEdit
		}
		x.failed(ctx, s, BoardKey(b.ChannelID), &b, err)
		return
	}
	b.Version, b.HasChannel = x.st.Version, x.st.ChannelID != ""
	x.locked(func(r *Results) { r.Boards = append(r.Boards, b) })
}

// postBoard posts a shared-channel message, unless an earlier attempt's
// is found.
func (x *executor) postBoard(ctx context.Context, b Board) (string, bool) {
	key := BoardKey(b.ChannelID)
	s := stepBoardPost
	if x.optional(b) {
		s = stepAnnouncePost
	}
	if err := x.postable(ctx, b.ChannelID); err != nil {
		x.failed(ctx, s, key, &b, err)
		return "", false
	}
	var ts string
	if x.mustFind(key) {
		var err error
		if ts, err = x.a.slack.FindBoard(ctx, b.ChannelID, x.st.Snapshot.ID); err != nil {
			x.failed(ctx, s, key, &b, err)
			return "", false
		}
	}
	// A message found shows what the earlier attempt rendered, perhaps
	// an older snapshot: version 0 has it edited to the newest.
	b.Version, b.HasChannel = 0, false
	if ts == "" {
		var err error
		if ts, err = x.a.slack.PostBoard(ctx, b.ChannelID, x.entry(b)); err != nil {
			x.failed(ctx, s, key, &b, err)
			return "", false
		}
		b.Version, b.HasChannel = x.st.Version, x.st.ChannelID != ""
	}
	b.TS = ts
	x.locked(func(r *Results) { r.Boards = append(r.Boards, b); x.ran[key] = true })
	return ts, true
}

// postable returns nil when the incident's messages may go to the shared
// channel: the configuration checks nothing, or the channel is not shared
// with another organisation. One that is comes as a refusal
// (ErrExternalChannel), which the policy gives up like a channel refusing
// the message; a check that failed is acted on as the post's failure
// would be.
func (x *executor) postable(ctx context.Context, channelID string) error {
	ext := x.a.cfg.ExternalChannels
	if ext == nil {
		return nil
	}
	switch shared, err := ext.ExternallyShared(ctx, channelID); {
	case err != nil:
		return err
	case shared:
		return &Error{Kind: KindRefused, Op: "post in " + channelID, Err: ErrExternalChannel}
	}
	return nil
}
