package slack

import (
	"maps"
	"net/url"
	"time"
)

// Limit is one method's rate limit: at most Calls calls in any span of
// Per (a sliding window), per workspace or, with PerChannel, per channel.
type Limit struct {
	Calls int
	Per   time.Duration
	// PerChannel counts the calls of each channel (the channel or
	// channel_id argument) apart, as Slack limits chat.postMessage.
	PerChannel bool
}

// Tiers are per-method rate limits the server enforces, as Slack does per
// app and workspace. A call over its method's limit is answered HTTP 429
// with Retry-After (whole seconds, at least 1: until the window lets one
// more call through) and has no effect; refused calls do not count
// against the window, and leave the faults queued with Fail for the next
// call. Methods without a Limit are never refused.
type Tiers struct {
	Limits map[string]Limit
	// Now is the clock the windows run on; nil means time.Now. Tests
	// pass a clock they move themselves.
	Now func() time.Time
}

// Slack's published sizes of the tiers the product's methods are in, per
// minute (docs.slack.dev, "Rate limits" and each method's page).
const (
	tier2 = 20
	tier3 = 50
	// postBurst is how many chat.postMessage calls a channel takes at
	// once; on average Slack allows one a second.
	postBurst = 3
)

// slackTier is the tier size of each limited method.
var slackTier = map[string]int{
	"conversations.create":          tier2,
	"conversations.setTopic":        tier2,
	"conversations.archive":         tier2,
	"conversations.list":            tier2,
	"bookmarks.add":                 tier2,
	"usergroups.list":               tier2,
	"usergroups.users.list":         tier2,
	"conversations.canvases.create": tier2,
	"conversations.invite":          tier3,
	"conversations.join":            tier3,
	"conversations.info":            tier3,
	"conversations.history":         tier3,
	"conversations.replies":         tier3,
	"bookmarks.list":                tier3,
	"chat.update":                   tier3,
	"users.lookupByEmail":           tier3,
	"canvases.edit":                 tier3,
}

// SlackTiers returns Slack's limits with its minute compressed into
// window (10 s runs time six times as fast): Tier 2 methods 20 calls per
// window, Tier 3 methods 50, and chat.postMessage one a second per
// channel, compressed alike, in bursts of up to three. Every method the
// product calls is limited but auth.test.
func SlackTiers(window time.Duration) Tiers {
	t := Tiers{Limits: map[string]Limit{}}
	for m, n := range slackTier {
		t.Limits[m] = Limit{Calls: n, Per: window}
	}
	t.Limits["chat.postMessage"] = Limit{Calls: postBurst, Per: postBurst * window / 60, PerChannel: true}
	return t
}

// TierCount is how many calls of a method the tiers let through and how
// many they refused with a 429.
type TierCount struct {
	Allowed, Refused int
}

// limiter is the state of the tiers: the times of the calls let through,
// per method (and channel), within their windows.
type limiter struct {
	tiers  Tiers
	recent map[string][]time.Time
	counts map[string]TierCount
}

func newLimiter(t Tiers) *limiter {
	if t.Now == nil {
		t.Now = time.Now
	}
	return &limiter{tiers: t, recent: map[string][]time.Time{}, counts: map[string]TierCount{}}
}

// admit counts a call of method and returns 0 when it may go through, or
// the Retry-After for its 429.
func (l *limiter) admit(method string, form url.Values) (retryAfter int) {
	c := l.counts[method]
	defer func() { l.counts[method] = c }()
	lim, ok := l.tiers.Limits[method]
	if !ok || lim.Calls <= 0 {
		c.Allowed++
		return 0
	}
	key := method
	if lim.PerChannel {
		ch := form.Get("channel")
		if ch == "" {
			ch = form.Get("channel_id")
		}
		key += " " + ch
	}
	now := l.tiers.Now()
	times := l.recent[key]
	i := 0
	for i < len(times) && !times[i].After(now.Add(-lim.Per)) {
		i++
	}
	times = times[i:]
	if len(times) < lim.Calls {
		l.recent[key] = append(times, now)
		c.Allowed++
		return 0
	}
	l.recent[key] = times
	c.Refused++
	// The oldest call in the window leaves it at times[0]+Per.
	wait := times[0].Add(lim.Per).Sub(now)
	return max(1, int((wait+time.Second-1)/time.Second))
}

// SetTiers makes the server enforce t from now on, with empty windows;
// a zero Tiers turns rate limiting off.
func (s *Server) SetTiers(t Tiers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiter = nil
	if len(t.Limits) > 0 {
		s.limiter = newLimiter(t)
	}
}

// TierCounts returns, per method called since SetTiers or ResetCalls, the
// calls the tiers let through and those they refused; nil without tiers.
func (s *Server) TierCounts() map[string]TierCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limiter == nil {
		return nil
	}
	return maps.Clone(s.limiter.counts)
}
