package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// maxNameTries bounds conversations.create calls (Tier 2) for one name.
const maxNameTries = 5

// createChannel creates the incident's channel, trying suffixed names
// when the name is taken, and reports whether it has one. When an earlier
// attempt set out to create it and did not record the outcome (its answer
// was lost, or it died), a channel that attempt made is adopted instead.
func (x *executor) createChannel(ctx context.Context) bool {
	p, a := x.p, x.a
	id, got := "", ""
	if p.Adopt != nil {
		// The earlier attempt may have created the channel under another
		// name (a reference's title, before the full incident arrived).
		var names []string
		for _, n := range append(slices.Clone(p.Adopt.Names), p.ChannelName) {
			for i := 1; i <= maxNameTries; i++ {
				if s := withSuffix(n, i); !slices.Contains(names, s) {
					names = append(names, s)
				}
			}
		}
		found, name, err := a.slack.FindChannel(ctx, names, p.Adopt.Since.Add(-time.Minute))
		switch {
		case IsRetryable(err):
			x.failed(ctx, stepLookup, "", nil, fmt.Errorf("look for an orphan channel of incident %s: %w", a.ev.IncidentID, err))
			return false
		case err != nil:
			// Creating without knowing could leave the earlier attempt's
			// channel orphaned: a second channel for the incident.
			x.failed(ctx, stepLookup, "", nil, fmt.Errorf("look for an orphan channel of incident %s: %w", a.ev.IncidentID, err))
			return false
		case found != "":
			id, got = found, name
			a.log.InfoContext(ctx, "adopted a channel an earlier attempt created but did not record",
				"incident_id", a.ev.IncidentID, "channel_id", found, "channel_name", name)
		}
	}
	for i := 1; i <= maxNameTries && got == ""; i++ {
		try := withSuffix(p.ChannelName, i)
		var err error
		id, err = a.slack.CreateChannel(ctx, try, p.Private)
		if errors.Is(err, ErrNameTaken) {
			continue
		}
		if err != nil {
			x.failed(ctx, stepChannel, KeyChannel, nil, err)
			return false
		}
		got = try
	}
	if got == "" {
		x.failed(ctx, stepChannel, KeyChannel, nil, fmt.Errorf("create channel for incident %s: %w: %q and %d suffixed names",
			a.ev.IncidentID, &Error{Kind: KindTransient, Op: "conversations.create", Err: ErrNameTaken}, p.ChannelName, maxNameTries-1))
		return false
	}
	x.locked(func(r *Results) { r.ChannelID, r.ChannelName = id, got; x.ran[KeyChannel] = true })
	return true
}

// withSuffix returns name for the first try and name-N (within 80
// characters) for later ones.
func withSuffix(name string, try int) string {
	if try == 1 {
		return name
	}
	suffix := "-" + strconv.Itoa(try)
	if len(name)+len(suffix) > MaxChannelName {
		name = name[:MaxChannelName-len(suffix)]
	}
	return name + suffix
}
