package slackops_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

func TestCreatePrivateChannel(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1-secret", true)
	if err != nil {
		t.Fatalf("CreateChannel(private) error = %v", err)
	}
	if ch := mustChannel(t, fake, id); !ch.Private {
		t.Errorf("channel %s is public, want private", id)
	}
	if _, err := c.CreateChannel(ctx(t), "inc-1-secret", false); !errors.Is(err, incident.ErrNameTaken) {
		t.Errorf("CreateChannel(name of a private channel) error = %v, want ErrNameTaken", err)
	}
	// The private channel works like a public one for the bot in it.
	if err := c.SetTopic(ctx(t), id, "Triggered"); err != nil {
		t.Errorf("SetTopic(private) error = %v", err)
	}
	if _, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot}); err != nil {
		t.Errorf("PostRoot(private) error = %v", err)
	}
	if failed, err := c.Invite(ctx(t), id, []string{"U1"}); err != nil || len(failed) != 0 {
		t.Errorf("Invite(private) = %v, %v", failed, err)
	}
	if ch := mustChannel(t, fake, id); !slices.Contains(ch.Members, "U1") {
		t.Errorf("members = %v, want U1 invited", ch.Members)
	}

	// Removed from its private channel, the bot cannot rejoin: a clear,
	// permanent error.
	fake.Kick(id, slackfake.BotUserID)
	_, err = c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	var ae *slackops.APIError
	if !errors.As(err, &ae) || incident.IsRetryable(err) {
		t.Errorf("PostRoot(private, bot removed) error = %v, want a permanent APIError", err)
	}
}

func TestGroupMembers(t *testing.T) {
	c, fake := newClient(t)
	fake.AddUserGroup("S0SRE", "sre-oncall", "U1", "U2")
	fake.AddUserGroup("S0DB", "db", "U3")

	if got, err := c.GroupMembers(ctx(t), "S0SRE"); err != nil || strings.Join(got, ",") != "U1,U2" {
		t.Errorf("GroupMembers(S0SRE) = %v, %v; want [U1 U2]", got, err)
	}
	if n := fake.Calls("usergroups.list"); n != 0 {
		t.Errorf("usergroups.list called %d times for an id, want 0", n)
	}
	if got, err := c.GroupMembers(ctx(t), "@sre-oncall"); err != nil || strings.Join(got, ",") != "U1,U2" {
		t.Errorf("GroupMembers(@sre-oncall) = %v, %v; want [U1 U2]", got, err)
	}
	if got, err := c.GroupMembers(ctx(t), "@db"); err != nil || strings.Join(got, ",") != "U3" {
		t.Errorf("GroupMembers(@db) = %v, %v; want [U3]", got, err)
	}
	if got, err := c.GroupMembers(ctx(t), "sre-oncall"); err != nil || len(got) != 2 {
		t.Errorf("GroupMembers(handle without @) = %v, %v; want two members", got, err)
	}
	if n := fake.Calls("usergroups.list"); n != 1 {
		t.Errorf("usergroups.list called %d times for three handle look-ups, want 1 (cached)", n)
	}

	for _, g := range []string{"S0NONE", "@nobody"} {
		if _, err := c.GroupMembers(ctx(t), g); !errors.Is(err, incident.ErrGroupNotFound) || !strings.Contains(err.Error(), g) {
			t.Errorf("GroupMembers(%s) error = %v, want ErrGroupNotFound naming it", g, err)
		}
	}
	fake.AddUserGroup("S0OLD", "old", "U4")
	fake.DisableUserGroup("S0OLD")
	if _, err := c.GroupMembers(ctx(t), "S0OLD"); !errors.Is(err, incident.ErrGroupNotFound) {
		t.Errorf("GroupMembers(disabled group id) error = %v, want ErrGroupNotFound", err)
	}
	if err := func() error { _, err := c.GroupMembers(ctx(t), "S0NONE"); return err }(); incident.IsRetryable(err) {
		t.Errorf("an unknown group is retryable: %v", err)
	}
}

