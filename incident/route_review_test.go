package incident_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// R1: post-only X -> post-only Y never completes.
func TestServiceRoutePostOnlyChannelMoves(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(inc incident.Snapshot) incident.Route {
		if inc.Priority == "P1" {
			return incident.Route{PostChannel: "CHIGH"}
		}
		return incident.Route{PostChannel: "CLOW"}
	})})
	e.slack.shared("CLOW")
	e.slack.shared("CHIGH")
	e.mustHandle(t, "triggered.json")
	if _, err := e.handle(t, "priority_updated.json"); err != nil {
		t.Errorf("post-only move: %v", err)
	}
	if _, _, n := e.slack.board("CHIGH", "Q1CHECKOUT"); n != 0 {
		t.Errorf("messages in CHIGH: %d; want the thread kept in CLOW", n)
	}
	if got := headlines(e.slack.channel("CLOW").replies); !slices.Equal(got, []string{"Priority changed to P1 by Ada Lovelace"}) {
		t.Errorf("replies in CLOW = %q", got)
	}
	if _, err := e.handle(t, "resolved.json"); err != nil {
		t.Errorf("resolved: %v", err)
	}
}

// R2: an archived announce channel marks the incident's own channel archived.
func TestServiceRouteArchivedAnnounceStopsOwnChannel(t *testing.T) {
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

// R2b: a post-only channel archived: a later priority raise never opens a channel.
func TestServiceRouteArchivedPostChannelBlocksLaterChannel(t *testing.T) {
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

// R3: a summary owed after a failed first attempt is posted twice by two
// concurrent events.
func TestServiceRouteSummaryTwiceConcurrent(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.slack.groups["@sre"] = nil
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	// The channel opens; the summary is rate limited.
	e.slack.failNext("reply", &incident.Error{Kind: incident.KindTransient, Op: "reply", Err: errors.New("ratelimited")})
	if _, err := e.handle(t, "priority_updated.json"); err == nil {
		t.Fatal("want retryable error")
	}
	e.concurrently(t, 150*time.Millisecond, "priority_updated.json", "resolved.json")
	n := 0
	for _, h := range headlines(e.slack.ownChannels()[0].replies) {
		if h == "What happened before this channel opened" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d summaries posted; want 1 (replies %q)", n, headlines(e.slack.ownChannels()[0].replies))
	}
}

// R4: post-only incidents record a creation start; opening the channel
// later scans the workspace for an orphan (conversations.list).
func TestServiceRoutePostOnlyThenChannelScansForOrphan(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "priority_updated.json")
	if n := e.slack.calls["findChannel"]; n != 0 {
		t.Errorf("findChannel calls = %d; want 0 (no creation was ever attempted before)", n)
	}
}

// R5: a route change that adds invitees never invites them.
func TestServiceRouteRouteChangeInvitees(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(inc incident.Snapshot) incident.Route {
		if inc.Priority == "P1" {
			return incident.Route{Channel: true, InviteUsers: []string{"ULOW", "UCOMMANDER"}}
		}
		return incident.Route{Channel: true, InviteUsers: []string{"ULOW"}}
	})})
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "priority_updated.json")
	if m := e.slack.only().members; !slices.Contains(m, "UCOMMANDER") {
		t.Errorf("members = %q; the P1 rule's invitee was never invited", m)
	}
}

// R6: two concurrent events that both see an unfinished invite each post
// the "Could not add" note.
func TestServiceRouteInviteNoteTwice(t *testing.T) {
	dir := &fakeDirectory{missing: map[string]string{"PUSER00": "no Slack account for ada@example.com"}}
	e := newRoutedEnv(t, incident.Config{Directory: dir})
	// First attempt: channel and root, then the directory is rate limited.
	dir.fail = []error{&incident.Error{Kind: incident.KindTransient, Op: "pd", Err: errors.New("429")}}
	if _, err := e.handle(t, "triggered.json"); err == nil {
		t.Fatal("want retryable")
	}
	e.concurrently(t, 150*time.Millisecond, "triggered.json", "acknowledged.json")
	n := 0
	for _, h := range headlines(e.slack.only().replies) {
		if strings.HasPrefix(h, "Could not add") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d notes; want 1 (replies %q)", n, headlines(e.slack.only().replies))
	}
}

