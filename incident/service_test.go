package incident_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/pagerduty"
)

// fakeSlack is an in-process incident.Slack that records what it was asked
// and can be told to fail. The HTTP-level fake (slackops/slackfake) is used
// by the end-to-end tests; this one isolates the service's logic.
type fakeSlack struct {
	mu       sync.Mutex
	names    map[string]string // name → channel id
	channels map[string]*fakeChannel
	calls    map[string]int
	fail     map[string][]error
	// loseCreate makes the next conversations.create create the channel
	// and then fail, as when Slack's answer is lost.
	loseCreate int
	// loseRoot does the same for the next root message, loseReply for
	// the next reply.
	loseRoot  int
	loseReply int
	// loseBoard does the same for the next message in a shared channel.
	loseBoard int
	delay     time.Duration
	// groups are user groups by id or handle; refuse are users the
	// invite refuses, with the reason.
	groups map[string][]string
	refuse map[string]string
}

type fakeChannel struct {
	name      string
	topic     string
	bookmarks []string
	members   []string
	root      string
	rootInc   incident.Snapshot
	// rootBefore is the history the root shows.
	rootBefore []incident.HistoryLine
	rootEdits  int
	// rootHiddenUntil models Slack's read-after-write lag: a root whose
	// answer was lost is not yet seen by FindRoot.
	rootHiddenUntil time.Time
	// replyHiddenUntil does the same for replies and FindReply.
	replyHiddenUntil time.Time
	replies          []incident.Reply
	private          bool
	// boards are the shared-channel messages by ts.
	boards     map[string]*fakeBoard
	boardOrder []string
	boardSeq   int
}

type fakeBoard struct {
	entry incident.BoardEntry
	edits int
}

// shared adds a channel someone made, such as an announce channel.
func (f *fakeSlack) shared(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels[id] = &fakeChannel{name: id}
}

// board returns the message about incidentID in channel id.
func (f *fakeSlack) board(id, incidentID string) (ts string, b fakeBoard, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.channels[id]
	if c == nil {
		return "", fakeBoard{}, 0
	}
	for _, t := range c.boardOrder {
		if c.boards[t].entry.Incident.ID == incidentID {
			ts, b = t, *c.boards[t]
			n++
		}
	}
	return ts, b, n
}

func (f *fakeSlack) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if err := f.call(ctx, "group"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.groups[group]
	if !ok {
		return nil, fmt.Errorf("%s: %w", group, incident.ErrGroupNotFound)
	}
	return slices.Clone(m), nil
}

func (f *fakeSlack) PostBoard(ctx context.Context, id string, b incident.BoardEntry) (string, error) {
	if err := f.call(ctx, "postBoard"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return "", err
	}
	if c.boards == nil {
		c.boards = map[string]*fakeBoard{}
	}
	c.boardSeq++
	ts := "300." + strconv.Itoa(c.boardSeq)
	c.boards[ts] = &fakeBoard{entry: b}
	c.boardOrder = append(c.boardOrder, ts)
	if f.loseBoard > 0 {
		f.loseBoard--
		return "", &incident.Error{Kind: incident.KindMaybeDone, Op: "postBoard", Err: errors.New("connection reset")}
	}
	return ts, nil
}

func (f *fakeSlack) UpdateBoard(ctx context.Context, id, ts string, b incident.BoardEntry) error {
	if err := f.call(ctx, "updateBoard"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return err
	}
	m := c.boards[ts]
	if m == nil {
		return fmt.Errorf("message_not_found: %w", incident.ErrRootGone)
	}
	m.entry = b
	m.edits++
	return nil
}

func (f *fakeSlack) FindBoard(ctx context.Context, id, incidentID string) (string, error) {
	if err := f.call(ctx, "findBoard"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return "", err
	}
	for _, ts := range c.boardOrder {
		if c.boards[ts].entry.Incident.ID == incidentID {
			return ts, nil
		}
	}
	return "", nil
}

func newFakeSlack() *fakeSlack {
	return &fakeSlack{names: map[string]string{}, channels: map[string]*fakeChannel{}, calls: map[string]int{}, fail: map[string][]error{},
		groups: map[string][]string{}, refuse: map[string]string{}}
}

// failNext makes the next call of method return err.
func (f *fakeSlack) failNext(method string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], errs...)
}