func TestGroupHandleCache(t *testing.T) {
	c, fake := newClient(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.SetNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	fake.AddUserGroup("S0SRE", "sre", "U1")

	if _, err := c.GroupMembers(ctx(t), "@sre"); err != nil {
		t.Fatal(err)
	}
	advance(4 * time.Minute)
	if _, err := c.GroupMembers(ctx(t), "@sre"); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("usergroups.list"); n != 1 {
		t.Errorf("usergroups.list called %d times within 5 minutes, want 1", n)
	}
	// A group made since the listing: a miss lists again, once.
	advance(time.Minute - time.Second)
	fake.AddUserGroup("S0NEW", "new", "U9")
	if got, err := c.GroupMembers(ctx(t), "@new"); err != nil || strings.Join(got, ",") != "U9" {
		t.Errorf("GroupMembers(@new) = %v, %v; want [U9] after listing again", got, err)
	}
	if n := fake.Calls("usergroups.list"); n != 2 {
		t.Errorf("usergroups.list called %d times, want 2", n)
	}
	// Misses right after a listing do not list again on every event.
	for range 5 {
		if _, err := c.GroupMembers(ctx(t), "@typo"); !errors.Is(err, incident.ErrGroupNotFound) {
			t.Errorf("GroupMembers(@typo) error = %v, want ErrGroupNotFound", err)
		}
	}
	if n := fake.Calls("usergroups.list"); n != 2 {
		t.Errorf("usergroups.list called %d times after misses right after a listing, want still 2", n)
	}
	// Past five minutes the map is listed again.
	advance(6 * time.Minute)
	if _, err := c.GroupMembers(ctx(t), "@sre"); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("usergroups.list"); n != 3 {
		t.Errorf("usergroups.list called %d times after 5 minutes, want 3", n)
	}
	// A rate-limited listing is retryable.
	advance(6 * time.Minute)
	fake.Fail("usergroups.list", slackfake.Fault{Status: 429, RetryAfter: 5})
	if _, err := c.GroupMembers(ctx(t), "@sre"); !incident.IsRetryable(err) {
		t.Errorf("GroupMembers(usergroups.list rate limited) error = %v, want retryable", err)
	}
	fake.Fail("usergroups.users.list", slackfake.Fault{Status: 500})
	if _, err := c.GroupMembers(ctx(t), "S0SRE"); !incident.IsRetryable(err) {
		t.Errorf("GroupMembers(usergroups.users.list 500) error = %v, want retryable", err)
	}
}

func TestLookupByEmail(t *testing.T) {
	c, fake := newClient(t)
	fake.AddUser("UADA", "ada@example.com", false)
	fake.AddUser("UGONE", "gone@example.com", true)

	if id, err := c.LookupByEmail(ctx(t), "Ada@Example.com"); err != nil || id != "UADA" {
		t.Errorf("LookupByEmail(ada) = %q, %v; want UADA", id, err)
	}
	if _, err := c.LookupByEmail(ctx(t), "nobody@example.com"); !errors.Is(err, incident.ErrUserNotFound) {
		t.Errorf("LookupByEmail(unknown) error = %v, want ErrUserNotFound", err)
	}
	// The fake folds case as strings.EqualFold does, so it answers a
	// look-alike address (Kelvin sign K for k) with Kate: refused.
	fake.AddUser("UKATE", "kate@example.com", false)
	if id, err := c.LookupByEmail(ctx(t), "\u212Aate@example.com"); !errors.Is(err, incident.ErrUserNotFound) {
		t.Errorf("LookupByEmail(Kelvin-sign look-alike of kate) = %q, %v; want ErrUserNotFound", id, err)
	}
	// Slack answers users_not_found for a deactivated user.
	if _, err := c.LookupByEmail(ctx(t), "gone@example.com"); !errors.Is(err, incident.ErrUserNotFound) {
		t.Errorf("LookupByEmail(deactivated) error = %v, want ErrUserNotFound", err)
	}
	fake.Fail("users.lookupByEmail", slackfake.Fault{Status: 429, RetryAfter: 2})
	_, err := c.LookupByEmail(ctx(t), "ada@example.com")
	var re *incident.Error
	if !errors.As(err, &re) || re.RetryAfter != 2*time.Second {
		t.Errorf("LookupByEmail(rate limited) error = %v, want Error after 2s", err)
	}
	fake.Fail("users.lookupByEmail", slackfake.Fault{Status: 503})
	if _, err := c.LookupByEmail(ctx(t), "ada@example.com"); !incident.IsRetryable(err) {
		t.Errorf("LookupByEmail(503) error = %v, want retryable", err)
	}
}

// TestLookupByEmailUserObjects covers user objects Slack could return
// for an address: a deleted user, a bot.
func TestLookupByEmailUserObjects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		u := map[string]any{"id": "U1", "deleted": false}
		switch r.Form.Get("email") {
		case "deleted@example.com":
			u["deleted"] = true
		case "bot@example.com":
			u["is_bot"] = true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": u})
	}))
	t.Cleanup(srv.Close)
	c := slackops.New("xoxb-x", srv.URL+"/api/")
	if _, err := c.LookupByEmail(ctx(t), "deleted@example.com"); !errors.Is(err, incident.ErrUserDeactivated) {
		t.Errorf("LookupByEmail(deleted user) error = %v, want ErrUserDeactivated", err)
	}
	if _, err := c.LookupByEmail(ctx(t), "bot@example.com"); !errors.Is(err, incident.ErrUserNotFound) {
		t.Errorf("LookupByEmail(bot) error = %v, want ErrUserNotFound", err)
	}
	if id, err := c.LookupByEmail(ctx(t), "ada@example.com"); err != nil || id != "U1" {
		t.Errorf("LookupByEmail(person) = %q, %v; want U1", id, err)
	}
}

