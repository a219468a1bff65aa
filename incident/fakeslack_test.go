package incident_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.Slack = (*fakeSlack)(nil)

// fakeSlack is an in-process incident.Slack that records what it was asked
// and can be told to fail. The HTTP-level fake (internal/fake/slack) is used
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
	// archived is set by ArchiveChannel: the channel then refuses posts.
	archived  bool
	name      string
	topic     string
	bookmarks []string
	members   []string
	root      string
	rootInc   incident.Snapshot
	// rootBefore is the history the root shows; rootPrevious the archived
	// channel it continues.
	rootBefore   []incident.HistoryLine
	rootPrevious string
	// rootActions are the responders' buttons the root shows.
	rootActions []incident.Action
	// rootShown is the whole of what the root shows last (its similar
	// past incidents, status update, lead, …).
	rootShown incident.Root
	rootEdits int
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
	// canvas is the channel canvas's Markdown (canvasID its id, "" for
	// none); files the Markdown files shared in it.
	canvasID, canvas string
	canvasEdits      int
	files            []string
}

type fakeBoard struct {
	entry incident.BoardEntry
	edits int
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

// callsOf returns how often method was called.
func (f *fakeSlack) callsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
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

func (f *fakeSlack) channel(id string) fakeChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.channels[id]
	if c == nil {
		return fakeChannel{}
	}
	return c.copy()
}

// ownChannels returns the channels the service created.
func (f *fakeSlack) ownChannels() []fakeChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeChannel
	for name, id := range f.names {
		if c := f.channels[id]; c != nil && c.name == name {
			out = append(out, c.copy())
		}
	}
	return out
}

// copy returns c sharing no slice a test reads with it.
func (c *fakeChannel) copy() fakeChannel {
	cp := *c
	cp.replies = slices.Clone(c.replies)
	cp.members = slices.Clone(c.members)
	return cp
}

func headlines(rs []incident.Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Headline)
	}
	return out
}

func (f *fakeSlack) ch(id string) (*fakeChannel, error) {
	c, ok := f.channels[id]
	if !ok {
		return nil, errors.New("channel_not_found")
	}
	if c.archived {
		return nil, fmt.Errorf("%s: %w", id, incident.ErrChannelArchived)
	}
	return c, nil
}

func (f *fakeSlack) ArchiveChannel(ctx context.Context, id string) error {
	if err := f.call(ctx, "archive"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.channels[id]
	if !ok {
		return fmt.Errorf("%s: %w", id, incident.ErrRootGone)
	}
	c.archived = true
	return nil
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

func (f *fakeSlack) CreateCanvas(ctx context.Context, id, title, markdown string) (string, error) {
	if err := f.call(ctx, "canvas"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err != nil {
		return "", err
	}
	if c.canvasID != "" {
		return "", &incident.Error{Kind: incident.KindRefused, Op: "canvas", Err: errors.New("channel_canvas_already_exists")}
	}
	c.canvasID, c.canvas = "F"+id, markdown
	return c.canvasID, nil
}

func (f *fakeSlack) EditCanvas(ctx context.Context, canvasID, markdown string) error {
	if err := f.call(ctx, "canvas edit"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.channels {
		if c.canvasID == canvasID {
			c.canvas = markdown
			c.canvasEdits++
			return nil
		}
	}
	return &incident.Error{Kind: incident.KindRefused, Op: "canvas edit", Err: errors.New("canvas_not_found")}
}

func (f *fakeSlack) ShareFile(ctx context.Context, id, threadTS, name, title, content string) error {
	if err := f.call(ctx, "file"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ch(id)
	if err == nil {
		c.files = append(c.files, content)
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
	c.root, c.rootInc, c.rootBefore, c.rootPrevious, c.rootActions = "100.1", inc, r.Before, r.Previous, r.Actions
	c.rootShown = r
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
	c.rootInc, c.rootBefore, c.rootPrevious, c.rootActions = inc, r.Before, r.Previous, r.Actions
	c.rootShown = r
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
