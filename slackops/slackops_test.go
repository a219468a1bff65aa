package slackops_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/testclock"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

func newClient(t *testing.T) (*slackops.Client, *slackfake.Server) {
	t.Helper()
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	return slackops.New(slackfake.DefaultToken, fake.URL), fake
}

// newClockedClient is newClient with a clock the test moves, so a rate
// limit a row provokes can be let pass before the next row.
func newClockedClient(t *testing.T, opts ...slackops.Option) (*slackops.Client, *slackfake.Server, *testclock.Clock) {
	t.Helper()
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	clk := testclock.New(time.Now())
	return slackops.New(slackfake.DefaultToken, fake.URL, append(opts, slackops.WithClock(clk.Now))...), fake, clk
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

var snapshot = incident.Snapshot{
	ID: "Q1", Number: 1234, Title: "<!channel> Checkout latency & errors", Status: "acknowledged",
	Urgency: "high", Priority: "P1", HTMLURL: "https://acme.pagerduty.com/incidents/Q1",
	Service:          incident.Ref{Summary: "Checkout API", HTMLURL: "https://acme.pagerduty.com/services/S1"},
	EscalationPolicy: incident.Ref{Summary: "Payments"},
	Assignees:        []incident.Ref{{Summary: "Ada Lovelace"}, {Summary: "Grace <@U1> Hopper"}},
	ConferenceURL:    "https://meet.example/abc", ConferenceNumber: "+1 555 0100",
	CreatedAt: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC),
	UpdatedAt: time.Date(2026, 11, 24, 2, 5, 0, 0, time.UTC),
	Complete:  true,
}

func TestChannelLifecycle(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1234-checkout", false)
	if err != nil {
		t.Fatalf("CreateChannel error = %v", err)
	}
	if _, err := c.CreateChannel(ctx(t), "inc-1234-checkout", false); !errors.Is(err, incident.ErrNameTaken) {
		t.Errorf("CreateChannel(taken name) error = %v, want ErrNameTaken", err)
	}
	archived := fake.CreateChannel("inc-9-old", true)
	if _, err := c.CreateChannel(ctx(t), "inc-9-old", false); !errors.Is(err, incident.ErrNameTaken) {
		t.Errorf("CreateChannel(name of archived %s) error = %v, want ErrNameTaken", archived, err)
	}

	if err := c.SetTopic(ctx(t), id, strings.Repeat("t", 400)); err != nil {
		t.Fatalf("SetTopic(400 characters) error = %v, want it cut to fit", err)
	}
	if err := c.AddBookmark(ctx(t), id, incident.Bookmark{Title: "PagerDuty #1234", Link: snapshot.HTMLURL}); err != nil {
		t.Fatalf("AddBookmark error = %v", err)
	}
	if failed, err := c.Invite(ctx(t), id, []string{"U1", "U2"}); err != nil || len(failed) != 0 {
		t.Fatalf("Invite = %v, %v; want no failures", failed, err)
	}
	// Again, plus the bot itself: nobody new, no error.
	if failed, err := c.Invite(ctx(t), id, []string{"U1", slackfake.BotUserID}); err != nil || len(failed) != 0 {
		t.Errorf("Invite(already in channel, bot) = %v, %v; want nothing", failed, err)
	}
	// One user, already in: Slack may answer without an errors array.
	if failed, err := c.Invite(ctx(t), id, []string{"U2"}); err != nil || len(failed) != 0 {
		t.Errorf("Invite(one already in channel) = %v, %v; want nothing", failed, err)
	}

	ch, _ := fake.Channel(id)
	if n := len([]rune(ch.Topic)); n != slackops.MaxTopic {
		t.Errorf("topic has %d characters, want %d", n, slackops.MaxTopic)
	}
	if len(ch.Bookmarks) != 1 || ch.Bookmarks[0].Link != snapshot.HTMLURL {
		t.Errorf("bookmarks = %v, want the incident link", ch.Bookmarks)
	}
	if want := []string{slackfake.BotUserID, "U1", "U2"}; strings.Join(ch.Members, ",") != strings.Join(want, ",") {
		t.Errorf("members = %v, want %v", ch.Members, want)
	}
}

