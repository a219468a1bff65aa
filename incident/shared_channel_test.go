package incident_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// A deleted announce message is posted anew; a deleted post-only message
// too, before the reply threaded under it.
func TestServiceDeletedBoardReposted(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.mustHandle(t, "triggered.json")
	ts, _, _ := e.slack.board("CLOW", "Q1CHECKOUT")
	e.slack.mu.Lock()
	c := e.slack.channels["CLOW"]
	delete(c.boards, ts)
	c.boardOrder = slices.DeleteFunc(c.boardOrder, func(s string) bool { return s == ts })
	e.slack.mu.Unlock()

	e.mustHandle(t, "acknowledged.json")
	ts2, b, n := e.slack.board("CLOW", "Q1CHECKOUT")
	if n != 1 || ts2 == ts || b.entry.Incident.Status != "acknowledged" {
		t.Errorf("after deletion: %d messages, ts %s (was %s), status %q; want one new message", n, ts2, ts, b.entry.Incident.Status)
	}
	if got := headlines(e.slack.channel("CLOW").replies); !slices.Equal(got, []string{"Acknowledged by Ada Lovelace"}) {
		t.Errorf("replies = %q", got)
	}
}

// A shared channel that refuses the message for good (the bot cannot post
// in a private announce channel) is logged and given up: the incident's
// channel is unaffected and its webhooks are not failed.
func TestServiceAnnounceRefused(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CPRIVATE"})
	e.slack.shared("CPRIVATE")
	e.slack.failNext("postBoard", errors.New("not_in_channel"))
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.calls["postBoard"]; n != 1 {
		t.Errorf("postBoard calls = %d; want 1 (given up after a permanent refusal)", n)
	}
	if own := e.slack.ownChannels(); len(own) != 1 || len(own[0].replies) != 1 {
		t.Errorf("incident channels: %+v; want one with its reply", own)
	}
}

// An archived announce channel leaves the incident's own channel alone:
// the resolution is still posted there.
func TestServiceRouteArchivedAnnounceSparesOwnChannel(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CANN"})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.slack.failNext("updateBoard", fmt.Errorf("chat.update CANN: %w", incident.ErrChannelArchived))
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "resolved.json")
	got := headlines(e.slack.ownChannels()[0].replies)
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "Resolved") }) {
		t.Errorf("own channel replies = %q; the resolution never reached the incident's channel because the announce channel is archived", got)
	}
}

// An archived post-only channel does not keep an incident raised to P1
// from getting its channel.
func TestServiceRouteArchivedPostChannelStillOpensChannel(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.slack.failNext("updateBoard", fmt.Errorf("chat.update CLOW: %w", incident.ErrChannelArchived))
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "priority_updated.json")
	if n := len(e.slack.ownChannels()); n != 1 {
		t.Errorf("P1 incident: %d own channels; want 1 (post-only channel archived blocks it)", n)
	}
}

// The post-only channel deleted (or the bot removed from a private one)
// after its message was posted does not fail the incident's later events,
// which a 503 would have PagerDuty redeliver for 48 hours to no end.
func TestServiceRoutePostChannelGoneDoesNotFailEvents(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.mustHandle(t, "triggered.json")
	e.slack.mu.Lock()
	delete(e.slack.channels, "CLOW")
	e.slack.mu.Unlock()
	for i := 0; i < 2; i++ {
		if _, err := e.handle(t, "acknowledged.json"); err != nil {
			t.Errorf("delivery %d: %v (retryable=%v) -> 503 for 48 h", i+1, err, incident.IsRetryable(err))
		}
	}
}

// FindBoard (conversations.history) is needed only when an earlier attempt
// may have posted the message unrecorded: not for a new incident's.
func TestServiceRouteNoBoardLookupForNewMessage(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CANN"})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	if n := e.slack.calls["findBoard"]; n != 0 {
		t.Errorf("findBoard calls on a fresh incident = %d; want 0", n)
	}
}

// A deleted announce channel is given up after its one refused post:
// neither post nor look-up is tried again.
func TestServiceRouteDeletedAnnounceGivenUp(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CGONE"})
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.calls["postBoard"] + e.slack.calls["findBoard"]; n != 1 {
		t.Errorf("announce calls = %d; want one refused post, then given up", n)
	}
}

// With the incident's own channel archived mid-incident, the announce
// message still follows the incident to its resolution.
func TestServiceRouteArchivedOwnChannelAnnounceFollows(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CANN"})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.slack.failNext("reply", fmt.Errorf("chat.postMessage: %w", incident.ErrChannelArchived))
	e.slack.failNext("update", fmt.Errorf("chat.update: %w", incident.ErrChannelArchived))
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "resolved.json")
	if _, b, _ := e.slack.board("CANN", "Q1CHECKOUT"); b.entry.Incident.Status != "resolved" {
		t.Errorf("announce line status = %q after resolution; want resolved", b.entry.Incident.Status)
	}
}
