package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/config"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// TestMain runs the package's tests against one Firestore emulator.
func TestMain(m *testing.M) { os.Exit(firestoretest.Main(m)) }

const e2eSecret = "e2e-webhook-secret"

// The end-to-end tests drive the real handler over HTTP, with slack-go
// and the PagerDuty client calling the fakes over HTTP too, all on a
// network in memory of their own (internal/fake/net). On the memory store
// a test runs in a testing/synctest bubble: the leases it waits out and
// the budgets it runs into pass on the bubble's clock, in no time, with
// production's timings. The Firestore emulator cannot be in a bubble, so
// the tests on it wait in real time, with shorter timings.

// runOn runs f in a synctest bubble on the memory store, and directly,
// in real time, on Firestore.
func runOn(t *testing.T, storeKind string, f func(t *testing.T)) {
	if storeKind == "memory" {
		synctest.Test(t, f)
		return
	}
	f(t)
}

// instance is one function instance: the real handler built by New from a
// Config, served on the test's network, talking to the fakes over it.
type instance struct {
	url    string
	client *http.Client
	logs   *bytes.Buffer
}

// The timings of the instances on Firestore. A lease kept after an
// unclear Slack failure ends its margin after its holder's budget, and
// only then can a redelivery finish: with production's (3.5 s and 1 s)
// that is a wait of 4.8 s, with these 2.4 s; and a lease lasts a second
// past its holder's budget and margin rather than 15 s.
const (
	testBudget      = 2 * time.Second
	testLeaseMargin = 100 * time.Millisecond
	testLeaseTTL    = time.Second
)

// newSlack starts a fake Slack on nw until the test ends.
func newSlack(t testing.TB, nw *netfake.Network) *slackfake.Server {
	t.Helper()
	fake := slackfake.NewServerOn(nw.Listen())
	t.Cleanup(fake.Close)
	return fake
}

// newInstance starts an instance on nw: with production's timings on the
// memory store, with the shorter ones on Firestore; extra adds to or
// overrides its environment.
func newInstance(t testing.TB, nw *netfake.Network, fake *slackfake.Server, storeKind, project string, extra ...map[string]string) *instance {
	t.Helper()
	cfg := instanceConfig(t, fake, storeKind, project, extra...)
	if storeKind == "firestore" {
		cfg.budget, cfg.leaseMargin, cfg.leaseTTL = testBudget, testLeaseMargin, testLeaseTTL
	}
	return serve(t, nw, cfg)
}

// pagerDutyTimeout is how long PagerDuty waits for an answer.
const pagerDutyTimeout = 5 * time.Second

// newInstanceFullBudget starts an instance on Firestore like newInstance
// but with production's budget, which the emulator needs when
// transactions contend: it resolves them only after a lock timeout of
// about 3 s.
func newInstanceFullBudget(t testing.TB, nw *netfake.Network, fake *slackfake.Server, project string) *instance {
	t.Helper()
	cfg := instanceConfig(t, fake, "firestore", project)
	cfg.leaseMargin, cfg.leaseTTL = testLeaseMargin, testLeaseTTL
	return serve(t, nw, cfg)
}

// instanceConfig returns the configuration of an instance, with
// production's timings.
func instanceConfig(t testing.TB, fake *slackfake.Server, storeKind, project string, extra ...map[string]string) Config {
	t.Helper()
	env := map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": "old-secret," + e2eSecret,
		"SLACK_BOT_TOKEN":          slackfake.DefaultToken,
		"SLACK_API_URL":            fake.URL,
		"STORE":                    storeKind,
		"GOOGLE_CLOUD_PROJECT":     project,
		"SLACK_INVITE_USERS":       "U0LEAD,U0SRE",
	}
	for _, m := range extra {
		maps.Copy(env, m)
	}
	c, err := config.Load(envOf(env))
	if err != nil {
		t.Fatalf("config.Load error = %v", err)
	}
	return Config{Config: c}
}