func TestInvitePartialFailure(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.AddUser("UADA", "ada@example.com", false)
	fake.AddUser("UGONE", "gone@example.com", true)
	fake.AddUser("UGRACE", "grace@example.com", false)
	fake.SetUser("UGUEST", "user_is_ultra_restricted")
	fake.AddMembers(id, "UGRACE")

	failed, err := c.Invite(ctx(t), id, []string{"UADA", "UGONE", "UNKNOWN", "UGRACE", "UGUEST", slackfake.BotUserID})
	if err != nil {
		t.Fatalf("Invite error = %v, want the per-user failures in failed", err)
	}
	want := []incident.InviteFailure{
		{UserID: "UGONE", Reason: "deactivated"},
		{UserID: "UNKNOWN", Reason: "not a Slack user"},
		{UserID: "UGUEST", Reason: "a guest who cannot be added"},
	}
	if !slices.Equal(failed, want) {
		t.Errorf("failed = %v, want %v", failed, want)
	}
	ch, _ := fake.Channel(id)
	if got := strings.Join(ch.Members, ","); got != slackfake.BotUserID+",UGRACE,UADA" {
		t.Errorf("members = %s, want the valid user invited despite the others", got)
	}

	// Every user refused: still per-user failures, not an error.
	failed, err = c.Invite(ctx(t), id, []string{"UGONE", "UNKNOWN"})
	if err != nil || len(failed) != 2 {
		t.Errorf("Invite(all refused) = %v, %v; want two failures and no error", failed, err)
	}
	// One user refused, without force's errors array.
	failed, err = c.Invite(ctx(t), id, []string{"UGONE"})
	if err != nil || !slices.Equal(failed, []incident.InviteFailure{{UserID: "UGONE", Reason: "deactivated"}}) {
		t.Errorf("Invite(one deactivated) = %v, %v; want UGONE deactivated", failed, err)
	}
}

func TestInviteReason(t *testing.T) {
	for code, want := range map[string]string{
		"user_is_deactivated": "deactivated", "user_disabled": "deactivated", "user_not_found": "not a Slack user",
		"cant_invite": "a guest who cannot be added", "user_is_restricted": "a guest who cannot be added",
		"user_is_ultra_restricted": "a guest who cannot be added", "ura_max_channels": "a guest who cannot be added",
		"user_is_bot": "user_is_bot",
	} {
		if got := slackops.InviteReason(code); got != want {
			t.Errorf("InviteReason(%s) = %q, want %q", code, got, want)
		}
	}
}

func TestInviteWholeCallFailures(t *testing.T) {
	c, fake, clk := newClockedClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.Fail("conversations.invite", slackfake.Fault{Status: 429, RetryAfter: 3})
	failed, err := c.Invite(ctx(t), id, []string{"U1", "U2"})
	var re *incident.Error
	if !errors.As(err, &re) || re.RetryAfter != 3*time.Second || len(failed) != 0 {
		t.Errorf("Invite(rate limited) = %v, %v; want a Error after 3s", failed, err)
	}
	clk.Add(3 * time.Second)
	fake.Fail("conversations.invite", slackfake.Fault{Status: 503})
	if _, err := c.Invite(ctx(t), id, []string{"U1"}); !incident.IsRetryable(err) {
		t.Errorf("Invite(503) error = %v, want retryable", err)
	}
	fake.Archive(id)
	if _, err := c.Invite(ctx(t), id, []string{"U1", "U2"}); !errors.Is(err, incident.ErrChannelArchived) {
		t.Errorf("Invite(archived) error = %v, want ErrChannelArchived", err)
	}
	if _, err := c.Invite(ctx(t), "CNONE", []string{"U1"}); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("Invite(no channel) error = %v, want channel_not_found", err)
	}
}

