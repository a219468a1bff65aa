package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

const pdToken = "pd-e2e-token"

// workspace is a fake Slack workspace and PagerDuty account for routing
// and people: people with emails, a user group, an announce channel and a
// channel for incidents without one of their own.
type workspace struct {
	nw       *netfake.Network
	slack    *slackfake.Server
	pd       *pdfake.Server
	announce string
	low      string
	rules    string
}

// newWorkspace starts the workspace's fakes on nw.
func newWorkspace(t *testing.T, nw *netfake.Network) *workspace {
	t.Helper()
	w := &workspace{nw: nw, slack: newSlack(t, nw), pd: pdfake.NewServerOn(nw.Listen(), pdToken)}
	t.Cleanup(w.pd.Close)
	for _, u := range []struct{ id, email string }{
		{"U0LEAD", "lead@example.com"}, {"U0SRE", "sre@example.com"},
		{"UADA", "ada@example.com"}, {"USRE1", "sre1@example.com"}, {"USRE2", "sre2@example.com"},
	} {
		w.slack.AddUser(u.id, u.email, false)
	}
	w.slack.AddUser("UKJ", "kj@example.com", true)
	w.slack.AddUserGroup("S0SRE", "sre-oncall", "USRE1", "USRE2")
	w.pd.AddUser("PUSER00", "Ada Lovelace", "Ada@Example.com")
	w.pd.AddUser("PUSER01", "Alan Turing", "alan@example.com") // not in Slack
	w.pd.AddUser("PUSER09", "Katherine Johnson", "kj@example.com")
	// Public channels people made; the bot is not in them and joins.
	w.announce = w.slack.CreateChannel("incidents", false)
	w.low = w.slack.CreateChannel("low-priority", false)
	w.rules = filepath.Join(t.TempDir(), "routing.yaml")
	rules := `rules:
  - name: sev1
    match: {priority: P1}
    prefix: sev
    private: true
    invite: ["@sre-oncall"]
  - name: the-rest
    channel: false
    post_to: ` + w.low + "\n"
	if err := os.WriteFile(w.rules, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *workspace) env() map[string]string {
	return map[string]string{
		"ROUTING_FILE":           w.rules,
		"SLACK_ANNOUNCE_CHANNEL": w.announce,
		"PAGERDUTY_API_TOKEN":    pdToken,
		"PAGERDUTY_API_URL":      w.pd.URL(),
	}
}

// boardOf returns the one top-level message the bot posted in channel id.
func boardOf(t *testing.T, fake *slackfake.Server, id string) slackfake.Message {
	t.Helper()
	ch, _ := fake.Channel(id)
	var msgs []slackfake.Message
	for _, m := range ch.TopLevel() {
		if m.User == "" || m.User == slackfake.BotUserID {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("channel %s holds %d messages of the bot, want 1", ch.Name, len(msgs))
	}
	var md struct {
		EventType string `json:"event_type"`
	}
	_ = json.Unmarshal(msgs[0].Metadata, &md)
	if md.EventType != "incident_channels_board" {
		t.Errorf("message metadata %s, want incident_channels_board", msgs[0].Metadata)
	}
	return msgs[0]
}

func replyTexts(ch slackfake.Channel, ts string) []string {
	var out []string
	for _, m := range ch.Replies(ts) {
		out = append(out, m.Text)
	}
	return out
}

// splitNote returns the one note naming who could not be added among the
// replies an event added, and the other replies in their order. Invites,
// and the note after them, run alongside the summary and the reply, so
// the note may come anywhere after the root.
func splitNote(t *testing.T, added []string) (note string, rest []string) {
	t.Helper()
	for _, r := range added {
		if strings.Contains(r, "Could not add") {
			if note != "" {
				t.Fatalf("replies %q hold two notes, want one", added)
			}
			note = r
			continue
		}
		rest = append(rest, r)
	}
	if note == "" {
		t.Fatalf("replies %q hold no note naming who could not be added", added)
	}
	return note, rest
}

// TestEndToEndRoutingAndPeople runs a P2 incident that is raised to P1
// through the real handler, slack-go, the fake Slack and the fake
// PagerDuty REST API: first one message in the low-priority channel with
// its updates threaded, then a private channel with the rule's user group
// and the people PagerDuty involved, a summary of what happened before,
// an announcement kept current, and one line naming who could not be
// added.
func TestEndToEndRoutingAndPeople(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "firestore"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			project := ""
			if kind == "firestore" {
				project = firestoretest.Project(t)
			}
			runOn(t, kind, func(t *testing.T) {
				w := newWorkspace(t, netfake.New())
				fn := newInstance(t, w.nw, w.slack, kind, project, w.env())

				fn.mustDeliver(t, "triggered.json", "processed")
				fn.mustDeliver(t, "acknowledged.json", "processed")
				if n := len(w.slack.Channels()); n != 2 {
					t.Fatalf("%d channels after a P2 incident, want only the 2 shared ones", n)
				}
				post := boardOf(t, w.slack, w.low)
				wantContains(t, "post-only message", post.BlockText(), "#1234 Checkout latency above 2s (p99)", "Acknowledged", "Updates in the thread")
				low, _ := w.slack.Channel(w.low)
				if got := replyTexts(low, post.TS); len(got) != 1 || !strings.Contains(got[0], "Acknowledged by Ada Lovelace") {
					t.Errorf("post-only thread = %q, want the acknowledgement", got)
				}
				if n := userLookups(w.pd); n != 0 {
					t.Errorf("PagerDuty users looked up %d times before any channel, want 0", n)
				}

				fn.mustDeliver(t, "priority_updated.json", "processed")
				var inc slackfake.Channel
				for _, c := range w.slack.Channels() {
					if strings.HasPrefix(c.Name, "sev-1234-") {
						inc = c
					}
				}
				if inc.ID == "" || !inc.Private {
					t.Fatalf("no private sev-1234- channel after the priority was raised: %+v", w.slack.Channels())
				}
				members := slices.Clone(inc.Members)
				slices.Sort(members)
				// Ada is PUSER00, an assignee; Grace shares the fixture's id.
				want := []string{"U0LEAD", "U0SRE", "UADA", "USRE1", "USRE2", slackfake.BotUserID}
				slices.Sort(want)
				if !slices.Equal(members, want) {
					t.Errorf("members = %q, want %q", members, want)
				}
				root := rootOf(t, inc)
				wantContains(t, "root of the channel opened late", root.BlockText(),
					"Before this channel opened", "Triggered (high urgency)", "Acknowledged by Ada Lovelace", "P1")
				replies := replyTexts(inc, root.TS)
				note, rest := splitNote(t, replies)
				if len(rest) != 2 {
					t.Fatalf("channel replies = %q, want summary, priority change, note", replies)
				}
				wantContains(t, "summary", rest[0], "What happened before this channel opened", "Triggered (high urgency)", "Acknowledged by Ada Lovelace")
				wantContains(t, "priority reply", rest[1], "Priority changed to P1 by Ada Lovelace")
				wantContains(t, "note", note, "Alan Turing (no Slack account)")
				if strings.Contains(note, "@") {
					t.Errorf("invite note names an email address: %q", note)
				}
				wantContains(t, "post-only message after the channel opened", boardOf(t, w.slack, w.low).BlockText(), "P1", "<#"+inc.ID+">")
				ann := boardOf(t, w.slack, w.announce)
				wantContains(t, "announcement", ann.Text+"\n"+ann.BlockText(), "#1234", "<#"+inc.ID+">", "Acknowledged")

				fn.mustDeliver(t, "responder_added.json", "processed")
				inc, _ = w.slack.Channel(inc.ID)
				note, rest = splitNote(t, replyTexts(inc, root.TS)[len(replies):])
				if len(rest) != 1 {
					t.Fatalf("replies of the responder request besides the note = %q, want its reply", rest)
				}
				wantContains(t, "responder reply", rest[0], "Ada Lovelace requested Katherine Johnson as a responder")
				wantContains(t, "note after the responder request", note, "Katherine Johnson (no Slack account)")
				if strings.Contains(note, "@") {
					t.Errorf("invite note names an email address: %q", note)
				}

				fn.mustDeliver(t, "resolved.json", "processed")
				ann = boardOf(t, w.slack, w.announce)
				wantContains(t, "announcement after resolution", ann.BlockText(), "Resolved")
				if ann.Edits != 1 {
					t.Errorf("announcement edited %d times, want once (resolved), in place", ann.Edits)
				}

				calls := userLookups(w.pd)
				for _, f := range []string{"triggered.json", "acknowledged.json", "priority_updated.json", "responder_added.json", "resolved.json"} {
					fn.mustDeliver(t, f, "duplicate")
				}
				if calls != 3 || userLookups(w.pd) != 3 {
					t.Errorf("PagerDuty users looked up %d times (%d after redeliveries), want 3: each person once", calls, userLookups(w.pd))
				}
			})
		})
	}
}