// R7: the post-only channel deleted (or the bot removed from a private
// one) after its message was posted: every later event answers 503.
func TestServiceRoutePostChannelGoneFailsForever(t *testing.T) {
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
// may have posted the message unrecorded.
func TestServiceRouteFindBoardOnEveryPost(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CANN"})
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	if n := e.slack.calls["findBoard"]; n != 0 {
		t.Errorf("findBoard calls on a fresh incident = %d; want 0", n)
	}
}

// Transition: announce channel == post_to channel.
func TestServiceRouteAnnounceEqualsPostTo(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(inc incident.Snapshot) incident.Route {
		if inc.Priority == "P1" {
			return incident.Route{Channel: true, Announce: "CX"}
		}
		return incident.Route{PostChannel: "CX"}
	})})
	e.slack.shared("CX")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "priority_updated.json")
	e.mustHandle(t, "resolved.json")
	_, b, n := e.slack.board("CX", "Q1CHECKOUT")
	if own := e.slack.ownChannels(); n != 1 || len(own) != 1 || b.entry.ChannelID != e.slack.names[own[0].name] || b.entry.Incident.Status != "resolved" {
		t.Errorf("CX: %d messages, entry %+v; want one message linking the channel, resolved", n, b.entry)
	}
}

// Transition: channel -> route says no channel.
func TestServiceRouteChannelThenNoChannel(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(inc incident.Snapshot) incident.Route {
		if inc.Priority == "P1" {
			return incident.Route{PostChannel: "CX"}
		}
		return incident.Route{Channel: true, Announce: "CANN"}
	})})
	e.slack.shared("CX")
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "priority_updated.json")
	e.mustHandle(t, "resolved.json")
	_, _, n := e.slack.board("CX", "Q1CHECKOUT")
	_, b, _ := e.slack.board("CANN", "Q1CHECKOUT")
	replies := headlines(e.slack.ownChannels()[0].replies)
	if n != 0 || b.entry.Incident.Status != "resolved" || len(replies) != 2 {
		t.Errorf("CX messages %d, CANN status %q, own replies %q; want the channel kept: no post-only message, announce resolved, both replies", n, b.entry.Incident.Status, replies)
	}
}

// Transition: announce channel deleted.
func TestServiceRouteAnnounceDeleted(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Announce: "CGONE"})
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "acknowledged.json")
	if n := e.slack.calls["postBoard"] + e.slack.calls["findBoard"]; n != 1 {
		t.Errorf("announce calls = %d; want one refused post, then given up", n)
	}
}

// R9: own channel archived mid-incident: the announce line never shows the resolution.
func TestServiceRouteArchivedOwnChannelFreezesAnnounce(t *testing.T) {
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

// A look-up that cannot succeed (PagerDuty refused the token) does not
// hold the incident up, and the thread says whom nobody could add.
func TestServiceRouteDirectoryRefused(t *testing.T) {
	dir := &fakeDirectory{fail: []error{errors.New("PagerDuty refused PAGERDUTY_API_TOKEN (HTTP 401)")}}
	e := newRoutedEnv(t, incident.Config{Directory: dir})
	e.mustHandle(t, "triggered.json")
	got := headlines(e.slack.only().replies)
	if !slices.Equal(got, []string{"Could not add to this channel: Ada Lovelace (look-up failed; see the function's logs)"}) {
		t.Errorf("replies = %q", got)
	}
	e.mustHandle(t, "acknowledged.json")
	if len(dir.asked) != 0 {
		t.Errorf("asked again for %q after a refusal", dir.asked)
	}
}

// concurrently delivers files at once, with every Slack call slowed by
// delay so that the attempts overlap; errors (503s) are logged.
func (e *env) concurrently(t *testing.T, delay time.Duration, files ...string) {
	t.Helper()
	e.slack.mu.Lock()
	e.slack.delay = delay
	e.slack.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Go(func() {
			if _, err := e.handle(t, f); err != nil {
				t.Logf("%s: %v", f, err)
			}
		})
	}
	wg.Wait()
}