// serve starts an instance built by New from cfg on nw, its calls to
// Slack and PagerDuty made on nw.
func serve(t testing.TB, nw *netfake.Network, cfg Config) *instance {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg.transport = nw.Transport()
	h, err := New(context.Background(), cfg, NewLogger(&lockedWriter{w: logs}))
	if err != nil {
		t.Fatalf("New error = %v", err)
	}
	srv := nw.Serve(h)
	t.Cleanup(srv.Close)
	return &instance{url: srv.URL, client: nw.Client(), logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "pagerduty", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliver POSTs body signed as PagerDuty would and returns status and body.
func (in *instance) deliver(t testing.TB, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(body, []byte(e2eSecret)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// redeliver delivers name until it is answered 200, as PagerDuty does,
// within a bound that leaves room for a kept lease to expire and for gRPC
// to reconnect (with backoff) after a Firestore outage.
func (in *instance) redeliver(t testing.TB, name, want string) {
	t.Helper()
	end := time.Now().Add(60 * time.Second)
	for {
		code, body := in.deliver(t, testdata(t, name))
		if code == http.StatusOK {
			if body != want {
				t.Fatalf("redeliver %s = 200 %q, want %q", name, body, want)
			}
			return
		}
		if code != http.StatusServiceUnavailable || time.Now().After(end) {
			t.Fatalf("redeliver %s = %d %q, want 200 %q; logs:\n%s", name, code, body, want, in.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (in *instance) mustDeliver(t testing.TB, name, want string) {
	t.Helper()
	code, body := in.deliver(t, testdata(t, name))
	if code != http.StatusOK || body != want {
		t.Fatalf("deliver %s = %d %q, want 200 %q; logs:\n%s", name, code, body, want, in.logs)
	}
}

// onlyChannel returns the one channel the fake holds.
func onlyChannel(t *testing.T, fake *slackfake.Server) slackfake.Channel {
	t.Helper()
	chs := fake.Channels()
	if len(chs) != 1 {
		names := []string{}
		for _, c := range chs {
			names = append(names, c.Name)
		}
		t.Fatalf("channels = %v, want exactly one", names)
	}
	return chs[0]
}

func rootOf(t *testing.T, ch slackfake.Channel) slackfake.Message {
	t.Helper()
	top := ch.TopLevel()
	if len(top) != 1 {
		t.Fatalf("%s has %d top-level messages, want the one root message", ch.Name, len(top))
	}
	return top[0]
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestEndToEndLifecycle drives a whole incident through the real handler
// (signature, parsing, store, slack-go over HTTP) against the fake Slack,
// with the in-memory store and with Firestore on the emulator, and checks
// what a responder would see after every step.
func TestEndToEndLifecycle(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "firestore"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			project := ""
			if kind == "firestore" {
				project = firestoretest.Project(t)
			}
			runOn(t, kind, func(t *testing.T) {
				nw := netfake.New()
				fake := newSlack(t, nw)
				fn := newInstance(t, nw, fake, kind, project)

				fn.mustDeliver(t, "triggered.json", "processed")
				ch := onlyChannel(t, fake)
				if ch.Name != "inc-1234-checkout-latency-above-2s-p99" {
					t.Errorf("channel name = %q, want inc-1234-checkout-latency-above-2s-p99", ch.Name)
				}
				if ch.Topic != "Triggered · high · P2 · Checkout API" {
					t.Errorf("topic = %q", ch.Topic)
				}
				var links []string
				for _, b := range ch.Bookmarks {
					links = append(links, b.Link)
				}
				slices.Sort(links) // added concurrently: any order
				if strings.Join(links, " ") != "https://acme.pagerduty.com/incidents/Q1CHECKOUT https://meet.example.com/checkout" {
					t.Errorf("bookmarks = %v, want the incident and the conference bridge", links)
				}
				if strings.Join(ch.Members, ",") != slackfake.BotUserID+",U0LEAD,U0SRE" {
					t.Errorf("members = %v, want the bot and SLACK_INVITE_USERS", ch.Members)
				}
				root := rootOf(t, ch)
				wantContains(t, "root after triggered", root.BlockText(),
					"#1234 Checkout latency above 2s (p99)", "Triggered", "High", "P2", "Checkout API",
					"Ada Lovelace", "Checkout on-call", "Open in PagerDuty", "https://acme.pagerduty.com/incidents/Q1CHECKOUT")
				if n := len(ch.Replies(root.TS)); n != 0 {
					t.Errorf("triggered posted %d replies, want none: the root tells it", n)
				}

				steps := []struct {
					file      string
					root      []string
					reply     []string
					broadcast bool
				}{
					{"acknowledged.json", []string{"Acknowledged"}, []string{"Acknowledged by Ada Lovelace"}, false},
					{"annotated.json", nil, []string{"Note from Ada Lovelace", "Rolled back deploy 7f3a", "&lt;!channel&gt; ignore this"}, false},
					{"escalated.json", nil, []string{"Escalated to"}, false},
					{"priority_updated.json", []string{"P1"}, []string{"Priority changed to P1"}, false},
					{"resolved.json", []string{"Resolved"}, []string{"Resolved by"}, true},
				}
				for i, s := range steps {
					fn.mustDeliver(t, s.file, "processed")
					ch = onlyChannel(t, fake)
					root = rootOf(t, ch)
					wantContains(t, "root after "+s.file, root.BlockText(), s.root...)
					replies := ch.Replies(root.TS)
					if len(replies) != i+1 {
						t.Fatalf("after %s: %d replies, want %d", s.file, len(replies), i+1)
					}
					last := replies[i]
					wantContains(t, "reply for "+s.file, last.BlockText(), s.reply...)
					if last.Broadcast != s.broadcast {
						t.Errorf("reply for %s broadcast = %v, want %v", s.file, last.Broadcast, s.broadcast)
					}
				}
				if root.Edits < 3 {
					t.Errorf("root edited %d times, want at least once per status or priority change", root.Edits)
				}
				if !strings.HasPrefix(ch.Topic, "Resolved") {
					t.Errorf("final topic = %q, want it to start with Resolved", ch.Topic)
				}

				// A redelivery of a finished event makes no Slack call.
				fake.ResetCalls()
				fn.mustDeliver(t, "acknowledged.json", "duplicate")
				if n := fake.TotalCalls(); n != 0 {
					t.Errorf("duplicate delivery made %d Slack calls, want 0: %v", n, fake.Log())
				}
				// The ping checks the token and posts nothing.
				fake.ResetCalls()
				fn.mustDeliver(t, "ping.json", "ping ok")
				if n := fake.TotalCalls(); n != 1 || fake.Calls("auth.test") != 1 {
					t.Errorf("pagey.ping made Slack calls %v, want only auth.test", fake.Log())
				}
				if strings.Contains(fn.logs.String(), e2eSecret) || strings.Contains(fn.logs.String(), slackfake.DefaultToken) {
					t.Errorf("logs reveal a secret")
				}
			})
		})
	}
}

// TestEndToEndConcurrentInstances sends triggered and acknowledged of a new
// incident, each twice, at the same time to two instances sharing
// Firestore, and redelivers what is answered 503, as PagerDuty would:
// one channel, one root, one acknowledgement reply.
func TestEndToEndConcurrentInstances(t *testing.T) {
	t.Parallel()
	project := firestoretest.Project(t)
	nw := netfake.New()
	fake := newSlack(t, nw)
	a := newInstanceFullBudget(t, nw, fake, project)
	b := newInstanceFullBudget(t, nw, fake, project)

	var wg sync.WaitGroup
	for i, file := range []string{"triggered.json", "acknowledged.json", "triggered.json", "acknowledged.json"} {
		fn := []*instance{a, b}[i%2]
		wg.Go(func() {
			// Redeliver until it succeeds, as PagerDuty does for 48 hours.
			// The emulator resolves contending transactions slowly, and a
			// failed attempt's event lease may have to expire (15 s), so
			// the bound is generous: this asserts convergence, not speed.
			end := time.Now().Add(90 * time.Second)
			for try := 0; ; try++ {
				code, body := fn.deliver(t, testdata(t, file))
				if code == http.StatusOK {
					return
				}
				if code != http.StatusServiceUnavailable {
					t.Errorf("deliver %s try %d = %d %q, want 200 or 503", file, try, code, body)
					return
				}
				if time.Now().After(end) {
					t.Errorf("deliver %s: still 503 after %d tries", file, try+1)
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
	wg.Wait()

	ch := onlyChannel(t, fake)
	if n := fake.Calls("conversations.create"); n != 1 {
		t.Errorf("conversations.create called %d times, want 1", n)
	}
	root := rootOf(t, ch)
	wantContains(t, "root", root.BlockText(), "Acknowledged")
	replies := ch.Replies(root.TS)
	if len(replies) != 1 || !strings.Contains(replies[0].BlockText(), "Acknowledged by") {
		var got []string
		for _, r := range replies {
			got = append(got, r.Text)
		}
		t.Errorf("replies = %q, want exactly one acknowledgement", got)
	}
}

// TestEndToEndSlackFailureThenRedelivery makes Slack fail the root post
// with a 429 and a 503: the webhook is answered 503, and PagerDuty's
// redeliveries finish the work without a second channel.
func TestEndToEndSlackFailureThenRedelivery(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		fake := newSlack(t, nw)
		fn := newInstance(t, nw, fake, "memory", "")
		// The client holds chat.postMessage back for the Retry-After Slack
		// gave: 2 s, so that the redelivery soon gets past it.
		fake.Fail("chat.postMessage", slackfake.Fault{Status: 429, RetryAfter: 2}, slackfake.Fault{Status: 503})
		for try := range 2 {
			if code, body := fn.deliver(t, testdata(t, "triggered.json")); code != http.StatusServiceUnavailable {
				t.Fatalf("try %d = %d %q, want 503 while Slack fails", try, code, body)
			}
		}
		fn.redeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, fake)
		rootOf(t, ch)
		if n := fake.Calls("conversations.create"); n != 1 {
			t.Errorf("conversations.create called %d times, want 1", n)
		}
		if ch.Topic == "" || len(ch.Bookmarks) != 2 {
			t.Errorf("topic %q, %d bookmarks: want them set once", ch.Topic, len(ch.Bookmarks))
		}
		if !strings.Contains(fn.logs.String(), `"status":503`) || !strings.Contains(fn.logs.String(), "retry after 2s") {
			t.Errorf("logs do not show the 503 and the rate limit:\n%s", fn.logs)
		}
	})
}

// TestEndToEndRejectsBadInput checks that rejected requests touch neither
// Slack nor the store.
func TestEndToEndRejectsBadInput(t *testing.T) {
	t.Parallel()
	nw := netfake.New()
	fake := newSlack(t, nw)
	fn := newInstance(t, nw, fake, "memory", "")
	body := testdata(t, "triggered.json")
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"unsigned", body, "", 401},
		{"wrong secret", body, pagerduty.Sign(body, []byte("wrong")), 401},
		{"v2", testdata(t, "v2.json"), pagerduty.Sign(testdata(t, "v2.json"), []byte(e2eSecret)), 400},
		{"not json", []byte("hello"), pagerduty.Sign([]byte("hello"), []byte(e2eSecret)), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, fn.url, bytes.NewReader(tt.body))
			if tt.sig != "" {
				req.Header.Set(pagerduty.HeaderSignature, tt.sig)
			}
			resp, err := fn.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := fake.TotalCalls(); n != 0 {
		t.Errorf("rejected requests made %d Slack calls", n)
	}
	// The store was not touched either: the first real delivery is new.
	fn.mustDeliver(t, "triggered.json", "processed")
	if got := fmt.Sprint(len(fake.Channels())); got != "1" {
		t.Errorf("channels = %s, want 1", got)
	}
}

// TestEndToEndPublishedBodies delivers every body PagerDuty published and
// every public capture in internal/pagerduty/testdata to one instance: each is
// answered 200, incident events are processed, a ping passes its checks,
// and each incident gets its channel. The bodies vary as PagerDuty's do:
// the go-pagerduty sample, for one, sends a conference number as a JSON
// number.
func TestEndToEndPublishedBodies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		fake := newSlack(t, nw)
		fn := newInstance(t, nw, fake, "memory", "")
		var names []string
		for _, dir := range []string{"samples", "captures"} {
			files, err := filepath.Glob(filepath.Join("..", "pagerduty", "testdata", dir, "*.json"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no bodies in internal/pagerduty/testdata/%s: %v", dir, err)
			}
			for _, f := range files {
				names = append(names, filepath.Join(dir, filepath.Base(f)))
			}
		}
		incidents := map[string]bool{}
		for _, name := range names {
			ev, _, err := pagerduty.Parse(testdata(t, name))
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", name, err)
			}
			want := "ignored"
			switch {
			case ev.Handled():
				want, incidents[ev.IncidentID] = "processed", true
			case ev.Type == incident.EventPing:
				want = "ping ok"
			}
			if code, body := fn.deliver(t, testdata(t, name)); code != http.StatusOK || body != want {
				t.Errorf("deliver %s = %d %q, want 200 %q", name, code, body, want)
			}
		}
		if got := len(fake.Channels()); got != len(incidents) {
			t.Errorf("channels = %d, want one for each of the %d incidents", got, len(incidents))
		}
	})
}

// TestEndToEndPing: PagerDuty's test event is answered 2xx only when the
// deploy works end to end: Slack takes the token and the store answers a
// read. Otherwise it is 503, naming what failed and no secret.
func TestEndToEndPing(t *testing.T) {
	proxy := firestoretest.NewProxy(t)
	t.Setenv("FIRESTORE_EMULATOR_HOST", proxy.Addr())
	nw := netfake.New()
	fake := newSlack(t, nw)
	c, err := config.Load(envOf(map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": e2eSecret, "SLACK_BOT_TOKEN": slackfake.DefaultToken, "SLACK_API_URL": fake.URL,
		"STORE": "firestore", "GOOGLE_CLOUD_PROJECT": firestoretest.Project(t),
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Config: c}
	// A read of an unreachable store is retried until the budget ends.
	cfg.budget = 500 * time.Millisecond
	fn := serve(t, nw, cfg)
	ping := testdata(t, "ping.json")

	if code, body := fn.deliver(t, ping); code != http.StatusOK || body != "ping ok" {
		t.Errorf("ping = %d %q, want 200 ping ok", code, body)
	}
	if n := fake.Calls("auth.test"); n != 1 {
		t.Errorf("auth.test calls = %d, want 1", n)
	}

	fake.SetToken("xoxb-another-token") // the deployed token was revoked
	if code, body := fn.deliver(t, ping); code != http.StatusServiceUnavailable || body != "ping failed: slack: auth.test: invalid_auth" {
		t.Errorf("ping with the token refused = %d %q, want 503 naming slack", code, body)
	}
	fake.SetToken(slackfake.DefaultToken)

	proxy.Cut()
	code, body := fn.deliver(t, ping)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "ping failed: store: ") || strings.Contains(body, "slack") {
		t.Errorf("ping with the store down = %d %q, want 503 naming the store only", code, body)
	}
	if strings.Contains(fn.logs.String(), slackfake.DefaultToken) || strings.Contains(fn.logs.String(), e2eSecret) {
		t.Errorf("logs reveal a secret:\n%s", fn.logs)
	}
}

// TestEndToEndAnswerLost makes Slack carry out a call but lose its answer
// (a 500 or a reset connection after the work is done): the webhook is
// answered 503, and the redelivery finds the root or reply by its message
// metadata instead of posting it twice.
func TestEndToEndAnswerLost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []string
		file  string
		fault slackfake.Fault
	}{
		{"root posted, 500", nil, "triggered.json", slackfake.Fault{Status: 500, Apply: true}},
		{"root posted, connection reset", nil, "triggered.json", slackfake.Fault{Reset: true, Apply: true}},
		{"reply posted, 502", []string{"triggered.json"}, "acknowledged.json", slackfake.Fault{Status: 502, Apply: true}},
		{"note posted, connection reset", []string{"triggered.json"}, "annotated.json", slackfake.Fault{Reset: true, Apply: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := netfake.New()
				fake := newSlack(t, nw)
				fn := newInstance(t, nw, fake, "memory", "")
				for _, f := range tt.setup {
					fn.mustDeliver(t, f, "processed")
				}
				fake.Fail("chat.postMessage", tt.fault)
				if code, body := fn.deliver(t, testdata(t, tt.file)); code != http.StatusServiceUnavailable {
					t.Fatalf("deliver %s with the answer lost = %d %q, want 503", tt.file, code, body)
				}
				fn.redeliver(t, tt.file, "processed")
				ch := onlyChannel(t, fake)
				root := rootOf(t, ch)
				wantReplies := 0
				if tt.file != "triggered.json" {
					wantReplies = 1
				}
				if n := len(ch.Replies(root.TS)); n != wantReplies {
					t.Errorf("replies = %d, want %d", n, wantReplies)
				}
				if tt.file == "triggered.json" && !strings.Contains(root.BlockText(), "Triggered") {
					t.Errorf("adopted root does not show the incident:\n%s", root.BlockText())
				}
			})
		})
	}
}