// userLookups counts the requests for PagerDuty users: the people
// look-ups, apart from the look-up of past incidents a new channel makes.
func userLookups(pd *pdfake.Server) int {
	n := 0
	for _, p := range pd.Paths() {
		if strings.HasPrefix(p, "/users") {
			n++
		}
	}
	return n
}

// The cache outlives an incident: a second incident with the same people
// costs no PagerDuty look-up, also on a second instance (Firestore).
func TestEndToEndPeopleCacheShared(t *testing.T) {
	t.Parallel()
	project := firestoretest.Project(t)
	w := newWorkspace(t, netfake.New())
	env := map[string]string{"PAGERDUTY_API_TOKEN": pdToken, "PAGERDUTY_API_URL": w.pd.URL()}
	first := newInstance(t, w.nw, w.slack, "firestore", project, env)
	first.mustDeliver(t, "triggered.json", "processed")
	if n := userLookups(w.pd); n != 1 {
		t.Fatalf("PagerDuty user look-ups = %d, want 1 (Ada)", n)
	}
	second := newInstance(t, w.nw, w.slack, "firestore", project, env)
	body := strings.ReplaceAll(string(testdata(t, "triggered.json")), "Q1CHECKOUT", "Q2CHECKOUT")
	body = strings.ReplaceAll(body, "01HT0TRIGGERED0000000000001", "01HT0TRIGGERED0000000000002")
	if code, got := second.deliver(t, []byte(body)); code != 200 || got != "processed" {
		t.Fatalf("second incident = %d %q", code, got)
	}
	if n := userLookups(w.pd); n != 1 {
		t.Errorf("PagerDuty user look-ups = %d after a second incident on another instance, want still 1", n)
	}
	for _, c := range w.slack.Channels() {
		if strings.HasPrefix(c.Name, "inc-") && !slices.Contains(c.Members, "UADA") {
			t.Errorf("channel %s members %q, want Ada", c.Name, c.Members)
		}
	}
}

