package slackops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.ExternalChannels = (*Client)(nil)

// sharedTTL is how long conversations.info's word on a channel's sharing
// is reused. Sharing a channel with another organisation takes an admin
// on both sides, so a few minutes' delay in noticing it is a small risk,
// and the incidents' messages cost no call of their own.
const sharedTTL = 10 * time.Minute

// sharing is what conversations.info said of a channel's sharing, and
// when (zero: not yet asked). mu is held while Slack is asked, so that
// deliveries asking at once share one call.
type sharing struct {
	mu       sync.Mutex
	external bool
	at       time.Time
}

// ExternallyShared reports whether the channel is shared with another
// organisation through Slack Connect (is_ext_shared), or about to be
// (is_pending_ext_shared: an invitation is out, and the history becomes
// theirs once it is accepted). A channel shared among the workspaces of
// one Enterprise organisation (is_org_shared) is not: its people are the
// organisation's own. Each channel is asked about with conversations.info
// at most once every ten minutes per Client; a failed call is not
// remembered. The error is classified like any other Slack call's.
func (c *Client) ExternallyShared(ctx context.Context, channelID string) (bool, error) {
	c.mu.Lock()
	s := c.shared[channelID]
	if s == nil {
		if c.shared == nil {
			c.shared = map[string]*sharing{}
		}
		s = &sharing{}
		c.shared[channelID] = s
	}
	c.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.at.IsZero() && c.now().Sub(s.at) < sharedTTL {
		return s.external, nil
	}
	ch, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		err = translate("conversations.info "+channelID, err)
		if incident.KindOf(err) == incident.KindMaybeDone {
			// A read takes no effect: no answer is worth a retry, not
			// a look-up of what it did.
			err = &incident.Error{Kind: incident.KindTransient, Op: "conversations.info " + channelID, Err: err}
		}
		return false, err
	}
	s.external, s.at = ch.IsExtShared || ch.IsPendingExtShared, c.now()
	return s.external, nil
}

// SharedChannels returns those of ids that are shared with another
// organisation (see ExternallyShared), each checked once, all at once.
// The error names each channel that could not be checked; the channels
// found shared are returned all the same. The function's start and a
// configuration check use it; the answers are remembered for the
// incidents' messages.
func (c *Client) SharedChannels(ctx context.Context, ids []string) ([]string, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	external := make([]bool, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			external[i], errs[i] = c.ExternallyShared(ctx, id)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("channel %s: %w", id, errs[i])
			}
		})
	}
	wg.Wait()
	var shared []string
	for i, id := range ids {
		if external[i] {
			shared = append(shared, id)
		}
	}
	return shared, errors.Join(errs...)
}