// TestEndToEndSlackFaults fails one Slack call of a new incident, or of
// its acknowledgement, in every way Slack can, and checks the answer
// PagerDuty gets and that its redelivery converges: one channel, one root
// showing the newest state, one reply, nothing twice.
func TestEndToEndSlackFaults(t *testing.T) {
	t.Parallel()
	retryable := []slackfake.Fault{
		// The client holds a method back for the Retry-After Slack gave
		// (1 s here), so a redelivery soon gets past it.
		{Status: 429, RetryAfter: 1}, {Status: 429}, {Status: 500}, {Status: 502}, {Status: 503},
		{Error: "ratelimited"}, {Error: "internal_error"}, {Reset: true},
	}
	type row struct {
		name   string
		method string
		file   string // triggered.json: the first delivery; else after it
		fault  slackfake.Fault
		want   int
	}
	var rows []row
	for _, f := range retryable {
		what := fmt.Sprintf("%d/%s/reset=%v/retry-after=%d", f.Status, f.Error, f.Reset, f.RetryAfter)
		rateLimited := f.Status == 429 || f.Error == "ratelimited"
		// The topic and bookmarks are optional: under a rate limit (and
		// the topic, an edit, whatever the failure) they are put off to
		// the incident's next event, here the acknowledgement; a bookmark
		// that may have been added unseen is looked up on redelivery.
		bookmark := 503
		if rateLimited {
			bookmark = 200
		}
		rows = append(rows,
			row{"root " + what, "chat.postMessage", "triggered.json", f, 503},
			row{"topic " + what, "conversations.setTopic", "triggered.json", f, 200},
			row{"bookmark " + what, "bookmarks.add", "triggered.json", f, bookmark},
			row{"invite " + what, "conversations.invite", "triggered.json", f, 503},
			row{"update " + what, "chat.update", "acknowledged.json", f, 503},
			row{"reply " + what, "chat.postMessage", "acknowledged.json", f, 503},
		)
		if rateLimited {
			// Known not to have happened: no lease is kept, so the
			// redelivery may create at once.
			rows = append(rows, row{"create " + what, "conversations.create", "triggered.json", f, 503})
		}
	}
	rows = append(rows,
		// Permanent failures of optional steps are logged and skipped.
		row{"invite cant_invite", "conversations.invite", "triggered.json", slackfake.Fault{Error: "cant_invite"}, 200},
		row{"bookmark invalid_link", "bookmarks.add", "triggered.json", slackfake.Fault{Error: "invalid_link"}, 200},
		// A required step failing for a reason a redelivery may get past
		// once an operator acts (a revoked token): 503, never a 4xx.
		row{"root invalid_auth", "chat.postMessage", "triggered.json", slackfake.Fault{Error: "invalid_auth"}, 503},
		row{"reply account_inactive", "chat.postMessage", "acknowledged.json", slackfake.Fault{Error: "account_inactive"}, 503},
		row{"reply msg_too_long", "chat.postMessage", "acknowledged.json", slackfake.Fault{Error: "msg_too_long"}, 503},
		row{"update channel_not_found", "chat.update", "acknowledged.json", slackfake.Fault{Error: "channel_not_found"}, 503},
		row{"create name_taken", "conversations.create", "triggered.json", slackfake.Fault{Error: "name_taken"}, 200},
	)
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := netfake.New()
				fake := newSlack(t, nw)
				fn := newInstance(t, nw, fake, "memory", "")
				if tt.file != "triggered.json" {
					fn.mustDeliver(t, "triggered.json", "processed")
				}
				fake.Fail(tt.method, tt.fault)
				if code, body := fn.deliver(t, testdata(t, tt.file)); code != tt.want {
					t.Fatalf("deliver %s with %s failing = %d %q, want %d", tt.file, tt.method, code, body, tt.want)
				}
				if tt.want == 503 {
					fn.redeliver(t, tt.file, "processed") // PagerDuty's redelivery
				}
				if tt.file == "triggered.json" {
					// What was put off is overdue now: while Slack's wait
					// lasts, the acknowledgement is answered 503 too.
					fn.redeliver(t, "acknowledged.json", "processed")
				}
				ch := onlyChannel(t, fake)
				root := rootOf(t, ch)
				wantContains(t, "root", root.BlockText(), "Acknowledged")
				if r := ch.Replies(root.TS); len(r) != 1 {
					t.Errorf("replies = %d, want the one acknowledgement", len(r))
				}
				if ch.Topic != "Acknowledged · high · P2 · Checkout API" {
					t.Errorf("topic = %q", ch.Topic)
				}
				links := map[string]int{}
				for _, b := range ch.Bookmarks {
					links[b.Link]++
				}
				for l, n := range links {
					if n != 1 {
						t.Errorf("bookmark %s added %d times", l, n)
					}
				}
			})
		})
	}
}