func TestBoard(t *testing.T) {
	c, fake := newClient(t)
	announce := fake.CreateChannel("incidents", false) // a person's channel; the bot is not in it
	entry := incident.BoardEntry{Incident: snapshot}

	ts, err := c.PostBoard(ctx(t), announce, entry)
	if err != nil {
		t.Fatalf("PostBoard in a public channel the bot is not in = %v, want it to join and post", err)
	}
	ch := mustChannel(t, fake, announce)
	if !slices.Contains(ch.Members, slackfake.BotUserID) || len(ch.Messages) != 1 {
		t.Fatalf("announce channel: members %v, %d messages; want the bot joined and one message", ch.Members, len(ch.Messages))
	}
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(ch.Messages[0].Metadata, &md); err != nil || md.EventType != slackops.BoardMetadataType || md.EventPayload["incident_id"] != "Q1" {
		t.Errorf("metadata = %s, want %s naming Q1", ch.Messages[0].Metadata, slackops.BoardMetadataType)
	}

	entry.ChannelID = "C0INC1234"
	if err := c.UpdateBoard(ctx(t), announce, ts, entry); err != nil {
		t.Fatalf("UpdateBoard error = %v", err)
	}
	ch = mustChannel(t, fake, announce)
	if m := ch.Messages[0]; m.Edits != 1 || !strings.Contains(m.BlockText(), "→ <#C0INC1234>") || !strings.Contains(m.Text, "<#C0INC1234>") {
		t.Errorf("updated board = %q / %q (edits %d), want the channel linked", m.BlockText(), m.Text, m.Edits)
	}

	// FindBoard sees only this bot's board message for the incident,
	// after the bot was removed from the channel too.
	fake.AddMessage(announce, slackfake.Message{User: "UOTHERBOT", Text: "old install",
		Metadata: json.RawMessage(`{"event_type":"incident_channels_board","event_payload":{"incident_id":"Q1"}}`)})
	fake.AddMessage(announce, slackfake.Message{User: slackfake.BotUserID, Text: "root, not board",
		Metadata: json.RawMessage(`{"event_type":"incident_channels_root","event_payload":{"incident_id":"Q1"}}`)})
	fake.Kick(announce, slackfake.BotUserID)
	if got, err := c.FindBoard(ctx(t), announce, "Q1"); err != nil || got != ts {
		t.Errorf("FindBoard = %q, %v; want %q", got, err, ts)
	}
	if got, err := c.FindBoard(ctx(t), announce, "Q2"); err != nil || got != "" {
		t.Errorf("FindBoard(other incident) = %q, %v; want \"\"", got, err)
	}

	fake.DeleteMessage(announce, ts)
	if err := c.UpdateBoard(ctx(t), announce, ts, entry); !errors.Is(err, incident.ErrRootGone) {
		t.Errorf("UpdateBoard(deleted) error = %v, want ErrRootGone", err)
	}
	fake.Fail("chat.postMessage", slackfake.Fault{Status: 429, RetryAfter: 1})
	if _, err := c.PostBoard(ctx(t), announce, entry); !incident.IsRetryable(err) {
		t.Errorf("PostBoard(rate limited) error = %v, want retryable", err)
	}
}