func (f *fakeSlack) call(ctx context.Context, method string) error {
	f.mu.Lock()
	f.calls[method]++
	var err error
	if q := f.fail[method]; len(q) > 0 {
		err, f.fail[method] = q[0], q[1:]
	}
	d := f.delay
	f.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return &incident.Error{Kind: incident.KindMaybeDone, Op: method, Err: ctx.Err()}
		}
	}
	return err
}

func (f *fakeSlack) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeSlack) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
}

func (f *fakeSlack) only() *fakeChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.channels) != 1 {
		return nil
	}
	for _, c := range f.channels {
		cp := c.copy()
		return &cp
	}
	return nil
}

// copy returns c sharing no slice a test reads with it.
func (c *fakeChannel) copy() fakeChannel {
	cp := *c
	cp.replies = slices.Clone(c.replies)
	cp.members = slices.Clone(c.members)
	return cp
}

// redeliver calls try, as PagerDuty redelivers, until it succeeds or
// tries calls have failed, pausing between them; it returns the last
// error.
func redeliver(tries int, pause time.Duration, try func() error) error {
	var err error
	for range tries {
		if err = try(); err == nil {
			return nil
		}
		time.Sleep(pause)
	}
	return err
}

func (f *fakeSlack) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	if err := f.call(ctx, "create"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.names[name]; ok {
		return "", fmt.Errorf("create %q: %w", name, incident.ErrNameTaken)
	}
	id := "C" + strconv.Itoa(len(f.names)+1)
	f.names[name] = id
	f.channels[id] = &fakeChannel{name: name, private: private}
	if f.loseCreate > 0 {
		f.loseCreate--
		return "", &incident.Error{Kind: incident.KindMaybeDone, Op: "create", Err: errors.New("connection reset")}
	}
	return id, nil
}

func (f *fakeSlack) ch(id string) (*fakeChannel, error) {
	c, ok := f.channels[id]
	if !ok {
		return nil, errors.New("channel_not_found")
	}
	return c, nil
}

