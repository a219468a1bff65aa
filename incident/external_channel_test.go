package incident_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// externalSet is incident.ExternalChannels over a fixed set of channels
// shared with another organisation; it counts the questions.
type externalSet struct {
	mu       sync.Mutex
	external []string
	asked    int
}

func (s *externalSet) ExternallyShared(_ context.Context, channelID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	return slices.Contains(s.external, channelID), nil
}

func (s *externalSet) share(channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.external = append(s.external, channelID)
}

// An announce channel shared with another organisation gets no message,
// and is not asked about again for the incident; the incident's own
// channel and its webhooks are unaffected.
func TestServiceExternalAnnounceNotPosted(t *testing.T) {
	ext := &externalSet{external: []string{"CANN"}}
	e := newRoutedEnv(t, incident.Config{Announce: "CANN", ExternalChannels: ext})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.calls["postBoard"] + e.slack.calls["findBoard"]; n != 0 {
		t.Errorf("announce calls = %d; want none in a channel shared with another organisation", n)
	}
	if ext.asked != 1 {
		t.Errorf("sharing asked %d times; want once, then the message given up", ext.asked)
	}
	if own := e.slack.ownChannels(); len(own) != 1 || len(own[0].replies) != 1 {
		t.Errorf("incident channels: %+v; want one with its reply", own)
	}
}

// A post-only channel shared with another organisation gets neither the
// message nor replies: the incident is only recorded, without a 503.
func TestServiceExternalPostChannelNotPosted(t *testing.T) {
	ext := &externalSet{external: []string{"CLOW"}}
	e := newRoutedEnv(t, incident.Config{Router: p1Channels, ExternalChannels: ext})
	e.slack.shared("CLOW")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.calls["postBoard"] + e.slack.calls["reply"]; n != 0 {
		t.Errorf("post-only calls = %d; want none in a channel shared with another organisation", n)
	}
}

// A channel shared after the incident's message was posted there gets
// no more edits.
func TestServiceExternalAfterPostNotEdited(t *testing.T) {
	ext := &externalSet{}
	e := newRoutedEnv(t, incident.Config{Announce: "CANN", ExternalChannels: ext})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	if n := e.slack.calls["postBoard"]; n != 1 {
		t.Fatalf("postBoard calls = %d; want 1 while the channel is the workspace's own", n)
	}
	ext.share("CANN")
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "resolved.json")
	if n := e.slack.calls["updateBoard"]; n != 0 {
		t.Errorf("updateBoard calls = %d; want none once the channel is shared with another organisation", n)
	}
}

// Without a check (ALLOW_SHARED_CHANNELS=true) the announce channel gets
// its message as before.
func TestServiceExternalAllowed(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CANN"})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	if n := e.slack.calls["postBoard"]; n != 1 {
		t.Errorf("postBoard calls = %d; want 1", n)
	}
}