func TestRootAndThread(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1234", false)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	if err != nil {
		t.Fatalf("PostRoot error = %v", err)
	}
	ch, _ := fake.Channel(id)
	root := ch.Messages[0].BlockText()
	for _, want := range []string{
		"#1234 <!channel> Checkout latency & errors\n", "Acknowledged", "High", "P1",
		"<https://acme.pagerduty.com/services/S1|Checkout API>", "Ada Lovelace, Grace &lt;@U1&gt; Hopper",
		"Payments", "<!date^1795485600^", "Open in PagerDuty", snapshot.HTMLURL, "Join conference", "+1 555 0100",
	} {
		if !strings.Contains(root, want) {
			t.Errorf("root message lacks %q:\n%s", want, root)
		}
	}
	// The header is plain_text, which Slack does not parse: the title
	// shows as typed. Everything below it is mrkdwn and must be inert.
	_, mrkdwnPart, _ := strings.Cut(root, "\n")
	if strings.Contains(mrkdwnPart, "<!channel>") || strings.Contains(mrkdwnPart, "<@U1>") {
		t.Errorf("root message carries a live mention:\n%s", root)
	}
	if text := ch.Messages[0].Text; !strings.Contains(text, "#1234 &lt;!channel&gt; Checkout latency &amp; errors") {
		t.Errorf("root fallback text = %q, want the number and the escaped title", text)
	}

	resolved := snapshot
	resolved.Status, resolved.ResolvedAt = "resolved", snapshot.UpdatedAt.Add(time.Hour)
	if err := c.UpdateRoot(ctx(t), id, ts, incident.Root{Incident: resolved}); err != nil {
		t.Fatalf("UpdateRoot error = %v", err)
	}
	if _, err := c.PostReply(ctx(t), id, ts, incident.Reply{Headline: "Note from Ada", Body: "rolled back <!here>", At: snapshot.UpdatedAt}); err != nil {
		t.Fatalf("PostReply error = %v", err)
	}
	if _, err := c.PostReply(ctx(t), id, ts, incident.Reply{Headline: "Resolved by Ada after 1h", Broadcast: true, At: resolved.ResolvedAt}); err != nil {
		t.Fatalf("PostReply(broadcast) error = %v", err)
	}

	ch, _ = fake.Channel(id)
	if top := ch.TopLevel(); len(top) != 1 || top[0].Edits != 1 {
		t.Fatalf("top-level messages = %d (edits %v), want the one root edited once", len(top), top)
	}
	if root := ch.Messages[0].BlockText(); !strings.Contains(root, "Resolved") || !strings.Contains(root, "🟢") {
		t.Errorf("updated root does not show Resolved:\n%s", root)
	}
	replies := ch.Replies(ts)
	if len(replies) != 2 {
		t.Fatalf("replies = %d, want 2", len(replies))
	}
	if got := replies[0].BlockText(); !strings.Contains(got, "Note from Ada") || !strings.Contains(got, "\n> rolled back &lt;!here&gt;") {
		t.Errorf("note reply = %q, want headline and quoted, escaped body", got)
	}
	if replies[0].Broadcast || !replies[1].Broadcast {
		t.Errorf("broadcast = %v, %v; want only the resolution broadcast", replies[0].Broadcast, replies[1].Broadcast)
	}
}

// TestHugeTextFits posts a title and a note far over Slack's limits: the
// fake enforces them, so an error here means Slack would reject the post.
func TestHugeTextFits(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	huge := snapshot
	huge.Title = strings.Repeat("<&> 😀 long title ", 2000)
	huge.Assignees = nil
	for range 300 {
		huge.Assignees = append(huge.Assignees, incident.Ref{Summary: "Someone With A Long Name & <tag>"})
	}
	huge.Service.HTMLURL = "https://x/?" + strings.Repeat("a=1&", 900) // escaping & makes it longer
	huge.EscalationPolicy.HTMLURL = "https://x/" + strings.Repeat("&", 999)
	huge.HTMLURL = "https://x/" + strings.Repeat("b", 5000)
	huge.ConferenceURL = "https://meet.example/" + strings.Repeat("&c", 1400) + " with a space"
	ts, err := c.PostRoot(ctx(t), id, incident.Root{Incident: huge})
	if err != nil {
		t.Fatalf("PostRoot(huge) error = %v", err)
	}
	if err := c.SetTopic(ctx(t), id, incident.Topic(huge)+strings.Repeat("x", 500)); err != nil {
		t.Errorf("SetTopic(huge) error = %v", err)
	}
	note := strings.Repeat("a line of the note <!channel> & more\n", 3000) // ~110 000 characters
	if _, err := c.PostReply(ctx(t), id, ts, incident.Reply{Headline: strings.Repeat("h", 5000), Body: note, At: time.Now()}); err != nil {
		t.Fatalf("PostReply(huge note) error = %v", err)
	}
	ch, _ := fake.Channel(id)
	reply := ch.Replies(ts)[0].BlockText()
	if !strings.Contains(reply, "was cut") {
		t.Errorf("a cut note does not say so")
	}
	if n := strings.Count(reply, "a line of the note"); n < 500 {
		t.Errorf("reply keeps %d lines of the note, want most of what fits in 40 000 characters", n)
	}
}