func (f *fakeSlack) SetTopic(ctx context.Context, id, topic string) error {
	if err := f.call(ctx, "topic"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err == nil {
		c.topic = topic
	}
	return err
}

func (f *fakeSlack) AddBookmark(ctx context.Context, id string, b incident.Bookmark) error {
	if err := f.call(ctx, "bookmark"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err == nil {
		c.bookmarks = append(c.bookmarks, b.Link)
	}
	return err
}

func (f *fakeSlack) Invite(ctx context.Context, id string, users []string) ([]incident.InviteFailure, error) {
	if err := f.call(ctx, "invite"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return nil, err
	}
	var failed []incident.InviteFailure
	for _, u := range users {
		if why, ok := f.refuse[u]; ok {
			failed = append(failed, incident.InviteFailure{UserID: u, Reason: why})
		} else if !slices.Contains(c.members, u) {
			c.members = append(c.members, u)
		}
	}
	return failed, nil
}

func (f *fakeSlack) PostRoot(ctx context.Context, id string, r incident.Root) (string, error) {
	inc := r.Incident
	if err := f.call(ctx, "root"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return "", err
	}
	if c.root != "" {
		return "", errors.New("test: second root message posted")
	}
	c.root, c.rootInc, c.rootBefore = "100.1", inc, r.Before
	if f.loseRoot > 0 {
		f.loseRoot--
		c.rootHiddenUntil = time.Now().Add(250 * time.Millisecond)
		return "", &incident.Error{Kind: incident.KindMaybeDone, Op: "root", Err: errors.New("timeout")}
	}
	return c.root, nil
}

func (f *fakeSlack) UpdateRoot(ctx context.Context, id, ts string, r incident.Root) error {
	inc := r.Incident
	if err := f.call(ctx, "update"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return err
	}
	if ts != c.root {
		return errors.New("message_not_found")
	}
	c.rootInc, c.rootBefore = inc, r.Before
	c.rootEdits++
	return nil
}

func (f *fakeSlack) PostReply(ctx context.Context, id, rootTS string, r incident.Reply) (string, error) {
	if err := f.call(ctx, "reply"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return "", err
	}
	if rootTS != c.root && c.boards[rootTS] == nil {
		return "", fmt.Errorf("thread_ts is not a root: %w", incident.ErrRootGone)
	}
	c.replies = append(c.replies, r)
	if f.loseReply > 0 {
		f.loseReply--
		c.replyHiddenUntil = time.Now().Add(250 * time.Millisecond)
		return "", &incident.Error{Kind: incident.KindMaybeDone, Op: "reply", Err: errors.New("timeout")}
	}
	return "200." + strconv.Itoa(len(c.replies)), nil
}

func (f *fakeSlack) FindRoot(ctx context.Context, id, incidentID string) (string, error) {
	if err := f.call(ctx, "findRoot"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil || c.root == "" || c.rootInc.ID != incidentID || time.Now().Before(c.rootHiddenUntil) {
		return "", err
	}
	return c.root, nil
}

func (f *fakeSlack) FindReply(ctx context.Context, id, rootTS, eventID string) (string, error) {
	if err := f.call(ctx, "findReply"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil || time.Now().Before(c.replyHiddenUntil) {
		return "", err
	}
	for i, r := range c.replies {
		if r.EventID == eventID {
			return "200." + strconv.Itoa(i+1), nil
		}
	}
	return "", nil
}

func (f *fakeSlack) Bookmarks(ctx context.Context, id string) ([]string, error) {
	if err := f.call(ctx, "bookmarks"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.bookmarks), nil
}

// FindChannel finds channels this fake created; names taken without a
// channel (set up by tests) are someone else's.
func (f *fakeSlack) FindChannel(ctx context.Context, names []string, _ time.Time) (string, string, error) {
	if err := f.call(ctx, "findChannel"); err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range names {
		if id := f.names[name]; f.channels[id] != nil {
			return id, name, nil
		}
	}
	return "", "", nil
}

// fixture returns a PagerDuty-shaped webhook body from the wire
// package's testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "pagerduty", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadEvent(t testing.TB, name string) *incident.Event {
	t.Helper()
	ev, _, err := pagerduty.Parse(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

type env struct {
	slack *fakeSlack
	store incident.Store
	svc   *incident.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{slack: newFakeSlack(), store: store.NewMemory()}
	e.svc = incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"U0LEAD"}}, nil)
	return e
}

func (e *env) handle(t *testing.T, name string) (incident.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return e.svc.Handle(ctx, loadEvent(t, name))
}

func (e *env) mustHandle(t *testing.T, name string) incident.Result {
	t.Helper()
	res, err := e.handle(t, name)
	if err != nil {
		t.Fatalf("Handle(%s) error = %v", name, err)
	}
	return res
}

func TestServiceNewIncident(t *testing.T) {
	e := newEnv(t)
	res := e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeProcessed || res.ChannelID == "" {
		t.Errorf("Handle(triggered) = %+v, want processed with a channel", res)
	}
	c := e.slack.only()
	if c == nil {
		t.Fatalf("channels = %d, want 1", len(e.slack.channels))
	}
	if c.name != "inc-1234-checkout-latency-above-2s-p99" {
		t.Errorf("channel name = %q", c.name)
	}
	if c.topic != "Triggered · high · P2 · Checkout API" {
		t.Errorf("topic = %q", c.topic)
	}
	slices.Sort(c.bookmarks) // added concurrently
	if len(c.bookmarks) != 2 || c.bookmarks[0] != "https://acme.pagerduty.com/incidents/Q1CHECKOUT" || c.bookmarks[1] != "https://meet.example.com/checkout" {
		t.Errorf("bookmarks = %q", c.bookmarks)
	}
	if len(c.members) != 1 || c.members[0] != "U0LEAD" {
		t.Errorf("members = %q", c.members)
	}
	if c.root == "" || c.rootInc.Status != "triggered" || len(c.replies) != 0 {
		t.Errorf("root = %q status %q replies %d, want a root, triggered, no replies", c.root, c.rootInc.Status, len(c.replies))
	}
	if got := e.slack.total(); got != 6 {
		t.Errorf("Slack calls = %d, want 6 (create, topic, 2 bookmarks, invite, root)", got)
	}

	e.slack.resetCalls()
	res = e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeDuplicate || e.slack.total() != 0 {
		t.Errorf("redelivered triggered: outcome %q, %d Slack calls; want duplicate, 0", res.Outcome, e.slack.total())
	}
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		file      string
		status    string
		replies   int
		headline  string
		broadcast bool
	}{
		{"triggered.json", "triggered", 0, "", false},
		{"acknowledged.json", "acknowledged", 1, "Acknowledged by Ada Lovelace", false},
		{"annotated.json", "acknowledged", 2, "Note from Ada Lovelace", false},
		{"escalated.json", "acknowledged", 3, "Escalated to Grace Hopper (Checkout on-call)", false},
		{"reassigned.json", "acknowledged", 4, "Reassigned to Grace Hopper, Alan Turing by Ada Lovelace", false},
		{"priority_updated.json", "acknowledged", 5, "Priority changed to P1 by Ada Lovelace", false},
		{"responder_added.json", "acknowledged", 6, "Ada Lovelace requested Katherine Johnson as a responder", false},
		{"status_update_published.json", "acknowledged", 7, "Status update from Ada Lovelace", false},
		{"resolved.json", "resolved", 8, "Resolved by Ada Lovelace after 42m", true},
	}
	for _, s := range steps {
		e.mustHandle(t, s.file)
		c := e.slack.only()
		if c == nil {
			t.Fatalf("after %s: want exactly one channel", s.file)
		}
		if c.rootInc.Status != s.status || len(c.replies) != s.replies {
			t.Fatalf("after %s: root status %q, %d replies; want %q, %d", s.file, c.rootInc.Status, len(c.replies), s.status, s.replies)
		}
		if s.replies > 0 {
			r := c.replies[len(c.replies)-1]
			if r.Headline != s.headline || r.Broadcast != s.broadcast {
				t.Errorf("after %s: reply %q broadcast %v, want %q %v", s.file, r.Headline, r.Broadcast, s.headline, s.broadcast)
			}
		}
	}
	c := e.slack.only()
	if c.rootInc.Priority != "P1" || c.topic != "Resolved · high · P1 · Checkout API" {
		t.Errorf("final root priority %q topic %q", c.rootInc.Priority, c.topic)
	}
}

func TestServiceStatusChangeCalls(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "triggered.json")
	e.slack.resetCalls()
	e.mustHandle(t, "acknowledged.json")
	want := map[string]int{"update": 1, "reply": 1, "topic": 1}
	for m, n := range want {
		if e.slack.calls[m] != n {
			t.Errorf("calls[%s] = %d, want %d", m, e.slack.calls[m], n)
		}
	}
	if e.slack.total() != 3 {
		t.Errorf("total calls = %d, want 3", e.slack.total())
	}
}

