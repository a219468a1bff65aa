package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxNameTries bounds the conversations.create calls (Tier 2) for the
// wanted name: it and its numbered suffixes up to -5.
const maxNameTries = 5

// channelNames are the names a channel is created under, in order until
// one is free: name, then name-2 … name-5, then fallback (idChannelName).
// The numbered names settle an honest clash (an old channel of that
// name, two incidents with one title); the last one settles a squatter,
// who may take the names of incident numbers still to come but cannot
// know the incident id before the incident exists.
func channelNames(name, fallback string) []string {
	names := make([]string, 0, maxNameTries+1)
	for i := 1; i <= maxNameTries; i++ {
		names = append(names, withSuffix(name, i))
	}
	if fallback != "" && !slices.Contains(names, fallback) {
		names = append(names, fallback)
	}
	return names
}

// adoptNames are the names an earlier attempt may have created the
// channel under: each name it planned (earlier, with its numbered
// suffixes) and the names planned now.
func adoptNames(earlier, now []string) []string {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range earlier {
		for i := 1; i <= maxNameTries; i++ {
			add(withSuffix(n, i))
		}
	}
	for _, n := range now {
		add(n)
	}
	return names
}

// createChannel creates the incident's channel under the first free name
// of the plan's, and reports whether it has one. When an earlier attempt
// set out to create it and did not record the outcome (its answer was
// lost, or it died), a channel that attempt made is adopted instead.
func (x *executor) createChannel(ctx context.Context) bool {
	p, a := x.p, x.a
	id, got := "", ""
	if p.Adopt != nil {
		// The earlier attempt may have created the channel under another
		// name (a reference's title, before the full incident arrived).
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
	for _, try := range p.ChannelNames {
		if got != "" {
			break
		}
		created, err := a.slack.CreateChannel(ctx, try, p.Private)
		switch {
		case errors.Is(err, ErrNameTaken):
			continue
		case err != nil:
			x.failed(ctx, stepChannel, KeyChannel, nil, err)
			return false
		}
		id, got = created, try
	}
	if got == "" {
		x.failed(ctx, stepChannel, KeyChannel, nil, fmt.Errorf("create channel for incident %s: %w: all of %q",
			a.ev.IncidentID, &Error{Kind: KindTransient, Op: "conversations.create", Err: ErrNameTaken}, p.ChannelNames))
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

// idChannelName is the name a channel falls back to when the wanted name
// and its numbered suffixes are taken: "{prefix}-{number}-{incident id}"
// in lower case ("inc-1234-q1checkout"), "-rN" added for a later round
// as withRound does. PagerDuty's incident ids are random, so unlike the
// number it cannot be taken before the incident exists. Within Slack's 80
// characters a long prefix is cut, never the id.
func idChannelName(prefix string, inc Snapshot, round int) string {
	var tail string
	if inc.Number > 0 {
		tail += "-" + strconv.Itoa(inc.Number)
	}
	if id := Slug(inc.ID, MaxChannelName/2); id != "" {
		tail += "-" + id
	}
	if round >= 2 {
		tail += "-r" + strconv.Itoa(round)
	}
	base := Slug(prefix, MaxChannelName)
	if base == "" {
		base = "inc"
	}
	if len(base)+len(tail) > MaxChannelName {
		base = strings.TrimRight(base[:MaxChannelName-len(tail)], "-")
	}
	return base + tail
}
