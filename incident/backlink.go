package incident

import "context"

// backlink writes the note on the PagerDuty incident that names its
// channel, once per channel: an earlier attempt's note whose answer was
// lost is looked up by the channel's link first.
func (x *executor) backlink(ctx context.Context) {
	pd, st := x.a.cfg.PagerDuty, x.st
	done := func() {
		x.locked(func(r *Results) { r.Backlinked = st.ChannelID; x.ran[KeyBacklink] = true })
	}
	if x.p.FindBacklink {
		found, err := pd.HasNote(ctx, st.Snapshot.ID, BacklinkMarker(st.ChannelID))
		if err != nil {
			if x.failed(ctx, stepBacklink, KeyBacklink, nil, err) {
				done()
			}
			return
		}
		if found {
			done()
			return
		}
	}
	if err := pd.AddNote(ctx, st.Snapshot.ID, BacklinkNote(st.ChannelID, st.ChannelName)); err != nil && !x.failed(ctx, stepBacklink, KeyBacklink, nil, err) {
		return
	}
	done()
}