func TestServiceReferenceFirst(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "annotated.json")
	c := e.slack.only()
	if c == nil || c.name != "inc-q1checkout-checkout-latency-above-2s-p99" {
		t.Fatalf("channel = %+v, want one named from the reference", c)
	}
	if c.rootInc.Complete || len(c.replies) != 1 || c.replies[0].Body == "" {
		t.Errorf("root complete %v, replies %d; want a reference root and the note", c.rootInc.Complete, len(c.replies))
	}
	e.mustHandle(t, "acknowledged.json")
	c = e.slack.only()
	if !c.rootInc.Complete || c.rootInc.Number != 1234 || c.rootInc.Status != "acknowledged" {
		t.Errorf("root after full event = %+v, want complete #1234 acknowledged", c.rootInc)
	}
}

func TestServiceLateEventKeepsNewerState(t *testing.T) {
	e := newEnv(t)
	e.mustHandle(t, "acknowledged.json")
	e.mustHandle(t, "triggered.json") // arrives late
	c := e.slack.only()
	if c.rootInc.Status != "acknowledged" {
		t.Errorf("root status = %q after a late triggered, want acknowledged", c.rootInc.Status)
	}
	if len(c.replies) != 1 || c.replies[0].Headline != "Acknowledged by Ada Lovelace" {
		t.Errorf("replies = %+v, want the acknowledgement only", c.replies)
	}
}

func TestServiceNameTaken(t *testing.T) {
	e := newEnv(t)
	e.slack.names["inc-1234-checkout-latency-above-2s-p99"] = "CFOREIGN"
	e.mustHandle(t, "triggered.json")
	id := e.slack.names["inc-1234-checkout-latency-above-2s-p99-2"]
	if id == "" {
		t.Fatalf("no suffixed channel; names = %v", e.slack.names)
	}
	if c := e.slack.channels[id]; c.root == "" {
		t.Errorf("suffixed channel has no root message")
	}
}

