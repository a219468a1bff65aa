package app

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"

	"github.com/incident-channels/incident-channels/internal/config"
)

// postedChannels returns the channels the function posts in besides the
// incidents' own, each with the settings that name it:
// SLACK_ANNOUNCE_CHANNEL, `rule "payments" announce`, `rule "rest"
// post_to`.
func postedChannels(cfg config.Config) map[string][]string {
	posted := map[string][]string{}
	if cfg.Announce != "" {
		posted[cfg.Announce] = append(posted[cfg.Announce], "SLACK_ANNOUNCE_CHANNEL")
	}
	if cfg.Routes != nil {
		for _, p := range cfg.Routes.Posted() {
			posted[p.Channel] = append(posted[p.Channel], "rule "+strconv.Quote(p.Rule)+" "+p.Key)
		}
	}
	return posted
}

// checkSharedChannels says in the log which of the channels the function
// posts in besides the incidents' own are shared with another
// organisation (Slack Connect), naming the settings that name them: they
// get nothing unless ALLOW_SHARED_CHANNELS=true. It gives up when ctx
// ends; a channel it could not check is checked before the first message
// meant for it, so the start is never held up for long.
func (h *Handler) checkSharedChannels(ctx context.Context, log *slog.Logger) {
	if len(h.posted) == 0 {
		return
	}
	shared, err := h.slackOps.SharedChannels(ctx, slices.Collect(maps.Keys(h.posted)))
	if err != nil {
		log.WarnContext(ctx, "could not tell whether the announce and post_to channels are shared with another organisation: each is checked before its first message",
			"error", err.Error())
	}
	for _, id := range shared {
		if h.allowShared {
			log.WarnContext(ctx, "channel shared with another organisation (Slack Connect): incidents are posted there, as ALLOW_SHARED_CHANNELS=true",
				"channel_id", id, "set_by", h.posted[id])
			continue
		}
		log.WarnContext(ctx, "channel shared with another organisation (Slack Connect): nothing is posted there unless ALLOW_SHARED_CHANNELS=true",
			"channel_id", id, "set_by", h.posted[id])
	}
}
