package incident_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// routeFunc routes with a function.
type routeFunc func(incident.Snapshot) incident.Route

func (f routeFunc) Route(inc incident.Snapshot) incident.Route { return f(inc) }

// p1Channels gives P1 incidents a private channel announced in CANN with
// extra invitees; others get one message in CLOW.
var p1Channels = routeFunc(func(inc incident.Snapshot) incident.Route {
	if inc.Priority == "P1" {
		return incident.Route{Rule: "p1", Channel: true, Prefix: "sev", Private: true,
			InviteUsers: []string{"U0P1"}, InviteGroups: []string{"@sre"}, Announce: "CANN"}
	}
	return incident.Route{Rule: "rest", PostChannel: "CLOW"}
})

// fakeDirectory maps PagerDuty users to Slack users in memory.
type fakeDirectory struct {
	mu      sync.Mutex
	users   map[string]string // PagerDuty id → Slack id
	missing map[string]string // PagerDuty id → reason
	fail    []error
	asked   []string
}

func (d *fakeDirectory) SlackUsers(ctx context.Context, refs []incident.Ref) (map[string]string, []incident.Unmatched, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.fail) > 0 {
		err := d.fail[0]
		d.fail = d.fail[1:]
		return nil, nil, err
	}
	found := map[string]string{}
	var missing []incident.Unmatched
	for _, r := range refs {
		d.asked = append(d.asked, r.ID)
		if id, ok := d.users[r.ID]; ok {
			found[r.ID] = id
		} else if why, ok := d.missing[r.ID]; ok {
			missing = append(missing, incident.Unmatched{User: r, Reason: why})
		}
	}
	return found, missing, nil
}

// An incident whose route gives it no channel gets one message in the
// post-only channel with its updates threaded under it; when its
// priority is raised to one that deserves a channel, the channel opens
// with a summary of what happened, the post-only message links it, and
// the announce channel lists it.
func TestServicePostOnlyThenChannel(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.slack.groups["@sre"] = []string{"USRE1", "USRE2"}

	e.mustHandle(t, "triggered.json")
	if n := len(e.slack.ownChannels()); n != 0 {
		t.Fatalf("P2 incident: %d channels created, want none", n)
	}
	ts, b, n := e.slack.board("CLOW", "Q1CHECKOUT")
	if n != 1 || !b.entry.Thread || b.entry.ChannelID != "" || b.entry.Incident.Status != "triggered" {
		t.Fatalf("post-only message: %d messages, entry %+v; want one thread message, no channel", n, b.entry)
	}

	e.mustHandle(t, "acknowledged.json")
	low := e.slack.channel("CLOW")
	if got := headlines(low.replies); !slices.Equal(got, []string{"Acknowledged by Ada Lovelace"}) {
		t.Errorf("replies in the post-only thread = %q", got)
	}
	if _, b, _ := e.slack.board("CLOW", "Q1CHECKOUT"); b.edits != 1 || b.entry.Incident.Status != "acknowledged" {
		t.Errorf("post-only message: %d edits, status %q; want edited to acknowledged", b.edits, b.entry.Incident.Status)
	}

	e.slack.resetCalls()
	e.mustHandle(t, "priority_updated.json")
	own := e.slack.ownChannels()
	if len(own) != 1 {
		t.Fatalf("after priority raised to P1: %d channels, want 1", len(own))
	}
	c := own[0]
	if !c.private || !strings.HasPrefix(c.name, "sev-1234-") || c.root == "" {
		t.Errorf("channel %q private=%v root=%q; want a private sev- channel with a root", c.name, c.private, c.root)
	}
	got := headlines(c.replies)
	if !slices.Equal(got, []string{"What happened before this channel opened", "Priority changed to P1 by Ada Lovelace"}) {
		t.Errorf("channel replies = %q; want the summary, then the event's reply", got)
	}
	if body := c.replies[0].Body; !strings.Contains(body, "Triggered (high urgency)") || !strings.Contains(body, "Acknowledged by Ada Lovelace") {
		t.Errorf("summary body = %q; want the trigger and the acknowledgement", body)
	}
	var before []string
	for _, l := range c.rootBefore {
		before = append(before, l.Text)
	}
	if want := []string{"Triggered (high urgency)", "Acknowledged by Ada Lovelace", "Priority changed to P1 by Ada Lovelace"}; !slices.Equal(before, want) {
		t.Errorf("root shows history %q, want %q", before, want)
	}
	members := slices.Clone(c.members)
	slices.Sort(members)
	if !slices.Equal(members, []string{"U0P1", "USRE1", "USRE2"}) {
		t.Errorf("members = %q; want the rule's user and the group's members", members)
	}
	chID := e.slack.names[c.name]
	if _, b, _ := e.slack.board("CLOW", "Q1CHECKOUT"); b.entry.ChannelID != chID || b.entry.Incident.Priority != "P1" {
		t.Errorf("post-only message links %q, priority %q; want the new channel %q and P1", b.entry.ChannelID, b.entry.Incident.Priority, chID)
	}
	if _, b, n := e.slack.board("CANN", "Q1CHECKOUT"); n != 1 || b.entry.ChannelID != chID || b.entry.Thread {
		t.Errorf("announce channel: %d messages, entry %+v; want one linking the channel", n, b.entry)
	}
	if low := e.slack.channel("CLOW"); len(low.replies) != 1 {
		t.Errorf("post-only thread has %d replies after the channel opened, want still 1", len(low.replies))
	}

	e.mustHandle(t, "resolved.json")
	if _, b, _ := e.slack.board("CANN", "Q1CHECKOUT"); b.entry.Incident.Status != "resolved" || b.edits != 1 {
		t.Errorf("announce message: status %q after %d edits; want edited in place to resolved", b.entry.Incident.Status, b.edits)
	}
	if ts2, _, n := e.slack.board("CLOW", "Q1CHECKOUT"); n != 1 || ts2 != ts {
		t.Errorf("post-only channel holds %d messages (first %s, now %s); want the one message edited", n, ts, ts2)
	}

	e.slack.resetCalls()
	for _, f := range []string{"triggered.json", "acknowledged.json", "priority_updated.json", "resolved.json"} {
		if res := e.mustHandle(t, f); res.Outcome != incident.OutcomeDuplicate {
			t.Errorf("redelivered %s: outcome %q, want duplicate", f, res.Outcome)
		}
	}
	if n := e.slack.total(); n != 0 {
		t.Errorf("redeliveries made %d Slack calls, want 0", n)
	}
}