func TestServiceResumesAfterFailure(t *testing.T) {
	rate := &incident.Error{Kind: incident.KindTransient, Op: "post reply", RetryAfter: 30 * time.Second, Err: errors.New("ratelimited")}
	tests := []struct {
		name   string
		method string
		file   string
	}{
		{"create rate limited", "create", "triggered.json"},
		{"root post fails", "root", "triggered.json"},
		{"invite fails", "invite", "triggered.json"},
		{"reply fails", "reply", "acknowledged.json"},
		{"update fails", "update", "acknowledged.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.file != "triggered.json" {
				e.mustHandle(t, "triggered.json")
			}
			e.slack.failNext(tt.method, rate)
			_, err := e.handle(t, tt.file)
			if !incident.IsRetryable(err) {
				t.Fatalf("Handle with %s failing = %v, want a retryable error", tt.method, err)
			}
			res := e.mustHandle(t, tt.file) // PagerDuty's redelivery
			if res.Outcome != incident.OutcomeProcessed {
				t.Errorf("redelivery outcome = %q", res.Outcome)
			}
			c := e.slack.only()
			if c == nil {
				t.Fatalf("want exactly one channel after the redelivery, got %d", len(e.slack.channels))
			}
			wantReplies := 0
			if tt.file == "acknowledged.json" {
				wantReplies = 1
			}
			if c.root == "" || len(c.replies) != wantReplies || len(c.members) != 1 || c.topic == "" {
				t.Errorf("after redelivery: root %q, %d replies (want %d), members %v, topic %q", c.root, len(c.replies), wantReplies, c.members, c.topic)
			}
			if c.rootInc.Status != loadEvent(t, tt.file).Incident.Status {
				t.Errorf("root status = %q", c.rootInc.Status)
			}
			e.slack.resetCalls()
			if res := e.mustHandle(t, tt.file); res.Outcome != incident.OutcomeDuplicate || e.slack.total() != 0 {
				t.Errorf("third delivery: %q with %d calls, want duplicate with 0", res.Outcome, e.slack.total())
			}
		})
	}
}

func TestServicePermanentInviteFailureDoesNotBlock(t *testing.T) {
	e := newEnv(t)
	e.slack.failNext("invite", errors.New("cant_invite"))
	res := e.mustHandle(t, "triggered.json")
	if res.Outcome != incident.OutcomeProcessed {
		t.Errorf("outcome = %q, want processed despite a permanent invite failure", res.Outcome)
	}
}

func TestServiceConcurrentDeliveriesOneChannel(t *testing.T) {
	for i := range 20 {
		e := newEnv(t)
		e.slack.delay = time.Millisecond
		// Two instances: separate services over one store and one Slack.
		other := incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc"}, nil)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for j, job := range []struct {
			svc  *incident.Service
			file string
		}{{e.svc, "triggered.json"}, {other, "acknowledged.json"}, {other, "triggered.json"}, {e.svc, "annotated.json"}} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, errs[j] = job.svc.Handle(ctx, loadEvent(t, job.file))
			})
		}
		wg.Wait()
		// Redeliver whatever failed, as PagerDuty would.
		for j, err := range errs {
			if err != nil {
				if !incident.IsRetryable(err) {
					t.Fatalf("round %d: delivery %d error %v is not retryable", i, j, err)
				}
				for _, f := range []string{"triggered.json", "acknowledged.json", "annotated.json"} {
					e.mustHandle(t, f)
				}
			}
		}
		c := e.slack.only()
		if c == nil {
			t.Fatalf("round %d: %d channels, want 1", i, len(e.slack.channels))
		}
		if len(c.replies) != 2 || c.rootInc.Status != "acknowledged" {
			t.Fatalf("round %d: %d replies, root %q; want 2 replies and acknowledged", i, len(c.replies), c.rootInc.Status)
		}
	}
}

// flakyStore fails one Update: the first one made after Slack received a
// call of method, as when the store goes away right after Slack answered.
type flakyStore struct {
	incident.Store
	slack  *fakeSlack
	method string
	mu     sync.Mutex
	failed bool
}

func (f *flakyStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	f.slack.mu.Lock()
	called := f.slack.calls[f.method] > 0
	f.slack.mu.Unlock()
	f.mu.Lock()
	fail := called && !f.failed
	f.failed = f.failed || fail
	f.mu.Unlock()
	if fail {
		return errors.New("store unavailable")
	}
	return f.Store.Update(ctx, incidentID, eventID, fn)
}