func TestErrorTranslation(t *testing.T) {
	tests := []struct {
		name       string
		fault      slackfake.Fault
		retryable  bool
		retryAfter time.Duration
		want       string
	}{
		{"429 with Retry-After", slackfake.Fault{Status: 429, RetryAfter: 7}, true, 7 * time.Second, "rate limit"},
		{"429 without Retry-After", slackfake.Fault{Status: 429}, true, 0, "429"},
		{"500", slackfake.Fault{Status: 500}, true, 0, "500"},
		{"502", slackfake.Fault{Status: 502}, true, 0, "502"},
		{"503", slackfake.Fault{Status: 503}, true, 0, "503"},
		{"connection reset", slackfake.Fault{Reset: true}, true, 0, "chat.postMessage"},
		{"ratelimited body", slackfake.Fault{Error: "ratelimited"}, true, 0, "ratelimited"},
		{"internal_error", slackfake.Fault{Error: "internal_error"}, true, 0, "internal_error"},
		{"invalid_auth", slackfake.Fault{Error: "invalid_auth"}, false, 0, "chat.postMessage: invalid_auth"},
		{"account_inactive", slackfake.Fault{Error: "account_inactive"}, false, 0, "account_inactive"},
		{"channel_not_found", slackfake.Fault{Error: "channel_not_found"}, false, 0, "channel_not_found"},
		{"msg_too_long", slackfake.Fault{Error: "msg_too_long"}, false, 0, "msg_too_long"},
		{"is_archived", slackfake.Fault{Error: "is_archived"}, false, 0, "channel archived"},
		{"400", slackfake.Fault{Status: 400}, false, 0, "400"},
	}
	c, fake, clk := newClockedClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(time.Minute) // past what an earlier row's 429 said
			fake.Fail("chat.postMessage", tt.fault)
			_, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
			if err == nil {
				t.Fatal("PostRoot error = nil, want one")
			}
			if got := incident.IsRetryable(err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			var re *incident.Error
			if errors.As(err, &re) && re.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", re.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if n := len(mustChannel(t, fake, id).Messages); n != 0 {
		t.Errorf("failed posts left %d messages", n)
	}
}

func TestSlowSlackTimesOut(t *testing.T) {
	c, fake := newClient(t)
	fake.Fail("conversations.create", slackfake.Fault{Delay: 2 * time.Second})
	cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreateChannel(cctx, "inc-slow", false)
	if !incident.IsRetryable(err) {
		t.Errorf("CreateChannel past the deadline error = %v, want a retryable one", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("CreateChannel returned after %v, want soon after its 100ms deadline", d)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		token    string
		fault    *slackfake.Fault
		wantCode string // the APIError code; "" for none
		retry    bool
	}{
		{"token works", slackfake.DefaultToken, nil, "", false},
		{"token refused", "xoxb-revoked", nil, "invalid_auth", false},
		{"account inactive", slackfake.DefaultToken, &slackfake.Fault{Error: "account_inactive"}, "account_inactive", false},
		{"rate limited", slackfake.DefaultToken, &slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 3}, "", true},
		{"slack down", slackfake.DefaultToken, &slackfake.Fault{Status: http.StatusServiceUnavailable}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := slackfake.NewServer()
			t.Cleanup(fake.Close)
			if tt.fault != nil {
				fake.Fail("auth.test", *tt.fault)
			}
			err := slackops.New(tt.token, fake.URL).Check(ctx(t))
			var ae *slackops.APIError
			switch {
			case tt.wantCode == "" && !tt.retry && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tt.wantCode != "" && (!errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Method != "auth.test"):
				t.Errorf("Check = %v, want APIError auth.test %s", err, tt.wantCode)
			case tt.retry && !incident.IsRetryable(err):
				t.Errorf("Check = %v, want a retryable error", err)
			}
			if err != nil && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q reveals the token", err)
			}
			if n := fake.Calls("auth.test"); n != 1 {
				t.Errorf("auth.test calls = %d, want 1", n)
			}
		})
	}
}