// TestEndToEndPeopleChangeTheChannel: responders delete the root message,
// remove the bot, archive the channel. Each later event still lands, or is
// answered 200 without posting once the channel is archived.
func TestEndToEndPeopleChangeTheChannel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		fake := newSlack(t, nw)
		fn := newInstance(t, nw, fake, "memory", "")
		fn.mustDeliver(t, "triggered.json", "processed")
		ch := onlyChannel(t, fake)
		first := rootOf(t, ch)

		fake.DeleteMessage(ch.ID, first.TS)
		fn.mustDeliver(t, "acknowledged.json", "processed")
		ch = onlyChannel(t, fake)
		root := rootOf(t, ch)
		if root.TS == first.TS {
			t.Fatalf("no new root after the first was deleted")
		}
		wantContains(t, "new root", root.BlockText(), "Acknowledged")
		if r := ch.Replies(root.TS); len(r) != 1 || !strings.Contains(r[0].BlockText(), "Acknowledged by") {
			t.Errorf("replies under the new root = %d, want the acknowledgement", len(r))
		}

		fake.Kick(ch.ID, slackfake.BotUserID)
		fn.mustDeliver(t, "annotated.json", "processed")
		ch = onlyChannel(t, fake)
		if n := len(ch.Replies(root.TS)); n != 2 {
			t.Errorf("after the bot was removed: %d replies, want the note too", n)
		}

		fake.Archive(ch.ID)
		fn.mustDeliver(t, "escalated.json", "processed") // finds out
		fake.ResetCalls()
		fn.mustDeliver(t, "resolved.json", "processed")
		if n := fake.TotalCalls(); n != 0 {
			t.Errorf("%d Slack calls for an event after the channel was found archived, want none", n)
		}
		if !strings.Contains(fn.logs.String(), "channel archived") {
			t.Errorf("no log line says the channel is archived")
		}
	})
}