// TestServiceSlackDoneStoreFailed covers the window between Slack doing a
// step and the store recording it: the redelivery finds what was done
// (root, reply, bookmarks) instead of doing it twice.
func TestServiceSlackDoneStoreFailed(t *testing.T) {
	tests := []struct {
		name   string
		method string // the Slack call after which the store fails
		setup  []string
		file   string
		find   string // the Find call the redelivery must make
	}{
		{"root posted, not recorded", "root", nil, "triggered.json", "findRoot"},
		{"bookmark added, not recorded", "bookmark", nil, "triggered.json", "bookmarks"},
		{"reply posted, not recorded", "reply", []string{"triggered.json"}, "acknowledged.json", "findReply"},
		{"note posted, not recorded", "reply", []string{"triggered.json"}, "annotated.json", "findReply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slack := newFakeSlack()
			st := &flakyStore{Store: store.NewMemory(), slack: slack, method: "never"}
			svc := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
			handle := func(name string) error {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, err := svc.Handle(ctx, loadEvent(t, name))
				return err
			}
			for _, f := range tt.setup {
				if err := handle(f); err != nil {
					t.Fatal(err)
				}
			}
			slack.resetCalls()
			st.method = tt.method
			if err := handle(tt.file); err == nil {
				t.Fatalf("Handle(%s) with the store failing after %s = nil, want an error (503)", tt.file, tt.method)
			}
			if err := handle(tt.file); err != nil { // PagerDuty's redelivery
				t.Fatalf("redelivery error = %v", err)
			}
			c := slack.only()
			if c == nil {
				t.Fatalf("want exactly one channel, got %d", len(slack.channels))
			}
			wantReplies := 0
			if tt.file != "triggered.json" {
				wantReplies = 1
			}
			if len(c.replies) != wantReplies || len(c.bookmarks) != 2 {
				t.Errorf("after redelivery: %d replies (want %d), bookmarks %v (want 2, once each)", len(c.replies), wantReplies, c.bookmarks)
			}
			slack.mu.Lock()
			finds := slack.calls[tt.find]
			slack.mu.Unlock()
			if finds == 0 {
				t.Errorf("the redelivery did not call %s", tt.find)
			}
			slack.resetCalls()
			if err := handle(tt.file); err != nil || slack.total() != 0 {
				t.Errorf("third delivery: %v with %d calls, want a duplicate with none", err, slack.total())
			}
		})
	}
}

// TestServiceOrphanChannel covers a conversations.create that created the
// channel but whose answer was lost: once the creation lease expires, the
// redelivery finds the name taken by that very channel and adopts it. A
// name taken by someone else's channel is never adopted.
func TestServiceOrphanChannel(t *testing.T) {
	const base = "inc-1234-checkout-latency-above-2s-p99"
	tests := []struct {
		name     string
		setup    func(f *fakeSlack)
		wantName string
	}{
		{"answer lost: adopt", func(f *fakeSlack) { f.loseCreate = 1 }, base},
		{"rate limited, then someone took the name: suffix", func(f *fakeSlack) {
			f.fail["create"] = []error{&incident.Error{Kind: incident.KindTransient, Op: "create", RetryAfter: time.Second, Err: errors.New("ratelimited")}}
			f.names[base] = "CFOREIGN" // taken meanwhile, by a person
		}, base + "-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slack := newFakeSlack()
			svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 150 * time.Millisecond}, nil)
			tt.setup(slack)
			handle := func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, err := svc.Handle(ctx, loadEvent(t, "triggered.json"))
				return err
			}
			if err := handle(); !incident.IsRetryable(err) {
				t.Fatalf("first delivery error = %v, want a retryable one", err)
			}
			err := redeliver(20, 50*time.Millisecond, func() error { return handle() })
			if err != nil {
				t.Fatalf("redeliveries never succeeded: %v", err)
			}
			c := slack.only()
			if c == nil {
				t.Fatalf("channels = %v, want exactly one of ours", slack.names)
			}
			if c.name != tt.wantName || c.root == "" {
				t.Errorf("channel %q with root %q, want %q with a root", c.name, c.root, tt.wantName)
			}
		})
	}
}

