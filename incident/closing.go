// Closing a channel: the sweep's archive and the note a merge leaves in
// the surviving incident's channel.

package incident

import (
	"context"
)

// archive posts the notice that the channel is being archived (looked
// up first when an earlier attempt's entry is in the ledger), then
// archives it: one ledger entry, KeyArchive, covers both.
func (x *executor) archive(ctx context.Context) {
	st := x.st
	if st.RootTS != "" {
		// A root someone deleted leaves no thread: the channel is archived
		// without the notice (the policy skips it).
		_, err := x.post(ctx, thread{channelID: st.ChannelID, ts: st.RootTS}, *x.p.ArchiveNotice, x.p.FindArchive)
		if err != nil && !x.failed(ctx, stepArchiveNotice, KeyArchive, nil, err) {
			return
		}
	}
	if err := x.a.slack.ArchiveChannel(ctx, st.ChannelID); err != nil {
		x.failed(ctx, stepArchive, KeyArchive, nil, err)
		return
	}
	x.locked(func(r *Results) { r.Closed = true; x.ran[KeyArchive] = true })
}

// mergeNote tells the incident this one was merged into, in its channel's
// thread, linking this incident's channel (created in this round,
// perhaps). It looks for the note first when an earlier attempt's entry
// is in the ledger.
func (x *executor) mergeNote(ctx context.Context) {
	sv := x.p.Survivor
	note := *x.p.MergedIn
	note.Channel = x.st.ChannelID
	if _, err := x.post(ctx, thread{channelID: sv.ChannelID, ts: sv.RootTS}, note, x.p.FindMergeNote); err != nil && !x.failed(ctx, stepMergeNote, KeyMergeNote, nil, err) {
		return
	}
	x.locked(func(r *Results) { r.MergeNoted = true; x.ran[KeyMergeNote] = true })
}