// An incident no rule gives a channel or a message costs no Slack call,
// but its history is kept for a channel it may get later.
func TestServiceIgnoredIncident(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(inc incident.Snapshot) incident.Route {
		return incident.Route{Channel: inc.Priority == "P1", Prefix: "inc"}
	})})
	for _, f := range []string{"triggered.json", "acknowledged.json", "annotated.json"} {
		if res := e.mustHandle(t, f); res.Outcome != incident.OutcomeProcessed || res.ChannelID != "" {
			t.Errorf("%s: %+v, want processed without a channel", f, res)
		}
	}
	if n := e.slack.total(); n != 0 {
		t.Fatalf("ignored incident made %d Slack calls", n)
	}
	e.mustHandle(t, "priority_updated.json")
	own := e.slack.ownChannels()
	if len(own) != 1 || len(own[0].replies) != 2 {
		t.Fatalf("channels %d; want 1 with the summary and the priority reply", len(own))
	}
	if body := own[0].replies[0].Body; strings.Count(body, "\n") != 2 || !strings.Contains(body, "Note from Ada Lovelace") {
		t.Errorf("summary = %q; want three lines ending with the note", body)
	}
}

// With rules, an event that arrives before any full incident payload (a
// note first) is routed nowhere: rules matched on blanks would route it
// wrong. The post-only message shows it once the incident's details
// route the incident there, and the channel it gets later tells it too.
func TestServiceNoteBeforeDetails(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: p1Channels})
	e.slack.shared("CLOW")
	e.slack.shared("CANN")
	e.mustHandle(t, "annotated.json")
	if n := e.slack.total(); n != 0 {
		t.Fatalf("a note before the incident's details made %d Slack calls, want 0", n)
	}
	e.mustHandle(t, "triggered.json") // P2: post-only
	_, b, n := e.slack.board("CLOW", "Q1CHECKOUT")
	if n != 1 || len(b.entry.Before) != 1 || !strings.HasPrefix(b.entry.Before[0].Text, "Note from Ada Lovelace") {
		t.Fatalf("post-only message: %d messages, before %+v; want the note shown on it", n, b.entry.Before)
	}
	if got := e.slack.channel("CLOW").replies; len(got) != 0 {
		t.Errorf("post-only thread = %q, want no reply yet", headlines(got))
	}
	e.mustHandle(t, "priority_updated.json")
	own := e.slack.ownChannels()
	// The summary comes before the event's reply; the line naming who
	// could not be invited may come anywhere, as it waits for the invites.
	if len(own) != 1 {
		t.Fatalf("%d channels, want 1", len(own))
	}
	summary := slices.IndexFunc(own[0].replies, func(r incident.Reply) bool { return strings.HasPrefix(r.Headline, "What happened before") })
	reply := slices.IndexFunc(own[0].replies, func(r incident.Reply) bool { return strings.HasPrefix(r.Headline, "Priority changed") })
	if summary < 0 || reply < summary || !strings.Contains(own[0].replies[summary].Body, "Note from Ada Lovelace") {
		t.Fatalf("channel opened late: replies %q; want the summary telling the note, then the reply", headlines(own[0].replies))
	}
}