// TestServiceWaiterUsesHoldersChannel: while one attempt holds the creation
// lease, creates the channel and then fails to post the root, a concurrent
// attempt waits for the lease. When it gets it, it must use that channel,
// not create a second one from the plan it made before waiting.
func TestServiceWaiterUsesHoldersChannel(t *testing.T) {
	slack := newFakeSlack()
	st := store.NewMemory()
	a := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
	b := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc"}, nil)
	slack.failNext("root", &incident.Error{Kind: incident.KindTransient, Op: "root", Err: errors.New("503")})
	slack.delay = 150 * time.Millisecond // A holds the lease a while

	var wg sync.WaitGroup
	handle := func(svc *incident.Service, file string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, _ = svc.Handle(ctx, loadEvent(t, file))
	}
	wg.Go(func() { handle(a, "triggered.json") })
	time.Sleep(30 * time.Millisecond)
	wg.Go(func() { handle(b, "acknowledged.json") })
	wg.Wait()

	slack.mu.Lock()
	defer slack.mu.Unlock()
	if len(slack.channels) != 1 {
		t.Errorf("channels = %v, want one: the waiter must use the holder's channel", slack.names)
	}
}

// TestServiceOrphanChannelRenamed: the lost creation came from a note (a
// reference: the channel is named from the incident id), and the next
// delivery is the full incident, which would be named from its number. The
// orphan is still found and adopted.
func TestServiceOrphanChannelRenamed(t *testing.T) {
	slack := newFakeSlack()
	slack.loseCreate = 1
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 150 * time.Millisecond}, nil)
	handle := func(file string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, file))
		return err
	}
	if err := handle("annotated.json"); !incident.IsRetryable(err) {
		t.Fatalf("note with the create answer lost = %v, want a retryable error", err)
	}
	err := redeliver(20, 50*time.Millisecond, func() error { return handle("triggered.json") })
	if err != nil {
		t.Fatalf("triggered never succeeded: %v", err)
	}
	c := slack.only()
	if c == nil {
		t.Fatalf("channels = %v, want the orphan adopted, not a second channel", slack.names)
	}
	if c.root == "" || c.rootInc.Number != 1234 {
		t.Errorf("adopted channel %q: root %q showing #%d, want the full incident", c.name, c.root, c.rootInc.Number)
	}
}

// TestServiceRootMaybePostedKeepsLease: the root post timed out, but Slack
// posted it. The lease is kept until it expires, so a concurrent event
// does not post a second root meanwhile; afterwards the root is found and
// adopted.
func TestServiceRootMaybePostedKeepsLease(t *testing.T) {
	slack := newFakeSlack()
	st := store.NewMemory()
	cfg := incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}
	a := incident.NewService(st, slack, cfg, nil)
	b := incident.NewService(st, slack, cfg, nil)
	handle := func(svc *incident.Service, file string, budget time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, file))
		return err
	}
	slack.loseRoot = 1
	if err := handle(a, "triggered.json", 500*time.Millisecond); !incident.IsRetryable(err) {
		t.Fatalf("triggered with the root's answer lost = %v, want retryable", err)
	}
	// At once, another event: the lease is still held, so it must not post
	// a root (the fake fails the test on a second root).
	if err := handle(b, "acknowledged.json", 1200*time.Millisecond); err == nil {
		t.Fatalf("acknowledged during the kept lease = nil, want busy (503)")
	}
	slack.mu.Lock()
	roots := slack.calls["root"]
	slack.mu.Unlock()
	if roots != 1 {
		t.Fatalf("root posted %d times before the lease expired, want once", roots)
	}
	for _, f := range []string{"acknowledged.json", "triggered.json"} {
		err := redeliver(40, 100*time.Millisecond, func() error { return handle(b, f, time.Second) })
		if err != nil {
			t.Fatalf("%s after the lease expired = %v", f, err)
		}
	}
	c := slack.only()
	if c == nil || c.root == "" || c.rootInc.Status != "acknowledged" || len(c.replies) != 1 {
		t.Fatalf("channel %+v: want one root, edited to acknowledged, one reply", c)
	}
}

// twiceStore runs every UpdateFunc once on copies and throws the result
// away before running it for real, as a Firestore transaction retry does:
// a function with side effects outside its arguments shows up here.
type twiceStore struct{ incident.Store }

