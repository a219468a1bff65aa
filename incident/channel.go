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

// createChannel creates the incident's channel under the first of the
// plan's names that is not taken, and reports whether it has one. When an earlier
// attempt set out to create it and did not record the outcome (its answer
// was lost, or it died), a channel that attempt made is adopted instead.
func (x *executor) createChannel(ctx context.Context) bool {
	p, a := x.p, x.a
	id, got := "", ""
	if p.Adopt != nil {
		found, name, err := a.slack.FindChannel(ctx, p.AdoptNames, p.Adopt.Since.Add(-time.Minute))
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
	// Adopted, got is set: nothing is created.
	for i := 0; i < len(p.ChannelNames) && got == ""; i++ {
		try := p.ChannelNames[i]
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
			a.ev.IncidentID, &Error{Kind: KindTransient, Op: "conversations.create", Err: ErrNameTaken}, p.ChannelName, len(p.ChannelNames)-1))
		return false
	}
	x.locked(func(r *Results) { r.ChannelID, r.ChannelName = id, got; x.ran[KeyChannel] = true })
	return true
}

// channelNames are the names a channel wanted as name is created under,
// in order: name, then name-2 … name-maxNameTries.
func channelNames(name string) []string {
	names := make([]string, 0, maxNameTries)
	for i := 1; i <= maxNameTries; i++ {
		names = append(names, withSuffix(name, i))
	}
	return names
}

// adoptNames are the names an earlier attempt may have created a channel
// under, wanting one of wanted (a reference's title before the full
// incident arrived, say): each with its suffixes, once.
func adoptNames(wanted []string) []string {
	var names []string
	for _, n := range wanted {
		for _, s := range channelNames(n) {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	return names
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
