package incident_test

import (
	"slices"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// An incident keeps its first post-only thread when a later event routes
// it to another post-only channel, and its events complete.
func TestServiceRoutePostOnlyKeepsFirstThread(t *testing.T) {
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

// A channel opened for an incident that had only post-only messages is
// created without looking for an orphan (conversations.list): no earlier
// attempt ever tried to create one.
func TestServiceRoutePostOnlyThenChannelSkipsOrphanScan(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "priority_updated.json")
	if n := e.slack.calls["findChannel"]; n != 0 {
		t.Errorf("findChannel calls = %d; want 0 (no creation was ever attempted before)", n)
	}
}

// A route change that adds invitees to an open channel invites them.
func TestServiceRouteChangeInvitesNewInvitees(t *testing.T) {
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

// When one rule announces in the channel another rule posts to, the
// incident that moves from the one to the other has one message there,
// linking its channel and showing the resolution.
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

// An incident keeps its channel when a later event routes it to a
// post-only channel: nothing is posted there, and the channel and the
// announcement follow it to its resolution.
func TestServiceRouteChannelKeptWhenRouteDropsIt(t *testing.T) {
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
