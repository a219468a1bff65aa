package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/soak"
	"github.com/incident-channels/incident-channels/slackops"
)

// stormWantOf returns what Slack must show after the first n incidents of
// seedStorm had their triggered and resolved events.
func stormWantOf(t *testing.T, n int) stormWant {
	t.Helper()
	w := stormWant{Prefix: "inc", Announce: "CANNOUNCE", Invite: []string{"U0LEAD", "U0SRE"}}
	for i := range n {
		life := soak.Lifecycle(seedStorm, i)
		inc, err := stormIncidentOf(w.Prefix, life[0], life[1])
		if err != nil {
			t.Fatal(err)
		}
		w.Incidents = append(w.Incidents, inc)
	}
	return w
}

func md(typ, key, value string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"event_type": typ, "event_payload": map[string]string{key: value}})
	return b
}

func section(text string) json.RawMessage {
	return json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"` + text + `"}}]`)
}

// doneStorm returns a workspace that shows every effect w wants, once.
func doneStorm(w stormWant) []slackfake.Channel {
	announce := slackfake.Channel{ID: w.Announce, Name: "incidents"}
	chs := []slackfake.Channel{{ID: "COTHER", Name: "general"}}
	for i, inc := range w.Incidents {
		root := fmt.Sprintf("100.%06d", i)
		c := slackfake.Channel{ID: fmt.Sprintf("C%08d", i), Name: inc.Channel, Topic: inc.Topic,
			Members: append([]string{slackfake.BotUserID}, w.Invite...)}
		c.Messages = append(c.Messages, slackfake.Message{TS: root, Blocks: section(inc.Status + " · P2"),
			Metadata: md(slackops.RootMetadataType, "incident_id", inc.ID)})
		for k, id := range inc.Replies {
			c.Messages = append(c.Messages, slackfake.Message{TS: fmt.Sprintf("200.%06d", 100*i+k), ThreadTS: root, Text: "reply",
				Metadata: md(slackops.ReplyMetadataType, "event_id", id)})
		}
		for _, l := range inc.Links {
			c.Bookmarks = append(c.Bookmarks, slackfake.Bookmark{ID: "Bk" + l, Link: l})
		}
		announce.Messages = append(announce.Messages, slackfake.Message{TS: fmt.Sprintf("300.%06d", i),
			Text: inc.Status + " · high", Metadata: md(slackops.BoardMetadataType, "incident_id", inc.ID)})
		chs = append(chs, c)
	}
	return append(chs, announce)
}

func TestStormIncidentOf(t *testing.T) {
	t.Parallel()
	w := stormWantOf(t, 1)
	inc := w.Incidents[0]
	if inc.Status != "Acknowledged" || !strings.HasPrefix(inc.Topic, "Acknowledged") || len(inc.Links) != 2 ||
		len(inc.Replies) != 1 || !strings.HasPrefix(inc.Channel, "inc-10000-") {
		t.Errorf("stormIncidentOf(lifecycle 0) = %+v, want Acknowledged, its topic, two bookmarks, one reply, channel inc-10000-…", inc)
	}
}

// TestCheckStorm checks that the storm's checker passes a workspace where
// every effect is done once and names each missing or doubled effect.
func TestCheckStorm(t *testing.T) {
	t.Parallel()
	w := stormWantOf(t, 3)
	ch := func(chs []slackfake.Channel, i int) *slackfake.Channel { return &chs[1+i] } // after general
	announce := func(chs []slackfake.Channel) *slackfake.Channel { return &chs[len(chs)-1] }
	cases := []struct {
		name          string
		spoil         func(chs []slackfake.Channel) []slackfake.Channel
		wantUndone    string
		wantDuplicate string
	}{
		{name: "every effect once"},
		{name: "topic never set", wantUndone: "topic \"\"", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 1).Topic = ""
			return chs
		}},
		{name: "topic stale", wantUndone: "topic \"Triggered", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 1).Topic = strings.Replace(ch(chs, 1).Topic, "Acknowledged", "Triggered", 1)
			return chs
		}},
		{name: "second root", wantDuplicate: "2 roots", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			c := ch(chs, 0)
			second := c.Messages[0]
			second.TS = "999.1"
			c.Messages = append(c.Messages, second)
			return chs
		}},
		{name: "second channel", wantDuplicate: "2 channels", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			c := *ch(chs, 2)
			c.ID, c.Name = "CDUP", c.Name+"-2"
			return append(chs, c)
		}},
		{name: "reply twice", wantDuplicate: "2 replies", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			c := ch(chs, 0)
			c.Messages = append(c.Messages, c.Messages[1])
			return chs
		}},
		{name: "bookmark missing", wantUndone: "no bookmark", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 2).Bookmarks = ch(chs, 2).Bookmarks[:1]
			return chs
		}},
		{name: "bookmark twice", wantDuplicate: "2 times", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			c := ch(chs, 2)
			c.Bookmarks = append(c.Bookmarks, c.Bookmarks[0])
			return chs
		}},
		{name: "root not edited", wantUndone: "root does not show", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 1).Messages[0].Blocks = section("Triggered")
			return chs
		}},
		{name: "no reply", wantUndone: "no reply", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 1).Messages = ch(chs, 1).Messages[:1]
			return chs
		}},
		{name: "invitee missing", wantUndone: "U0SRE not invited", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			ch(chs, 0).Members = ch(chs, 0).Members[:2]
			return chs
		}},
		{name: "no channel", wantUndone: "no channel", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			return slices.Delete(chs, 2, 3)
		}},
		{name: "announce line missing", wantUndone: "no announce line", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			announce(chs).Messages = announce(chs).Messages[1:]
			return chs
		}},
		{name: "announce line stale", wantUndone: "announce line does not show", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			announce(chs).Messages[0].Text = "Triggered"
			return chs
		}},
		{name: "announce line twice", wantDuplicate: "2 announce lines", spoil: func(chs []slackfake.Channel) []slackfake.Channel {
			a := announce(chs)
			a.Messages = append(a.Messages, a.Messages[2])
			return chs
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chs := doneStorm(w)
			if c.spoil != nil {
				chs = c.spoil(chs)
			}
			f := checkStorm(chs, w)
			if got := strings.Join(f.Undone, "; "); (c.wantUndone == "") != (got == "") || !strings.Contains(got, c.wantUndone) {
				t.Errorf("checkStorm undone = %q, want %q", got, c.wantUndone)
			}
			if got := strings.Join(f.Duplicates, "; "); (c.wantDuplicate == "") != (got == "") || !strings.Contains(got, c.wantDuplicate) {
				t.Errorf("checkStorm duplicates = %q, want %q", got, c.wantDuplicate)
			}
			if len(f.Undone)+len(f.Duplicates) > 1 {
				t.Errorf("checkStorm = %+v, want one finding", f)
			}
			// The report fails the storm exactly when something is wrong.
			res := stormResult{Options: DefaultStorm, CreatesPerWindow: 20, RootsAt: time.Second, TriggeredAt: time.Second,
				AckedAt: time.Second, Findings: f}
			if got, want := failing(res.rows()), !f.ok(); got != want {
				t.Errorf("rows failing = %v, want %v", got, want)
			}
		})
	}
	if got := rooted(doneStorm(w), w); got != 3 {
		t.Errorf("rooted(every effect once) = %d, want 3", got)
	}
	noRoot := doneStorm(w)
	noRoot[2].Messages = nil
	if got := rooted(noRoot, w); got != 2 {
		t.Errorf("rooted(one channel without a root) = %d, want 2", got)
	}
}

// failing reports whether any row with a goal misses it.
func failing(rows []Row) bool {
	for _, r := range rows {
		if r.Met != nil && !r.Met(r.Median()) {
			return true
		}
	}
	return false
}

// TestStormRows checks the storm's rows against their goals: times as a
// ratio of what the creation tier allows, a storm cut off before its
// deliveries were accepted fails, and so do refusals over 5 % and an
// answer of 5 s.
func TestStormRows(t *testing.T) {
	t.Parallel()
	base := stormResult{Options: DefaultStorm, CreatesPerWindow: 20, RootsAt: 30 * time.Second, TriggeredAt: 45 * time.Second,
		AckedAt: 10 * time.Second, Calls: map[string]slackfake.TierCount{"conversations.create": {Allowed: 60}, "bookmarks.add": {Allowed: 120}},
		Answers: []pdAnswer{{Status: 200, Latency: time.Second}, {Status: 503, Latency: 2 * time.Second}}}
	rows := base.rows()
	get := func(rows []Row, prefix string) Row {
		t.Helper()
		i := slices.IndexFunc(rows, func(r Row) bool { return strings.HasPrefix(r.Name, prefix) })
		if i < 0 {
			t.Fatalf("no row %q", prefix)
		}
		return rows[i]
	}
	if r := get(rows, "time until every channel has its root"); r.Median() != 1 || !strings.Contains(r.Unit, "⌈60/20⌉ windows of 10s") {
		t.Errorf("roots row = %v (%s), want 1 × 30 s", r.Samples, r.Unit)
	}
	if r := get(rows, "time until every triggered"); r.Median() != 1.5 || !r.Met(r.Median()) {
		t.Errorf("triggered row = %v, want 1.5, meeting ≤ 1.5", r.Samples)
	}
	if r := get(rows, "Slack calls per incident"); r.Median() != 3 {
		t.Errorf("calls per incident = %v, want 3", r.Samples)
	}
	if r := get(rows, "longest answer"); r.Median() != 2 {
		t.Errorf("longest answer = %v, want 2", r.Samples)
	}
	if r := get(rows, "deliveries answered 503"); r.Median() != 1 {
		t.Errorf("redelivered = %v, want 1", r.Samples)
	}
	if failing(rows) {
		t.Errorf("rows of a storm within its goals fail: %+v", rows)
	}

	for name, mod := range map[string]func(r *stormResult){
		"cut off":          func(r *stormResult) { r.TriggeredAt, r.AckedAt, r.CutOff = -1, -1, true },
		"roots too late":   func(r *stormResult) { r.RootsAt = 46 * time.Second },
		"refused over 5 %": func(r *stormResult) { r.Calls["chat.update"] = slackfake.TierCount{Allowed: 1, Refused: 10} },
		"answer of 5 s":    func(r *stormResult) { r.Answers = append(r.Answers, pdAnswer{Status: 0, Latency: pdTimeout}) },
	} {
		r := base
		r.Calls = map[string]slackfake.TierCount{}
		for k, v := range base.Calls {
			r.Calls[k] = v
		}
		mod(&r)
		if !failing(r.rows()) {
			t.Errorf("%s: rows pass, want a failing goal", name)
		}
	}
	cut := base
	cut.TriggeredAt, cut.CutOff = -1, true
	if r := get(cut.rows(), "time until every triggered"); !math.IsNaN(r.Median()) {
		t.Errorf("triggered row of a cut-off storm = %v, want NaN (never)", r.Samples)
	}
	if notes := strings.Join(cut.notes(), "\n"); !strings.Contains(notes, "cut off") {
		t.Errorf("notes of a cut-off storm do not say so:\n%s", notes)
	}
}

// TestPagerDutyRedelivers checks the storm's PagerDuty: 5xx, 429 and
// answers that do not come in time are redelivered until accepted, every
// answer is recorded, and any other 4xx is dropped.
func TestPagerDutyRedelivers(t *testing.T) {
	t.Parallel()
	// serve answers with statuses in turn, the last for good; 0 is an
	// answer that does not come in time.
	serve := func(statuses ...int) string {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := statuses[min(int(calls.Add(1))-1, len(statuses)-1)]
			if s == 0 {
				time.Sleep(300 * time.Millisecond)
				s = 200
			}
			w.WriteHeader(s)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	body := soak.Lifecycle(seedStorm, 0)[0]
	pd := newPagerDuty(serve(503, 429, 0, 200), StormOptions{Window: 600 * time.Millisecond}) // backoff from 10 ms
	pd.client.Timeout = 100 * time.Millisecond
	if !pd.deliver(context.Background(), body) {
		t.Fatalf("deliver = false, want accepted on the fourth try")
	}
	var got []int
	for _, a := range pd.answers {
		got = append(got, a.Status)
	}
	if !slices.Equal(got, []int{503, 429, 0, 200}) {
		t.Errorf("answers = %v, want 503, 429, 0 (timed out), 200", got)
	}
	if pd.answers[2].Latency < 100*time.Millisecond {
		t.Errorf("timed-out answer's latency %v, want at least the 100ms timeout", pd.answers[2].Latency)
	}

	pd = newPagerDuty(serve(400), StormOptions{Window: 600 * time.Millisecond})
	if pd.deliver(context.Background(), body) || len(pd.dropped) != 1 || len(pd.answers) != 1 {
		t.Errorf("deliver answered 400: %d answers, dropped %v; want dropped at once", len(pd.answers), pd.dropped)
	}
}

// TestStormSection runs a tiny storm through the handler New builds and
// checks that it ends with every effect done once. Times are not checked
// against goals: the machine is shared.
func TestStormSection(t *testing.T) {
	t.Parallel()
	o := tiny()
	o.Only = []string{"storm"}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run(storm) error = %v", err)
	}
	for _, name := range []string{"effects left undone", "duplicates"} {
		if r, ok := rowPrefix(rep, name); !ok || r.Median() != 0 {
			t.Errorf("row %q = %+v, want 0", name, r)
		}
	}
	for _, name := range []string{"time until every channel has its root", "time until every triggered", "then until every resolved"} {
		if r, ok := rowPrefix(rep, name); !ok || math.IsNaN(r.Median()) {
			t.Errorf("row %q = %+v, want a time", name, r)
		}
	}
	var md strings.Builder
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| storm | time until every channel has its root", "| storm: Slack method |", "`conversations.create` | 20 per 1s"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
}