// The people PagerDuty involved are invited as they appear; who cannot
// be added is named once in the thread, and nobody is looked up twice.
func TestServiceInvitesPagerDutyPeople(t *testing.T) {
	dir := &fakeDirectory{
		users:   map[string]string{"PUSER00": "UADA", "PUSER09": "UKJ"},
		missing: map[string]string{"PUSER01": "no Slack account"},
	}
	e := newRoutedEnv(t, incident.Config{InviteUsers: []string{"U0LEAD"}, Directory: dir})
	e.slack.refuse["UKJ"] = "deactivated"

	e.mustHandle(t, "triggered.json")
	c := e.slack.only()
	members := slices.Clone(c.members)
	slices.Sort(members)
	if !slices.Equal(members, []string{"U0LEAD", "UADA"}) || len(c.replies) != 0 {
		t.Errorf("new channel: members %q, replies %q; want the lead and the assignee, no note", members, headlines(c.replies))
	}
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "reassigned.json")
	e.mustHandle(t, "responder_added.json")
	c = e.slack.only()
	var notes []string
	for _, r := range c.replies {
		if strings.HasPrefix(r.Headline, "Could not add") {
			notes = append(notes, r.Headline)
		}
	}
	want := []string{
		"Could not add to this channel: Alan Turing (no Slack account)",
		"Could not add to this channel: Katherine Johnson (deactivated)",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes = %q\nwant %q", notes, want)
	}
	if !slices.Equal(dir.asked, []string{"PUSER00", "PUSER01", "PUSER09"}) {
		t.Errorf("looked up %q; want each person once", dir.asked)
	}
}

// A look-up that fails for a while (PagerDuty rate limited) is retried by
// the redelivery, which posts nothing twice.
func TestServiceInviteLookupRetried(t *testing.T) {
	dir := &fakeDirectory{users: map[string]string{"PUSER00": "UADA"},
		fail: []error{&incident.Error{Kind: incident.KindTransient, Op: "pagerduty users.get", RetryAfter: time.Second, Err: errors.New("429")}}}
	e := newRoutedEnv(t, incident.Config{Directory: dir})
	if _, err := e.handle(t, "triggered.json"); !incident.IsRetryable(err) {
		t.Fatalf("Handle = %v; want a retryable error", err)
	}
	c := e.slack.only()
	if c == nil || c.root == "" || len(c.members) != 0 {
		t.Fatalf("after the failed look-up: channel %+v; want the channel and root, nobody invited", c)
	}
	e.mustHandle(t, "triggered.json")
	c = e.slack.only()
	if !slices.Equal(c.members, []string{"UADA"}) || e.slack.calls["root"] != 1 || e.slack.calls["create"] != 1 {
		t.Errorf("after redelivery: members %q, %d roots, %d creates; want Ada, 1, 1", c.members, e.slack.calls["root"], e.slack.calls["create"])
	}
}

// A user group that does not exist is named in the thread; the rest are
// invited and the event completes.
func TestServiceUnknownGroup(t *testing.T) {
	e := newRoutedEnv(t, incident.Config{Router: routeFunc(func(incident.Snapshot) incident.Route {
		return incident.Route{Channel: true, InviteUsers: []string{"U1"}, InviteGroups: []string{"@nope", "S0REAL"}}
	})})
	e.slack.groups["S0REAL"] = []string{"U2"}
	e.mustHandle(t, "triggered.json")
	c := e.slack.only()
	members := slices.Clone(c.members)
	slices.Sort(members)
	if !slices.Equal(members, []string{"U1", "U2"}) {
		t.Errorf("members = %q", members)
	}
	if got := headlines(c.replies); !slices.Equal(got, []string{"Could not add to this channel: user group @nope (not found)"}) {
		t.Errorf("replies = %q", got)
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