func (s twiceStore) Update(ctx context.Context, incidentID, eventID string, fn incident.UpdateFunc) error {
	return s.Store.Update(ctx, incidentID, eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		stCopy, erCopy := st.Clone(), *er
		_, _ = fn(&stCopy, &erCopy)
		return fn(st, er)
	})
}

func TestServiceTransactionFunctionsRunTwice(t *testing.T) {
	slack := newFakeSlack()
	st := twiceStore{store.NewMemory()}
	svc := incident.NewService(st, slack, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"U1"}}, nil)
	for _, f := range lifecycle {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := svc.Handle(ctx, loadEvent(t, f))
		cancel()
		if err != nil {
			t.Fatalf("Handle(%s) = %v", f, err)
		}
	}
	c := slack.only()
	if c == nil || c.rootInc.Status != "resolved" || len(c.replies) != len(lifecycle)-1 || len(c.bookmarks) != 2 {
		t.Fatalf("after the lifecycle with retried transactions: %+v", c)
	}
}

// TestServiceRateLimitedCreateLooksForNoOrphan: a create refused with a
// 429 made no channel, so the redelivery creates at once without scanning
// the workspace's channels for an orphan.
func TestServiceRateLimitedCreateLooksForNoOrphan(t *testing.T) {
	e := newEnv(t)
	e.slack.failNext("create", &incident.Error{Kind: incident.KindTransient, Op: "create", RetryAfter: time.Second, Err: errors.New("ratelimited")})
	if _, err := e.handle(t, "triggered.json"); !incident.IsRetryable(err) {
		t.Fatalf("first delivery = %v, want retryable", err)
	}
	e.mustHandle(t, "triggered.json")
	e.slack.mu.Lock()
	defer e.slack.mu.Unlock()
	if n := e.slack.calls["findChannel"]; n != 0 {
		t.Errorf("FindChannel called %d times after a refused create, want 0", n)
	}
}

// TestServiceRootMaybePostedCommitFailedKeepsLease: the root's answer is
// lost and then recording the round fails too. The lease must still be
// kept, so a concurrent event does not post a second root while Slack's
// history does not show the first yet.
func TestServiceRootMaybePostedCommitFailedKeepsLease(t *testing.T) {
	slack := newFakeSlack()
	st := &flakyStore{Store: store.NewMemory(), slack: slack, method: "root"}
	cfg := incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}
	a := incident.NewService(st, slack, cfg, nil)
	b := incident.NewService(st, slack, cfg, nil)
	slack.loseRoot = 1
	handle := func(svc *incident.Service, file string, budget time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, file))
		return err
	}
	if err := handle(a, "triggered.json", 500*time.Millisecond); err == nil {
		t.Fatal("triggered with the root's answer lost and the store failing = nil, want an error")
	}
	_ = handle(b, "acknowledged.json", 1200*time.Millisecond)
	slack.mu.Lock()
	roots := slack.calls["root"]
	slack.mu.Unlock()
	if roots != 1 {
		t.Fatalf("root posted %d times while its first post was unclear, want once", roots)
	}
}

// TestServiceReplyMaybePostedKeepsEventLease: the reply's answer is lost;
// the event's lease is kept, so the immediate redelivery does not post it
// again while Slack does not show it yet, and a later one finds it.
func TestServiceReplyMaybePostedKeepsEventLease(t *testing.T) {
	slack := newFakeSlack()
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{ChannelPrefix: "inc", LeaseTTL: 300 * time.Millisecond}, nil)
	handle := func(file string, budget time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, file))
		return err
	}
	if err := handle("triggered.json", time.Second); err != nil {
		t.Fatal(err)
	}
	slack.loseReply = 1
	if err := handle("acknowledged.json", 500*time.Millisecond); !incident.IsRetryable(err) {
		t.Fatalf("acknowledged with the reply's answer lost = %v, want retryable", err)
	}
	if err := handle("acknowledged.json", 500*time.Millisecond); err == nil {
		t.Fatalf("immediate redelivery = nil, want busy while the event lease is kept")
	}
	err := redeliver(40, 100*time.Millisecond, func() error { return handle("acknowledged.json", time.Second) })
	if err != nil {
		t.Fatalf("redelivery after the lease expired = %v", err)
	}
	if c := slack.only(); c == nil || len(c.replies) != 1 {
		t.Fatalf("replies = %v, want exactly one", c)
	}
}