// TestEndToEndFirestoreOutage cuts Firestore off mid-run: before an event
// (nothing happens in Slack, 503 within the budget) and while an event is
// being handled, after Slack did its part (503; the redelivery finds the
// reply instead of posting it again). When Firestore is back, redeliveries
// converge.
func TestEndToEndFirestoreOutage(t *testing.T) {
	proxy := firestoretest.NewProxy(t)
	t.Setenv("FIRESTORE_EMULATOR_HOST", proxy.Addr())
	project := firestoretest.Project(t)
	nw := netfake.New()
	fake := newSlack(t, nw)
	fn := newInstance(t, nw, fake, "firestore", project)
	fn.mustDeliver(t, "triggered.json", "processed")

	// Down before the event arrives.
	proxy.Cut()
	fake.ResetCalls()
	start := time.Now()
	if code, body := fn.deliver(t, testdata(t, "acknowledged.json")); code != http.StatusServiceUnavailable {
		t.Fatalf("deliver with Firestore down = %d %q, want 503", code, body)
	}
	// The answer leaves the budget the headroom production's leaves
	// under PagerDuty's 5 s.
	if d, limit := time.Since(start), testBudget+pagerDutyTimeout-pagerduty.DefaultBudget; d > limit {
		t.Errorf("answered after %v, past the budget %v and its headroom (%v)", d, testBudget, limit)
	}
	if n := fake.TotalCalls(); n != 0 {
		t.Errorf("%d Slack calls while the event could not be recorded, want 0", n)
	}
	proxy.Restore()
	fn.redeliver(t, "acknowledged.json", "processed")

	// Down while the note is handled: Slack posts it, the store cannot
	// record it.
	fake.ResetCalls()
	fake.Fail("chat.postMessage", slackfake.Fault{Run: proxy.Cut})
	if code, body := fn.deliver(t, testdata(t, "annotated.json")); code != http.StatusServiceUnavailable {
		t.Fatalf("deliver with Firestore cut mid-event = %d %q, want 503", code, body)
	}
	if n := fake.Calls("chat.postMessage"); n != 1 {
		t.Errorf("chat.postMessage calls before Firestore was cut = %d, want the note's", n)
	}
	proxy.Restore()
	fn.redeliver(t, "annotated.json", "processed")

	ch := onlyChannel(t, fake)
	root := rootOf(t, ch)
	wantContains(t, "root", root.BlockText(), "Acknowledged")
	replies := ch.Replies(root.TS)
	if len(replies) != 2 {
		var got []string
		for _, r := range replies {
			got = append(got, r.Text)
		}
		t.Errorf("replies = %q, want the acknowledgement and the note, once each", got)
	}
}

// TestEndToEndSlowSlack: Slack hangs past the budget; PagerDuty must get
// its 503 before it gives up waiting (5 s), and the redelivery converges.
func TestEndToEndSlowSlack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		fake := newSlack(t, nw)
		fn := newInstance(t, nw, fake, "memory", "")
		fake.Fail("chat.postMessage", slackfake.Fault{Delay: 20 * time.Second})
		start := time.Now()
		if code, body := fn.deliver(t, testdata(t, "triggered.json")); code != http.StatusServiceUnavailable {
			t.Fatalf("deliver with Slack hanging = %d %q, want 503", code, body)
		}
		if d := time.Since(start); d >= pagerDutyTimeout {
			t.Errorf("answered after %v, not before PagerDuty's 5 s timeout", d)
		}
		fn.redeliver(t, "triggered.json", "processed")
		rootOf(t, onlyChannel(t, fake))
	})
}