func TestWrongToken(t *testing.T) {
	fake := slackfake.NewServer()
	t.Cleanup(fake.Close)
	c := slackops.New("xoxb-wrong", fake.URL)
	_, err := c.CreateChannel(ctx(t), "inc-1", false)
	var ae *slackops.APIError
	if !errors.As(err, &ae) || ae.Code != "invalid_auth" {
		t.Errorf("CreateChannel with a wrong token error = %v, want APIError invalid_auth", err)
	}
	if strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("error %q reveals the token", err)
	}
}

func mustChannel(t *testing.T, fake *slackfake.Server, id string) slackfake.Channel {
	t.Helper()
	ch, ok := fake.Channel(id)
	if !ok {
		t.Fatalf("no channel %s", id)
	}
	return ch
}

// TestFind checks that the Find calls see what PostRoot and PostReply
// posted, across pages, and nothing else.
func TestFind(t *testing.T) {
	c, _ := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1234", false)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := c.FindRoot(ctx(t), id, snapshot.ID); err != nil || ts != "" {
		t.Errorf("FindRoot(empty channel) = %q, %v; want \"\", nil", ts, err)
	}
	root, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for i := range 450 { // more than two pages of 200
		ts, err := c.PostReply(ctx(t), id, root, incident.Reply{Headline: "reply", EventID: "ev-" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 420 {
			want = ts
		}
	}
	if ts, err := c.FindRoot(ctx(t), id, snapshot.ID); err != nil || ts != root {
		t.Errorf("FindRoot = %q, %v; want %q", ts, err, root)
	}
	if ts, err := c.FindRoot(ctx(t), id, "OTHER"); err != nil || ts != "" {
		t.Errorf("FindRoot(other incident) = %q, %v; want \"\"", ts, err)
	}
	if ts, err := c.FindReply(ctx(t), id, root, "ev-420"); err != nil || ts != want {
		t.Errorf("FindReply(ev-420, on the third page) = %q, %v; want %q", ts, err, want)
	}
	if ts, err := c.FindReply(ctx(t), id, root, "ev-none"); err != nil || ts != "" {
		t.Errorf("FindReply(unknown event) = %q, %v; want \"\"", ts, err)
	}
	if err := c.AddBookmark(ctx(t), id, incident.Bookmark{Title: "PD", Link: "https://pd/1"}); err != nil {
		t.Fatal(err)
	}
	if links, err := c.Bookmarks(ctx(t), id); err != nil || strings.Join(links, ",") != "https://pd/1" {
		t.Errorf("Bookmarks = %v, %v; want [https://pd/1]", links, err)
	}
}

func TestFindChannel(t *testing.T) {
	c, fake := newClient(t)
	start := time.Now().Add(-time.Second)
	ours, err := c.CreateChannel(ctx(t), "inc-1-ours", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.CreateChannel("inc-2-theirs", false)
	private, err := c.CreateChannel(ctx(t), "inc-4-private", true)
	if err != nil {
		t.Fatal(err)
	}
	fake.CreatePrivateChannel("inc-5-hidden")
	tests := []struct {
		name  string
		after time.Time
		want  string
	}{
		{"inc-1-ours", start, ours},
		{"inc-4-private", start, private},             // a private orphan is adopted too
		{"inc-5-hidden", start, ""},                   // a private channel the bot is not in stays unseen
		{"inc-1-ours", time.Now().Add(time.Hour), ""}, // older than the creation attempt
		{"inc-2-theirs", start, ""},                   // a person's channel is never adopted
		{"inc-3-none", start, ""},
	}
	for _, tt := range tests {
		got, name, err := c.FindChannel(ctx(t), []string{"inc-0-other", tt.name}, tt.after)
		if err != nil || got != tt.want || (got != "" && name != tt.name) {
			t.Errorf("FindChannel(%q, %v) = %q, %v; want %q", tt.name, tt.after.Format(time.TimeOnly), got, err, tt.want)
		}
	}
	if n := fake.Calls("auth.test"); n != 1 {
		t.Errorf("auth.test called %d times, want once (cached)", n)
	}
}

// TestPeopleChangedTheChannel covers what people do to an incident channel:
// remove the bot (it rejoins), delete the root message (ErrRootGone),
// archive the channel (ErrChannelArchived).
func TestPeopleChangedTheChannel(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.Kick(id, slackfake.BotUserID)
	root, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	if err != nil {
		t.Fatalf("PostRoot after the bot was removed = %v, want it to rejoin and post", err)
	}
	if ch := mustChannel(t, fake, id); !slices.Contains(ch.Members, slackfake.BotUserID) || len(ch.Messages) != 1 {
		t.Errorf("after rejoining: members %v, %d messages; want the bot back and one root", ch.Members, len(ch.Messages))
	}

	fake.DeleteMessage(id, root)
	if err := c.UpdateRoot(ctx(t), id, root, incident.Root{Incident: snapshot}); !errors.Is(err, incident.ErrRootGone) {
		t.Errorf("UpdateRoot(deleted root) = %v, want ErrRootGone", err)
	}
	if _, err := c.PostReply(ctx(t), id, root, incident.Reply{Headline: "x"}); !errors.Is(err, incident.ErrRootGone) {
		t.Errorf("PostReply(deleted root) = %v, want ErrRootGone", err)
	}

	fake.Archive(id)
	if _, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot}); !errors.Is(err, incident.ErrChannelArchived) || incident.IsRetryable(err) {
		t.Errorf("PostRoot(archived) = %v, want ErrChannelArchived, not retryable", err)
	}
	if err := c.SetTopic(ctx(t), id, "x"); !errors.Is(err, incident.ErrChannelArchived) {
		t.Errorf("SetTopic(archived) = %v, want ErrChannelArchived", err)
	}
}

