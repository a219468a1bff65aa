package slack

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/testclock"

	"github.com/slack-go/slack"
)

func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)) }

// tiered returns a server enforcing tiers on a clock the test moves.
func tiered(t *testing.T, tiers Tiers) (*Server, *testclock.Clock) {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	clk := newClock()
	tiers.Now = clk.Now
	s.SetTiers(tiers)
	return s, clk
}

// post calls method and returns the HTTP status and Retry-After header.
func post(t *testing.T, s *Server, method string, args url.Values) (int, string) {
	t.Helper()
	args.Set("token", DefaultToken)
	resp, err := http.PostForm(s.URL+method, args)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func createArgs(name string) url.Values { return url.Values{"name": {name}} }

// TestTiersRefuseOverLimit checks a method's sliding window: calls within
// the limit go through, the next is answered 429 with the whole seconds
// until the oldest call leaves the window (rounded up) and creates
// nothing, and the window lets calls through again as it moves on.
func TestTiersRefuseOverLimit(t *testing.T) {
	t.Parallel()
	s, clk := tiered(t, Tiers{Limits: map[string]Limit{"conversations.create": {Calls: 3, Per: 10 * time.Second}}})

	steps := []struct {
		name           string
		advance        time.Duration
		channel        string
		wantStatus     int
		wantRetryAfter string
	}{
		{"first", 0, "inc-1", 200, ""},
		{"second", 1500 * time.Millisecond, "inc-2", 200, ""},
		{"third, the limit", 0, "inc-3", 200, ""},
		{"over the limit: 8.5 s until the first call leaves", 0, "inc-4", 429, "9"},
		{"still over, a second later", time.Second, "inc-4", 429, "8"},
		{"just before the window frees a call", 7400 * time.Millisecond, "inc-4", 429, "1"},
		{"the first call has left the window", 100 * time.Millisecond, "inc-4", 200, ""},
		{"full again until the second call leaves", 0, "inc-5", 429, "2"},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		code, ra := post(t, s, "conversations.create", createArgs(st.channel))
		if code != st.wantStatus || ra != st.wantRetryAfter {
			t.Errorf("%s: create %s = %d Retry-After %q, want %d %q", st.name, st.channel, code, ra, st.wantStatus, st.wantRetryAfter)
		}
	}
	if n := len(s.Channels()); n != 4 {
		t.Errorf("%d channels, want the 4 created within the limit: a refused call has no effect", n)
	}
	want := TierCount{Allowed: 4, Refused: 4}
	if got := s.TierCounts()["conversations.create"]; got != want {
		t.Errorf("TierCounts[conversations.create] = %+v, want %+v", got, want)
	}
	if got := s.TierCounts()["conversations.setTopic"]; got != (TierCount{}) {
		t.Errorf("TierCounts[conversations.setTopic] = %+v, want none: never called", got)
	}
	if got := s.Calls("conversations.create"); got != 8 {
		t.Errorf("Calls(conversations.create) = %d, want 8: refused calls are calls", got)
	}
}

// TestTiersPerMethod checks that each method has its own window and that
// methods without a limit are never refused, only counted.
func TestTiersPerMethod(t *testing.T) {
	t.Parallel()
	s, _ := tiered(t, Tiers{Limits: map[string]Limit{
		"conversations.create":   {Calls: 1, Per: time.Minute},
		"conversations.setTopic": {Calls: 1, Per: time.Minute},
	}})
	id := channelID(t, call(t, s, "conversations.create", createArgs("inc-1")))
	if code, _ := post(t, s, "conversations.setTopic", url.Values{"channel": {id}, "topic": {"Triggered"}}); code != 200 {
		t.Errorf("setTopic after a create = %d, want 200: its own window", code)
	}
	for range 3 {
		if code, _ := post(t, s, "auth.test", url.Values{}); code != 200 {
			t.Errorf("auth.test = %d, want 200: not limited", code)
		}
	}
	if code, _ := post(t, s, "conversations.setTopic", url.Values{"channel": {id}, "topic": {"Acknowledged"}}); code != 429 {
		t.Errorf("second setTopic = %d, want 429", code)
	}
	if ch, _ := s.Channel(id); ch.Topic != "Triggered" {
		t.Errorf("topic = %q, want the first one: a refused call has no effect", ch.Topic)
	}
	if got, want := s.TierCounts()["auth.test"], (TierCount{Allowed: 3}); got != want {
		t.Errorf("TierCounts[auth.test] = %+v, want %+v", got, want)
	}

	s.SetTiers(Tiers{})
	if code, _ := post(t, s, "conversations.setTopic", url.Values{"channel": {id}, "topic": {"Acknowledged"}}); code != 200 {
		t.Errorf("setTopic after SetTiers(Tiers{}) = %d, want 200: limits off", code)
	}
	if s.TierCounts() != nil {
		t.Errorf("TierCounts without tiers = %v, want nil", s.TierCounts())
	}
}

// TestSlackTiersPostPerChannel checks chat.postMessage's limit of
// SlackTiers: a short burst per channel, then one a compressed second,
// each channel on its own; and the real tier sizes of the other methods.
func TestSlackTiersPostPerChannel(t *testing.T) {
	t.Parallel()
	tiers := SlackTiers(6 * time.Second) // a minute in 6 s: a second in 100 ms
	s, clk := tiered(t, tiers)
	for method, want := range map[string]int{"conversations.create": 20, "bookmarks.add": 20, "conversations.setTopic": 20,
		"conversations.invite": 50, "chat.update": 50, "users.lookupByEmail": 50} {
		if got := tiers.Limits[method]; got.Calls != want || got.Per != 6*time.Second || got.PerChannel {
			t.Errorf("SlackTiers(6s)[%s] = %+v, want %d per 6s per workspace", method, got, want)
		}
	}

	a := channelID(t, call(t, s, "conversations.create", createArgs("inc-a")))
	b := channelID(t, call(t, s, "conversations.create", createArgs("inc-b")))
	msg := func(ch string) url.Values { return url.Values{"channel": {ch}, "text": {"x"}} }
	for i := range postBurst {
		if code, _ := post(t, s, "chat.postMessage", msg(a)); code != 200 {
			t.Errorf("post %d in a burst = %d, want 200", i+1, code)
		}
	}
	if code, ra := post(t, s, "chat.postMessage", msg(a)); code != 429 || ra != "1" {
		t.Errorf("post over the burst = %d Retry-After %q, want 429 and the minimum of 1 s", code, ra)
	}
	if code, _ := post(t, s, "chat.postMessage", msg(b)); code != 200 {
		t.Errorf("post in another channel = %d, want 200: limited per channel", code)
	}
	clk.Add(100 * time.Millisecond) // a compressed second
	if code, _ := post(t, s, "chat.postMessage", msg(a)); code != 429 {
		t.Errorf("post a compressed second after a full burst = %d, want 429: the window is the burst's %d seconds", code, postBurst)
	}
	clk.Add(200 * time.Millisecond)
	if code, _ := post(t, s, "chat.postMessage", msg(a)); code != 200 {
		t.Errorf("post %d compressed seconds after the burst = %d, want 200", postBurst, code)
	}
	if ch, _ := s.Channel(a); len(ch.Messages) != postBurst+1 {
		t.Errorf("channel a has %d messages, want %d", len(ch.Messages), postBurst+1)
	}
	if got, want := s.TierCounts()["chat.postMessage"], (TierCount{Allowed: postBurst + 2, Refused: 2}); got != want {
		t.Errorf("TierCounts[chat.postMessage] = %+v, want %+v", got, want)
	}
}

// TestTiersSlackGoRateLimitedError checks what the slack-go client makes
// of a refused call: a *slack.RateLimitedError carrying Retry-After,
// which the adapter classifies as transient.
func TestTiersSlackGoRateLimitedError(t *testing.T) {
	t.Parallel()
	s, clk := tiered(t, Tiers{Limits: map[string]Limit{"conversations.create": {Calls: 1, Per: 30 * time.Second}}})
	api := slack.New(DefaultToken, slack.OptionAPIURL(s.URL))
	ctx := context.Background()
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-1"}); err != nil {
		t.Fatalf("first create: %v", err)
	}
	clk.Add(5 * time.Second)
	_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-2"})
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 25*time.Second {
		t.Fatalf("create over the limit: error %v (%T), want *slack.RateLimitedError with RetryAfter 25s", err, err)
	}
	if _, ok := s.Channel("inc-2"); ok {
		t.Errorf("refused create made channel inc-2")
	}
}