func TestBoardPostOnlyThread(t *testing.T) {
	c, fake := newClient(t)
	post := fake.CreateChannel("incidents-low", false)
	entry := incident.BoardEntry{Incident: snapshot, Thread: true}
	ts, err := c.PostBoard(ctx(t), post, entry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostReply(ctx(t), post, ts, incident.Reply{Headline: "Acknowledged by Ada", EventID: "ev1"}); err != nil {
		t.Fatalf("PostReply under the board message = %v", err)
	}
	text := mustChannel(t, fake, post).Messages[0].BlockText()
	if !strings.Contains(text, "Updates in the thread") || strings.Contains(text, "<#") {
		t.Errorf("post-only message = %q, want the thread note and no channel", text)
	}
	entry.ChannelID = "C0NEW"
	if err := c.UpdateBoard(ctx(t), post, ts, entry); err != nil {
		t.Fatal(err)
	}
	if text := mustChannel(t, fake, post).Messages[0].BlockText(); !strings.Contains(text, "Moved to <#C0NEW>") {
		t.Errorf("post-only message after the move = %q, want it to link the channel", text)
	}
	// Blocks refused: the plain message is posted instead.
	fake.Fail("chat.postMessage", slackfake.Fault{Error: "invalid_blocks"})
	ts2, err := c.PostBoard(ctx(t), post, entry)
	if err != nil {
		t.Fatalf("PostBoard with the blocks refused = %v, want the plain message", err)
	}
	ch := mustChannel(t, fake, post)
	if m := ch.Messages[len(ch.Messages)-1]; m.TS != ts2 || !strings.Contains(m.BlockText(), "Moved to <#C0NEW>") {
		t.Errorf("plain board message = %q", m.BlockText())
	}
}

func TestBoardPrivateChannel(t *testing.T) {
	c, fake := newClient(t)
	private := fake.CreatePrivateChannel("incidents-private")
	entry := incident.BoardEntry{Incident: snapshot}
	_, err := c.PostBoard(ctx(t), private, entry)
	var ae *slackops.APIError
	if !errors.As(err, &ae) || incident.IsRetryable(err) || !strings.Contains(err.Error(), "invite") {
		t.Errorf("PostBoard(private channel without the bot) error = %v, want an APIError saying to invite the bot", err)
	}
	if _, err := c.FindBoard(ctx(t), private, "Q1"); !errors.As(err, &ae) || !strings.Contains(err.Error(), "invite") {
		t.Errorf("FindBoard(private channel without the bot) error = %v, want an APIError saying to invite the bot", err)
	}
	fake.AddMembers(private, slackfake.BotUserID)
	if _, err := c.PostBoard(ctx(t), private, entry); err != nil {
		t.Errorf("PostBoard(private channel with the bot) error = %v", err)
	}
}

func TestBoardRendering(t *testing.T) {
	announce := func(b incident.BoardEntry) string {
		blocks := slackops.BoardBlocks(b)
		raw, err := json.Marshal(blocks)
		if err != nil {
			t.Fatal(err)
		}
		return slackfake.Message{Blocks: raw}.BlockText()
	}
	got := announce(incident.BoardEntry{Incident: snapshot, ChannelID: "C0123ABC"})
	want := "🟠 <https://acme.pagerduty.com/incidents/Q1|#1234 &lt;!channel&gt; Checkout latency &amp; errors> → <#C0123ABC>\n" +
		"Acknowledged · high · P1 · Checkout API · Ada Lovelace, Grace &lt;@U1&gt; Hopper"
	if got != want {
		t.Errorf("announce line =\n%s\nwant\n%s", got, want)
	}
	if n := len(slackops.BoardBlocks(incident.BoardEntry{Incident: snapshot})); n != 1 {
		t.Errorf("announce line has %d blocks, want one section", n)
	}
	for _, id := range []string{"C01|<!channel>", "c0123", "C0 1", "<!here>", "C\u00c9", "C" + strings.Repeat("1", 40)} {
		b := incident.BoardEntry{Incident: snapshot, ChannelID: id}
		for _, text := range []string{announce(b), mrkdwnPart(announce(incident.BoardEntry{Incident: snapshot, ChannelID: id, Thread: true})), slackops.BoardText(b)} {
			if strings.Contains(text, "<#") || liveMention(text) {
				t.Errorf("channel id %q rendered as a link or mention: %q", id, text)
			}
		}
	}
	for _, b := range []incident.BoardEntry{
		{Incident: snapshot}, {Incident: snapshot, ChannelID: "C1", Thread: true},
		{Incident: incident.Snapshot{ID: "Q9", Title: "<!everyone>"}},
	} {
		first, _ := json.Marshal(slackops.BoardBlocks(b))
		again, _ := json.Marshal(slackops.BoardBlocks(b))
		if string(first) != string(again) {
			t.Errorf("BoardBlocks(%+v) differ between calls", b)
		}
		text := announce(b)
		if b.Thread {
			text = mrkdwnPart(text)
		}
		if liveMention(text) || liveMention(slackops.BoardText(b)) {
			t.Errorf("board %+v carries a live mention: %q", b, text)
		}
	}
	if got := announce(incident.BoardEntry{Incident: incident.Snapshot{ID: "Q9", Number: 9}}); !strings.Contains(got, "#9 —") || !strings.Contains(got, "Waiting") {
		t.Errorf("incomplete announce line = %q", got)
	}
	if got := slackops.BoardText(incident.BoardEntry{Incident: snapshot, ChannelID: "C0123ABC"}); !strings.HasSuffix(got, " → <#C0123ABC>") || !strings.Contains(got, "&lt;!channel&gt;") {
		t.Errorf("BoardText = %q", got)
	}
}

// TestHugeBoardFits: the fake enforces Slack's limits.
func TestHugeBoardFits(t *testing.T) {
	c, fake := newClient(t)
	id := fake.CreateChannel("incidents", false)
	huge := snapshot
	huge.Title = strings.Repeat("<&> 😀 long title ", 2000)
	for range 300 {
		huge.Assignees = append(huge.Assignees, incident.Ref{Summary: "Someone With A Long Name & <tag>"})
	}
	huge.HTMLURL = "https://x/?" + strings.Repeat("a=1&", 900)
	for _, thread := range []bool{false, true} {
		if _, err := c.PostBoard(ctx(t), id, incident.BoardEntry{Incident: huge, ChannelID: "C0123", Thread: thread}); err != nil {
			t.Errorf("PostBoard(huge, thread %v) error = %v", thread, err)
		}
	}
	if n := len(mustChannel(t, fake, id).Messages); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

// mrkdwnPart drops the first line of a post-only message's text: its
// header is plain_text, which Slack does not parse.
func mrkdwnPart(text string) string {
	_, rest, _ := strings.Cut(text, "\n")
	return rest
}

func liveMention(text string) bool {
	for _, m := range []string{"<!channel", "<!here", "<!everyone", "<@", "<!subteam"} {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}

// A group's members are reused for a minute: an outage opening many
// incidents must not spend usergroups.users.list's Tier 2 limit.
func TestGroupMembersCache(t *testing.T) {
	c, fake := newClient(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.SetNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	fake.AddUserGroup("S0SRE", "sre", "U1")
	for range 3 {
		if got, err := c.GroupMembers(ctx(t), "S0SRE"); err != nil || strings.Join(got, ",") != "U1" {
			t.Fatalf("GroupMembers = %v, %v", got, err)
		}
	}
	if n := fake.Calls("usergroups.users.list"); n != 1 {
		t.Errorf("usergroups.users.list called %d times within a minute, want 1", n)
	}
	fake.AddUserGroup("S0SRE", "sre", "U1", "U2")
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if got, err := c.GroupMembers(ctx(t), "S0SRE"); err != nil || strings.Join(got, ",") != "U1,U2" {
		t.Errorf("GroupMembers after a minute = %v, %v; want the new member", got, err)
	}
}

// A channel opened late shows what happened before in its root, escaped,
// above the "Last change" line, and within a section's limit.
func TestRootMessageShowsHistory(t *testing.T) {
	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	inc := incident.Snapshot{ID: "Q1", Number: 7, Title: "DB down", Status: "acknowledged", Complete: true, UpdatedAt: at.Add(time.Hour)}
	plain := slackops.RootMessageBlocks(incident.Root{Incident: inc})
	if len(plain) != len(slackops.RootBlocks(inc)) {
		t.Errorf("a root without history has %d blocks, want RootBlocks' %d", len(plain), len(slackops.RootBlocks(inc)))
	}
	before := []incident.HistoryLine{
		{At: at, Text: "Triggered (low urgency)"},
		{At: at.Add(time.Minute), Text: "Note from Ada: <!channel> look at db-1"},
	}
	for range 40 {
		before = append(before, incident.HistoryLine{At: at.Add(2 * time.Minute), Text: strings.Repeat("x", 250)})
	}
	blocks := slackops.RootMessageBlocks(incident.Root{Incident: inc, Before: before})
	if len(blocks) != len(plain)+1 {
		t.Fatalf("%d blocks, want one more than without history", len(blocks))
	}
	if blocks[len(blocks)-1].BlockType() != slack.MBTContext {
		t.Errorf("last block is %s, want the Last change context", blocks[len(blocks)-1].BlockType())
	}
	sec, ok := blocks[len(blocks)-2].(*slack.SectionBlock)
	if !ok {
		t.Fatalf("history block is %T, want a section", blocks[len(blocks)-2])
	}
	text := sec.Text.Text
	if !strings.HasPrefix(text, "*Before this channel opened*") || !strings.Contains(text, "Triggered (low urgency)") ||
		!strings.Contains(text, "&lt;!channel&gt;") || strings.Contains(text, "<!channel>") {
		t.Errorf("history section = %q", text)
	}
	if len(text) > slackops.MaxSectionText {
		t.Errorf("history section is %d characters, over Slack's %d", len(text), slackops.MaxSectionText)
	}
}

// A channel whose service went through similar incidents shows them on
// its root, above the "Last change" line: each with its channel, number
// and title linked to PagerDuty, when it began, how it ended and its
// note, every untrusted text escaped, within a section's limit.
func TestRootMessageShowsPastIncidents(t *testing.T) {
	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	inc := incident.Snapshot{ID: "Q9", Number: 9, Title: "DB down", Status: "triggered", Complete: true, UpdatedAt: at}
	past := []incident.PastIncident{
		{ID: "Q1", Number: 7, Title: "DB down <!channel>", HTMLURL: "https://acme.pagerduty.com/incidents/Q1", ChannelID: "C0PAST",
			Status: incident.StatusResolved, TriggeredAt: at.Add(-48 * time.Hour), ResolvedAt: at.Add(-47 * time.Hour),
			ResolvedBy: "Ada <@U123>", Note: "Failed over & <https://evil.example|click>\nthen restarted"},
		{ID: "Q2", Title: "DB down again", TriggeredAt: at.Add(-24 * time.Hour)}, // PagerDuty's: no channel, no outcome
	}
	for range 20 {
		past = append(past, incident.PastIncident{ID: "QX", Title: strings.Repeat("y", 300), Note: strings.Repeat("z", 400)})
	}
	plain := slackops.RootMessageBlocks(incident.Root{Incident: inc})
	blocks := slackops.RootMessageBlocks(incident.Root{Incident: inc, Past: past})
	if len(blocks) != len(plain)+1 || blocks[len(blocks)-1].BlockType() != slack.MBTContext {
		t.Fatalf("%d blocks ending with %s, want one more than without past incidents, the Last change line last", len(blocks), blocks[len(blocks)-1].BlockType())
	}
	text := blocks[len(blocks)-2].(*slack.SectionBlock).Text.Text
	for _, want := range []string{
		"*Seen before: similar past incidents of this service*",
		"• <#C0PAST> <https://acme.pagerduty.com/incidents/Q1|#7 DB down &lt;!channel&gt;> — <!date^",
		"· resolved in 1h by Ada &lt;@U123&gt;",
		"> Failed over &amp; &lt;https://evil.example|click&gt; then restarted",
		"• DB down again — <!date^",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("past incidents section lacks %q:\n%s", want, text)
		}
	}
	for _, unsafe := range []string{"<!channel>", "<@U123>", "<https://evil"} {
		if strings.Contains(text, unsafe) {
			t.Errorf("past incidents section has %q unescaped:\n%s", unsafe, text)
		}
	}
	if len(text) > slackops.MaxSectionText {
		t.Errorf("past incidents section is %d characters, over Slack's %d", len(text), slackops.MaxSectionText)
	}
}