// PagerDuty's REST API rate limiting the look-up fails the webhook with
// a 503; the redelivery invites and posts nothing twice.
func TestEndToEndPagerDutyRateLimited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := newWorkspace(t, netfake.New())
		fn := newInstance(t, w.nw, w.slack, "memory", "", map[string]string{"PAGERDUTY_API_TOKEN": pdToken, "PAGERDUTY_API_URL": w.pd.URL()})
		w.pd.FailOn("GET", "/users/PUSER00", pdfake.Fault{Status: 429, RetryAfter: "1"})
		if code, body := fn.deliver(t, testdata(t, "triggered.json")); code != 503 {
			t.Fatalf("first delivery = %d %q, want 503 while PagerDuty rate limits", code, body)
		}
		fn.redeliver(t, "triggered.json", "processed")
		var inc slackfake.Channel
		for _, c := range w.slack.Channels() {
			if strings.HasPrefix(c.Name, "inc-") {
				inc = c
			}
		}
		if !slices.Contains(inc.Members, "UADA") || len(inc.TopLevel()) != 1 {
			t.Errorf("channel %+v: want Ada invited and one root message", inc)
		}
	})
}

// Someone archives the announce channel: its message is given up and the
// incident's own channel carries on to the resolution.
func TestEndToEndArchivedAnnounceChannel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := newWorkspace(t, netfake.New())
		env := w.env()
		delete(env, "ROUTING_FILE")
		fn := newInstance(t, w.nw, w.slack, "memory", "", env)
		fn.mustDeliver(t, "triggered.json", "processed")
		w.slack.Archive(w.announce)
		fn.mustDeliver(t, "acknowledged.json", "processed")
		fn.mustDeliver(t, "resolved.json", "processed")
		var own slackfake.Channel
		for _, c := range w.slack.Channels() {
			if strings.HasPrefix(c.Name, "inc-") {
				own = c
			}
		}
		got := replyTexts(own, rootOf(t, own).TS)
		if len(got) != 2 || !strings.Contains(got[1], "Resolved by Ada Lovelace") {
			t.Errorf("incident channel replies = %q; want the acknowledgement and the resolution", got)
		}
		if !strings.Contains(fn.logs.String(), "giving it up") {
			t.Errorf("no log line about the archived announce channel:\n%s", fn.logs)
		}
	})
}