// TestRejectedBlocksFallBack: when Slack refuses the root's blocks, a plain
// root (header and text, no links) is posted or edited instead, so an odd
// payload never stalls an incident's updates.
func TestRejectedBlocksFallBack(t *testing.T) {
	c, fake := newClient(t)
	id, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.Fail("chat.postMessage", slackfake.Fault{Error: "invalid_blocks"})
	ts, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	if err != nil {
		t.Fatalf("PostRoot with the blocks refused = %v, want the plain root posted", err)
	}
	fake.Fail("chat.update", slackfake.Fault{Error: "invalid_blocks_format"})
	if err := c.UpdateRoot(ctx(t), id, ts, incident.Root{Incident: snapshot}); err != nil {
		t.Fatalf("UpdateRoot with the blocks refused = %v, want the plain root", err)
	}
	ch := mustChannel(t, fake, id)
	if len(ch.Messages) != 1 || !strings.Contains(ch.Messages[0].BlockText(), "Acknowledged · high · P1 · Checkout API") {
		t.Errorf("messages = %+v, want one plain root showing the incident", ch.Messages)
	}
}

// TestRateLimitedMethodHeldBack: after Slack answers a method with 429
// and Retry-After, no call of that method reaches Slack until the wait
// has passed — from this client or any sharing the limits — and the
// caller gets the same rate-limited error at once. chat.postMessage is
// limited per channel, other methods per workspace.
func TestRateLimitedMethodHeldBack(t *testing.T) {
	limits := &slackops.MemoryRateLimits{}
	c, fake, clk := newClockedClient(t, slackops.WithRateLimits(limits))
	other := slackops.New(slackfake.DefaultToken, fake.URL, slackops.WithRateLimits(limits), slackops.WithClock(clk.Now))
	a, err := c.CreateChannel(ctx(t), "inc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateChannel(ctx(t), "inc-2", false)
	if err != nil {
		t.Fatal(err)
	}
	fake.Fail("conversations.create", slackfake.Fault{Status: 429, RetryAfter: 5})
	if _, err := c.CreateChannel(ctx(t), "inc-3", false); incident.RetryAfter(err) != 5*time.Second {
		t.Fatalf("CreateChannel(429) error = %v, want rate limited for 5s", err)
	}
	sent := fake.Calls("conversations.create")
	clk.Add(2 * time.Second)
	for name, client := range map[string]*slackops.Client{"same client": c, "other instance": other} {
		_, err := client.CreateChannel(ctx(t), "inc-3", false)
		if incident.KindOf(err) != incident.KindTransient || incident.RetryAfter(err) != 3*time.Second {
			t.Errorf("%s: CreateChannel while limited = %v, want transient, retry after 3s", name, err)
		}
	}
	if n := fake.Calls("conversations.create"); n != sent {
		t.Errorf("conversations.create reached Slack %d more times while limited, want 0", n-sent)
	}
	if err := c.SetTopic(ctx(t), a, "Triggered"); err != nil {
		t.Errorf("SetTopic while conversations.create is limited = %v, want it sent", err)
	}

	fake.Fail("chat.postMessage", slackfake.Fault{Status: 429, RetryAfter: 1})
	root := incident.Root{Incident: snapshot}
	if _, err := c.PostRoot(ctx(t), a, root); !incident.IsRetryable(err) {
		t.Fatalf("PostRoot(429) = %v, want retryable", err)
	}
	if _, err := c.PostRoot(ctx(t), a, root); incident.KindOf(err) != incident.KindTransient {
		t.Errorf("PostRoot in the limited channel = %v, want held back", err)
	}
	if _, err := c.PostRoot(ctx(t), b, root); err != nil {
		t.Errorf("PostRoot in another channel = %v, want it posted", err)
	}

	clk.Add(3 * time.Second)
	if _, err := c.CreateChannel(ctx(t), "inc-3", false); err != nil {
		t.Errorf("CreateChannel after the wait = %v, want it created", err)
	}
	if _, err := c.PostRoot(ctx(t), a, root); err != nil {
		t.Errorf("PostRoot after the wait = %v, want it posted", err)
	}
}

// TestRateLimitEndsWithOneCall: when a limit ends, calls go one at a time
// for as long again as Slack asked to wait, so the calls held back do not
// all go at once and get refused again; after that, calls go freely.
func TestRateLimitEndsWithOneCall(t *testing.T) {
	c, fake, clk := newClockedClient(t)
	fake.Fail("conversations.create", slackfake.Fault{Status: 429, RetryAfter: 5})
	if _, err := c.CreateChannel(ctx(t), "inc-0", false); incident.RetryAfter(err) != 5*time.Second {
		t.Fatalf("CreateChannel(429) = %v, want rate limited for 5s", err)
	}
	clk.Add(5 * time.Second)
	fake.SetLatency(200 * time.Millisecond)
	sent := fake.Calls("conversations.create")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.CreateChannel(ctx(t), fmt.Sprintf("inc-%d", i+1), false) })
	}
	wg.Wait()
	created, held := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case incident.KindOf(err) == incident.KindTransient && incident.RetryAfter(err) == time.Second:
			held++
		default:
			t.Errorf("CreateChannel as the limit ends = %v", err)
		}
	}
	if created != 1 || held != 3 || fake.Calls("conversations.create")-sent != 1 {
		t.Errorf("as the limit ends: %d created, %d held back, %d calls sent; want 1, 3, 1", created, held, fake.Calls("conversations.create")-sent)
	}
	fake.SetLatency(0)
	for i := range 3 {
		if _, err := c.CreateChannel(ctx(t), fmt.Sprintf("inc-%d", 10+i), false); err != nil {
			t.Errorf("CreateChannel one after another = %v, want created", err)
		}
	}
	clk.Add(5 * time.Second) // the cooldown is over
	fake.SetLatency(200 * time.Millisecond)
	sent = fake.Calls("conversations.create")
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.CreateChannel(ctx(t), fmt.Sprintf("inc-%d", 20+i), false) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("CreateChannel at once after the cooldown = %v, want created", err)
		}
	}
	if n := fake.Calls("conversations.create") - sent; n != len(errs) {
		t.Errorf("%d calls sent at once after the cooldown, want %d", n, len(errs))
	}
}
