// Package slack is a stateful fake of the Slack Web API methods that
// Incident Channels calls, served over real HTTP so the real slack-go
// client talks to it (point SLACK_API_URL at Server.URL). It keeps
// channels (public and private), members, topics, bookmarks, messages and
// threads, users (users.info with or without their emails) and user
// groups, the modals opened with views.open and the workspace auth.test
// names, makes permalinks, enforces the
// rules and limits the product depends on (channel names, name_taken also
// for archived channels, membership, thread_ts of an existing message, text
// and block limits, chat.update without blocks dropping them, modal
// limits and single-use, expiring trigger ids), and can be
// told to fail: ok:false errors, HTTP statuses such as 429 with or without
// Retry-After and 5xx, slow answers and reset connections, before or after
// the call takes effect. SetTiers makes it enforce Slack's per-method rate
// limits, in a compressed minute if asked (SlackTiers).
//
// Tests use it to assert what a Slack workspace would show; the local
// sandbox serves it in process.
package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// BotUserID is the user id of the bot the token belongs to: the creator,
// and so a member, of every channel it creates.
const BotUserID = "UBOT0000001"

// HumanUserID is the creator of channels made with Server.CreateChannel,
// as if a person had made them in Slack.
const HumanUserID = "UHUMAN00001"

// DefaultToken is the bot token the server accepts unless told otherwise.
const DefaultToken = "xoxb-fake-token"

// The workspace the server is, unless SetTeam says otherwise: auth.test
// answers its id, permalinks and the workspace URL use its domain.
const (
	DefaultTeamID = "TFAKE0001"
	DefaultDomain = "fake"
)

// Fault is a failure the server answers one call with.
type Fault struct {
	// Status is the HTTP status to answer with (429, 500, 502, 503, …);
	// 0 means 200 with an ok:false body when Error is set.
	Status int
	// RetryAfter is the Retry-After header in seconds, sent when > 0.
	RetryAfter int
	// Error is the ok:false error code (name_taken, invalid_auth, …).
	Error string
	// Delay holds the answer back; a client that gives up earlier sees a
	// timeout.
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
	// Apply carries the call out before failing, as when Slack did the
	// work but its answer was lost.
	Apply bool
	// Run, when set, is called as the call arrives, before it takes
	// effect: a test can make something else happen while Slack works
	// (cut the store off, say) without timing it.
	Run func()
}

// failing reports whether the fault fails the call; a fault with only a
// Delay answers normally, late.
func (f *Fault) failing() bool { return f.Status != 0 || f.Error != "" || f.Reset }

// Channel is the state of one channel.
type Channel struct {
	ID   string
	Name string
	// Creator is the user who created the channel: BotUserID for channels
	// made through the API, HumanUserID for those made by CreateChannel.
	Creator  string
	Created  time.Time
	Private  bool
	Archived bool
	// ExtShared marks a channel shared with another organisation (Slack
	// Connect): conversations.info says is_ext_shared and is_shared.
	ExtShared bool
	Topic     string
	Members   []string
	Bookmarks []Bookmark
	// Messages in the order they were posted, thread replies included.
	Messages []Message
	// Canvas is the channel's canvas; its ID is "" when it has none.
	Canvas Canvas
}

// Bookmark is one link in a channel's bookmark bar.
type Bookmark struct {
	ID    string
	Title string
	Link  string
}

// Message is one message of a channel.
type Message struct {
	TS string
	// User is who posted it: BotUserID for messages posted through the
	// API ("" is read as BotUserID), someone else for AddMessage.
	User string
	// ThreadTS is the root message's ts for a thread reply, empty for a
	// top-level message.
	ThreadTS  string
	Text      string
	Blocks    json.RawMessage
	Broadcast bool
	// Metadata is the message metadata posted with it, if any.
	Metadata json.RawMessage
	// Edits counts chat.update calls on the message.
	Edits int
	// Files are the files shared with the message (files.go).
	Files []File
}

// TopLevel returns the messages that are not thread replies.
func (c Channel) TopLevel() []Message {
	var out []Message
	for _, m := range c.Messages {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// Replies returns the replies in the thread of the message ts, in order.
func (c Channel) Replies(ts string) []Message {
	var out []Message
	for _, m := range c.Messages {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// BlockText returns every piece of text in the message's blocks (header,
// section text and fields, context, button labels and URLs), one per line,
// so tests and the sandbox can look for what a reader would see.
func (m Message) BlockText() string {
	var blocks []any
	_ = json.Unmarshal(m.Blocks, &blocks)
	var lines []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if t, ok := v["text"].(string); ok {
				lines = append(lines, t)
			}
			if u, ok := v["url"].(string); ok {
				lines = append(lines, u)
			}
			for _, k := range []string{"text", "fields", "elements"} {
				if _, isString := v[k].(string); !isString {
					walk(v[k])
				}
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(blocks)
	return strings.Join(lines, "\n")
}

// Server is the fake Slack Web API.
type Server struct {
	// URL is the API base URL, ending in "/": SLACK_API_URL.
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	channels []*Channel
	users    map[string]*user
	// directory is set once AddUser was called: ids that are not in users
	// are then unknown to the workspace.
	directory bool
	groups    []*userGroup
	nextID    int
	clock     int64
	calls     map[string]int
	faults    map[string][]Fault
	latency   time.Duration
	log       []Call
	// limiter enforces the rate limits of SetTiers; nil: none.
	limiter *limiter

	teamID, domain string
	// hideEmails leaves profile.email out of users.info, as Slack does
	// for an app without the users:read.email scope.
	hideEmails bool
	// expired are the trigger ids views.open answers expired_trigger_id;
	// exchanged those already used to open a view.
	expired, exchanged map[string]bool
	views              []View
	// apps are the apps made with apps.manifest.create.
	apps []*App
	// scopes is auth.test's X-OAuth-Scopes header (SetScopes).
	scopes string
	// uploads are the files being uploaded, by id (files.go).
	uploads map[string]*upload
	// noCanvases makes channel canvases refused, as on the free plan.
	noCanvases bool
}

// View is a modal opened with views.open.
type View struct {
	// ID is the view id the server gave it (V…).
	ID        string
	TriggerID string
	// JSON is the view as the caller sent it.
	JSON json.RawMessage
}

// user is one user of the workspace.
type user struct {
	id          string
	email       string
	deactivated bool
	known       bool   // added with AddUser
	inviteError string // forced per-user conversations.invite error (SetUser)
	traits      UserTraits
}

// UserTraits are what users.info says of a user besides their address
// (Slack's user object): who they are to the workspace.
type UserTraits struct {
	// TeamID is the user's team (team_id); "" is the workspace's. A user
	// of another organisation in a shared channel (Slack Connect) has
	// theirs.
	TeamID string
	// Stranger is is_stranger: a user of another organisation the
	// workspace shares no channel with.
	Stranger bool
	// Bot and AppUser are is_bot and is_app_user.
	Bot, AppUser bool
	// Restricted and UltraRestricted are is_restricted (a multi-channel
	// guest) and is_ultra_restricted (a single-channel guest).
	Restricted, UltraRestricted bool
	// EmailUnconfirmed makes is_email_confirmed false; other users'
	// addresses are confirmed.
	EmailUnconfirmed bool
}

// userGroup is one user group (subteam) of the workspace.
type userGroup struct {
	id, handle string
	members    []string
	disabled   bool
}

// Call is one API call the server answered.
type Call struct {
	Method string
	// Args are the form values, the token left out.
	Args map[string]string
}

// NewServer starts a fake on a loopback port. Close it when done.
func NewServer() *Server {
	s := NewUnstarted()
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL + "/api/"
	return s
}

// NewServerOn starts a fake serving on l (a listener of an in-memory
// network, say). Close it when done.
func NewServerOn(l net.Listener) *Server {
	s := NewUnstarted()
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.srv.Start()
	s.URL = s.srv.URL + "/api/"
	return s
}

// NewUnstarted returns a fake that is not listening: serve it with
// ServeHTTP under "/api/" (the sandbox mounts it in its own server).
func NewUnstarted() *Server {
	return &Server{
		token:  DefaultToken,
		users:  map[string]*user{},
		calls:  map[string]int{},
		faults: map[string][]Fault{},
		clock:  1_700_000_000_000_000,
		teamID: DefaultTeamID, domain: DefaultDomain,
		expired: map[string]bool{}, exchanged: map[string]bool{},
	}
}

// SetTeam sets the workspace's team id, answered by auth.test, and its
// domain, used in permalinks and the workspace URL
// (https://<domain>.slack.com/).
func (s *Server) SetTeam(id, domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teamID, s.domain = id, domain
}

// HideEmails makes users.info leave out every profile's email, as Slack
// does when the app lacks the users:read.email scope; false shows them.
func (s *Server) HideEmails(hide bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hideEmails = hide
}

// ExpireTrigger makes views.open answer expired_trigger_id for the trigger
// id, as Slack does 3 s after the interaction that made it. Other trigger
// ids are valid until used once.
func (s *Server) ExpireTrigger(triggerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[triggerID] = true
}

// Views returns the modals opened with views.open, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.views)
}

// Close stops a server started with NewServer.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

// SetToken sets the bot token the server accepts.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetLatency makes every call take at least d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetUser makes conversations.invite answer inviteError for user id
// ("user_not_found", "cant_invite", "user_is_deactivated"); "" makes the
// user valid again. Users never mentioned are valid.
func (s *Server) SetUser(id, inviteError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(id).inviteError = inviteError
}

// AddUser adds a person to the workspace, found by users.lookupByEmail
// under email (any case). A deactivated user is not found by email (Slack
// answers users_not_found for them) and cannot be invited
// (user_is_deactivated). Once any user is added, the workspace knows its
// users: conversations.invite answers user_not_found for ids neither added
// nor mentioned to SetUser. Until then every id is a valid user.
func (s *Server) AddUser(id, email string, deactivated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(id)
	u.email, u.deactivated, u.known = email, deactivated, true
	s.directory = true
}

// SetTraits sets what users.info says of a user besides their address:
// another team, a guest, a bot, an unconfirmed address. The user is
// known to users.info from then on, like one added with AddUser.
func (s *Server) SetTraits(id string, t UserTraits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(id)
	u.traits, u.known = t, true
	s.directory = true
}

func (s *Server) user(id string) *user {
	u := s.users[id]
	if u == nil {
		u = &user{id: id}
		s.users[id] = u
	}
	return u
}

// AddUserGroup adds a user group (subteam) with its id (S…), handle
// (without "@") and members, or replaces the group with that id.
func (s *Server) AddUserGroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &userGroup{id: id, handle: handle, members: slices.Clone(members)}
	for i, old := range s.groups {
		if old.id == id {
			s.groups[i] = g
			return
		}
	}
	s.groups = append(s.groups, g)
}

// DisableUserGroup disables the group id, as an admin could: it is left
// out of usergroups.list and usergroups.users.list answers no_such_subteam.
func (s *Server) DisableUserGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if g.id == id {
			g.disabled = true
		}
	}
}

// Fail queues faults for the next calls of method (e.g. "chat.postMessage"),
// one fault per call, in order.
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], faults...)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]Fault{}
}

// CreateChannel adds a channel as if someone had created it in Slack, for
// tests of name collisions; the bot is not a member.
func (s *Server) CreateChannel(name string, archived bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newChannel(name, false)
	c.Archived = archived
	c.Members = nil
	c.Creator = HumanUserID
	return c.ID
}

// CreatePrivateChannel adds a private channel as if a person had created
// it in Slack; the bot is not a member (AddMembers invites it).
func (s *Server) CreatePrivateChannel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newChannel(name, true)
	c.Members = []string{HumanUserID}
	c.Creator = HumanUserID
	return c.ID
}

// AddMembers adds users to the channel id, as a person inviting them
// would (the bot too: BotUserID).
func (s *Server) AddMembers(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byID(id); c != nil {
		for _, u := range users {
			if !slices.Contains(c.Members, u) {
				c.Members = append(c.Members, u)
			}
		}
	}
}

// AddMessage adds a top-level message to the channel id as m.User posted
// it (a person, another app's bot), with m.Text, m.Blocks and m.Metadata,
// and returns its ts.
func (s *Server) AddMessage(id string, m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byID(id)
	if c == nil {
		return ""
	}
	m.TS, m.ThreadTS, m.Edits = s.nextTS(), "", 0
	c.Messages = append(c.Messages, m)
	return m.TS
}

// Archive archives the channel id, as a user would.
func (s *Server) Archive(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byID(id); c != nil {
		c.Archived = true
	}
}

// ShareExternally shares the channel id with another organisation, as
// an admin accepting a Slack Connect invitation would.
func (s *Server) ShareExternally(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byID(id); c != nil {
		c.ExtShared = true
	}
}

// Kick removes user from the channel id, as a person could remove the bot.
func (s *Server) Kick(id, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byID(id); c != nil {
		c.Members = slices.DeleteFunc(c.Members, func(m string) bool { return m == user })
	}
}

// DeleteMessage deletes the message ts from channel id, as a person could.
func (s *Server) DeleteMessage(id, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byID(id); c != nil {
		c.Messages = slices.DeleteFunc(c.Messages, func(m Message) bool { return m.TS == ts })
	}
}

// Calls returns how many times method was called (faults and calls the
// tiers refused included).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// TotalCalls returns the number of calls of every method.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// Log returns the calls answered so far, in order.
func (s *Server) Log() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetCalls zeroes the call counts and log, and the tiers' counts (not
// their windows).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.log = nil
	if s.limiter != nil {
		s.limiter.counts = map[string]TierCount{}
	}
}

// Channels returns a copy of every channel, in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, copyChannel(c))
	}
	return out
}

// Channel returns a copy of the channel with the id or name given.
func (s *Server) Channel(idOrName string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.ID == idOrName || c.Name == idOrName {
			return copyChannel(c), true
		}
	}
	return Channel{}, false
}

func copyChannel(c *Channel) Channel {
	cp := *c
	cp.Members = slices.Clone(c.Members)
	cp.Bookmarks = slices.Clone(c.Bookmarks)
	cp.Messages = slices.Clone(c.Messages)
	return cp
}

func (s *Server) byID(id string) *Channel {
	for _, c := range s.channels {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) newChannel(name string, private bool) *Channel {
	s.nextID++
	c := &Channel{ID: fmt.Sprintf("C%08d", s.nextID), Name: name, Private: private, Members: []string{BotUserID},
		Creator: BotUserID, Created: time.Now()}
	s.channels = append(s.channels, c)
	return c
}

func (s *Server) nextTS() string {
	s.clock += 100
	return fmt.Sprintf("%d.%06d", s.clock/1_000_000, s.clock%1_000_000)
}

// answer is a method's JSON answer; ok is added.
type answer map[string]any

// apiError is an ok:false answer.
type apiError struct {
	code  string
	extra answer
}

func fail(code string) *apiError { return &apiError{code: code} }

// ServeHTTP answers /api/{method}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, uploadPath); i >= 0 {
		s.receiveUpload(w, r, r.URL.Path[i+len(uploadPath):])
		return
	}
	method := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		// Methods such as views.open take a JSON body; its top-level
		// fields become the arguments, objects as their JSON text.
		form, err := jsonForm(r)
		if err != nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(answer{"ok": false, "error": "invalid_json"})
			return
		}
		r.Form = form
	} else if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls[method]++
	args := map[string]string{}
	for k, v := range r.Form {
		if k != "token" {
			args[k] = strings.Join(v, ",")
		}
	}
	s.log = append(s.log, Call{Method: method, Args: args})
	if method == "auth.test" && s.scopes != "" {
		w.Header().Set("X-OAuth-Scopes", s.scopes)
	}
	retryAfter := 0
	if s.limiter != nil {
		retryAfter = s.limiter.admit(method, r.Form)
	}
	var fault *Fault
	if q := s.faults[method]; len(q) > 0 && retryAfter == 0 {
		fault, s.faults[method] = &q[0], q[1:]
	}
	delay := s.latency
	s.mu.Unlock()

	if fault != nil && fault.Run != nil {
		fault.Run()
	}
	if fault != nil && fault.Delay > delay {
		delay = fault.Delay
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if retryAfter > 0 {
		writeRateLimited(w, retryAfter)
		return
	}
	if fault != nil && fault.failing() && !fault.Apply {
		s.writeFault(w, fault)
		return
	}
	res, aerr := s.call(method, r)
	if fault != nil && fault.failing() {
		s.writeFault(w, fault)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if aerr != nil {
		body := answer{"ok": false, "error": aerr.code}
		for k, v := range aerr.extra {
			body[k] = v
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	res["ok"] = true
	_ = json.NewEncoder(w).Encode(res)
}

// jsonForm reads a JSON object body into form values, adding the URL's
// query.
func jsonForm(r *http.Request) (url.Values, error) {
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&fields); err != nil {
		return nil, err
	}
	form := r.URL.Query()
	for k, raw := range fields {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			form.Set(k, str)
		} else {
			form.Set(k, string(raw))
		}
	}
	return form, nil
}

// writeRateLimited answers a call the tiers refuse, as Slack does.
func writeRateLimited(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(answer{"ok": false, "error": "ratelimited"})
}

func (s *Server) writeFault(w http.ResponseWriter, f *Fault) {
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Status != 0 && f.Status != http.StatusOK {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = fmt.Fprintf(w, "<html><body>%d %s</body></html>", f.Status, http.StatusText(f.Status))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(answer{"ok": false, "error": f.Error})
}

// call carries out method with the request's arguments.
func (s *Server) call(method string, r *http.Request) (answer, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token := r.Form.Get("token")
	if token == "" {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if token == "" {
		return nil, fail("not_authed")
	}
	if method == "apps.manifest.create" || method == "apps.manifest.update" {
		return s.manifestCall(method, token, r.Form)
	}
	if token != s.token {
		return nil, fail("invalid_auth")
	}
	f := r.Form
	switch method {
	case "auth.test":
		return answer{"user_id": BotUserID, "team": "Fake", "team_id": s.teamID, "url": "https://" + s.domain + ".slack.com/",
			"bot_id": "BFAKE0001"}, nil
	case "users.info":
		return s.userInfo(f.Get("user"))
	case "views.open":
		return s.openView(f.Get("trigger_id"), f.Get("view"))
	case "chat.getPermalink":
		return s.permalink(f.Get("channel"), f.Get("message_ts"))
	case "conversations.create":
		return s.create(f.Get("name"), f.Get("is_private") == "true")
	case "conversations.setTopic":
		return s.setTopic(f.Get("channel"), f.Get("topic"))
	case "conversations.invite":
		return s.invite(f.Get("channel"), f.Get("users"), f.Get("force") == "true")
	case "conversations.join":
		c := s.visible(f.Get("channel"))
		switch {
		case c == nil:
			return nil, fail("channel_not_found")
		case c.Archived:
			return nil, fail("is_archived")
		case c.Private:
			return nil, fail("method_not_supported_for_channel_type")
		}
		if !slices.Contains(c.Members, BotUserID) {
			c.Members = append(c.Members, BotUserID)
		}
		return answer{"channel": channelJSON(c)}, nil
	case "conversations.archive":
		c, err := s.member(f.Get("channel"))
		if err != nil {
			return nil, err
		}
		c.Archived = true
		return answer{}, nil
	case "conversations.info":
		c := s.visible(f.Get("channel"))
		if c == nil {
			return nil, fail("channel_not_found")
		}
		return answer{"channel": channelJSON(c)}, nil
	case "bookmarks.add":
		return s.addBookmark(f.Get("channel_id"), f.Get("title"), f.Get("type"), f.Get("link"))
	case "bookmarks.list":
		c, err := s.member(f.Get("channel_id"))
		if err != nil {
			return nil, err
		}
		bs := []answer{}
		for _, b := range c.Bookmarks {
			bs = append(bs, answer{"id": b.ID, "channel_id": c.ID, "title": b.Title, "link": b.Link, "type": "link"})
		}
		return answer{"bookmarks": bs}, nil
	case "conversations.list":
		return s.list(f)
	case "conversations.history":
		return s.history(f)
	case "conversations.replies":
		return s.replies(f)
	case "chat.postMessage":
		return s.post(f)
	case "chat.update":
		return s.update(f)
	case "users.lookupByEmail":
		return s.lookupByEmail(f.Get("email"))
	case "usergroups.list":
		return s.listGroups(f.Get("include_disabled") == "true", f.Get("include_users") == "true")
	case "usergroups.users.list":
		return s.groupMembers(f.Get("usergroup"), f.Get("include_disabled") == "true")
	case "files.getUploadURLExternal":
		return s.getUploadURL(r, f)
	case "files.completeUploadExternal":
		return s.completeUpload(f)
	case "conversations.canvases.create":
		return s.createCanvas(f.Get("channel_id"), f.Get("title"), f.Get("document_content"))
	case "canvases.edit":
		return s.editCanvas(f.Get("canvas_id"), f.Get("changes"))
	}
	return nil, fail("unknown_method")
}

var validName = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (s *Server) create(name string, private bool) (answer, *apiError) {
	switch {
	case name == "":
		return nil, fail("invalid_name_required")
	case utf8.RuneCountInString(name) > 80:
		return nil, fail("invalid_name_maxlength")
	case !validName.MatchString(name):
		return nil, fail("invalid_name_specials")
	}
	for _, c := range s.channels {
		if c.Name == name { // archived channels keep their names
			return nil, fail("name_taken")
		}
	}
	c := s.newChannel(name, private)
	return answer{"channel": channelJSON(c)}, nil
}

func channelJSON(c *Channel) answer {
	return answer{
		"id": c.ID, "name": c.Name, "is_channel": !c.Private, "is_private": c.Private,
		"is_archived": c.Archived, "creator": c.Creator, "created": c.Created.Unix(), "topic": answer{"value": c.Topic},
		// As Slack's conversation object: is_shared for any sharing,
		// is_ext_shared for another organisation, is_org_shared for
		// workspaces of one Enterprise organisation (never, here).
		"is_shared": c.ExtShared, "is_ext_shared": c.ExtShared, "is_org_shared": false, "is_pending_ext_shared": false,
	}
}

// visible returns the channel id when the bot can see it: a public
// channel, or a private one it is a member of. A private channel the bot
// is not in does not exist as far as the bot's token can tell.
func (s *Server) visible(id string) *Channel {
	c := s.byID(id)
	if c == nil || (c.Private && !slices.Contains(c.Members, BotUserID)) {
		return nil
	}
	return c
}

// member returns the channel id the bot may act in.
func (s *Server) member(id string) (*Channel, *apiError) {
	c := s.visible(id)
	switch {
	case c == nil:
		return nil, fail("channel_not_found")
	case c.Archived:
		return nil, fail("is_archived")
	case !slices.Contains(c.Members, BotUserID):
		return nil, fail("not_in_channel")
	}
	return c, nil
}

func (s *Server) setTopic(id, topic string) (answer, *apiError) {
	c, err := s.member(id)
	if err != nil {
		return nil, err
	}
	if chars(topic) > 250 {
		return nil, fail("too_long")
	}
	c.Topic = topic
	return answer{"channel": channelJSON(c)}, nil
}

func (s *Server) invite(id, users string, force bool) (answer, *apiError) {
	c, err := s.member(id)
	if err != nil {
		return nil, err
	}
	if users == "" {
		return nil, fail("no_user")
	}
	var ok []string
	var errs []answer
	for _, u := range strings.Split(users, ",") {
		code := s.inviteError(c, u)
		if code != "" {
			errs = append(errs, answer{"user": u, "ok": false, "error": code})
			continue
		}
		if !slices.Contains(ok, u) {
			ok = append(ok, u)
		}
	}
	if len(errs) > 0 && (!force || len(ok) == 0) {
		// Without force one bad user fails the whole call.
		return nil, &apiError{code: errs[0]["error"].(string), extra: answer{"errors": errs}}
	}
	c.Members = append(c.Members, ok...)
	if len(errs) > 0 {
		// force: the valid users are in; the others are reported.
		return nil, &apiError{code: errs[0]["error"].(string), extra: answer{"errors": errs}}
	}
	return answer{"channel": channelJSON(c)}, nil
}

// inviteError is the per-user conversations.invite error for inviting u
// to c, "" when u can be invited.
func (s *Server) inviteError(c *Channel, u string) string {
	known := u == BotUserID || u == HumanUserID || !s.directory
	if usr := s.users[u]; usr != nil {
		switch {
		case usr.inviteError != "":
			return usr.inviteError
		case usr.deactivated:
			return "user_is_deactivated"
		}
		known = known || usr.known
	}
	switch {
	case u == BotUserID:
		return "cant_invite_self"
	case !known:
		return "user_not_found"
	case slices.Contains(c.Members, u):
		return "already_in_channel"
	}
	return ""
}

// lookupByEmail answers users.lookupByEmail: the active user with the
// email address; users_not_found for an unknown address and, as Slack
// documents, for a deactivated user.
func (s *Server) lookupByEmail(email string) (answer, *apiError) {
	if email == "" {
		return nil, fail("invalid_arguments")
	}
	for _, u := range s.users {
		if u.known && u.email != "" && strings.EqualFold(u.email, email) && !u.deactivated {
			return answer{"user": answer{
				"id": u.id, "team_id": s.teamID, "name": strings.Split(u.email, "@")[0],
				"deleted": false, "is_bot": false, "profile": answer{"email": u.email},
			}}, nil
		}
	}
	return nil, fail("users_not_found")
}

// userInfo answers users.info for the users added with AddUser (or
// SetTraits), the bot and HumanUserID; any other id is user_not_found. A
// deactivated user is answered with deleted:true, as Slack does; their
// team, guest and bot flags and is_email_confirmed as SetTraits set them
// (the bot's address is unconfirmed). profile.email is left out for the
// bot, users without one and, after HideEmails, everyone.
func (s *Server) userInfo(id string) (answer, *apiError) {
	u := s.users[id]
	known := id == BotUserID || id == HumanUserID || (u != nil && u.known)
	if !known {
		return nil, fail("user_not_found")
	}
	name, email, deleted := strings.ToLower(id), "", false
	var t UserTraits
	if u != nil && u.known {
		email, deleted, t = u.email, u.deactivated, u.traits
		if email != "" {
			name = strings.Split(email, "@")[0]
		}
	}
	profile := answer{"real_name": name, "display_name": name}
	if email != "" && !s.hideEmails && id != BotUserID {
		profile["email"] = email
	}
	team := t.TeamID
	if team == "" {
		team = s.teamID
	}
	return answer{"user": answer{
		"id": id, "team_id": team, "name": name, "real_name": name, "deleted": deleted,
		"is_bot": id == BotUserID || t.Bot, "is_app_user": t.AppUser, "is_stranger": t.Stranger,
		"is_restricted": t.Restricted, "is_ultra_restricted": t.UltraRestricted,
		"is_email_confirmed": id != BotUserID && !t.EmailUnconfirmed, "profile": profile,
	}}, nil
}

// openView answers views.open: invalid_trigger_id without a trigger,
// expired_trigger_id for one ExpireTrigger named, exchanged_trigger_id
// for one already used, and invalid_arguments (with Slack's
// response_metadata.messages) for a view breaking the modal rules the
// product relies on: type modal, a plain_text title of 1-24 characters,
// submit and close of at most 24, a submit button when there is an input
// block, at most 100 blocks, callback_id up to 255 and private_metadata
// up to 3000 characters.
func (s *Server) openView(triggerID, view string) (answer, *apiError) {
	switch {
	case triggerID == "":
		return nil, fail("invalid_trigger_id")
	case s.expired[triggerID]:
		return nil, fail("expired_trigger_id")
	case s.exchanged[triggerID]:
		return nil, fail("exchanged_trigger_id")
	}
	var v struct {
		Type            string       `json:"type"`
		Title           *textObject  `json:"title"`
		Submit          *textObject  `json:"submit"`
		Close           *textObject  `json:"close"`
		CallbackID      string       `json:"callback_id"`
		PrivateMetadata string       `json:"private_metadata"`
		ExternalID      string       `json:"external_id"`
		Blocks          []textObject `json:"blocks"` // only each block's type is read
	}
	invalid := func(why, pointer string) *apiError {
		return &apiError{code: "invalid_arguments", extra: answer{"response_metadata": answer{
			"messages": []string{"[ERROR] " + why + " [json-pointer:/view" + pointer + "]"}}}}
	}
	if view == "" {
		return nil, invalid("missing required field: view", "")
	}
	if err := json.Unmarshal([]byte(view), &v); err != nil {
		return nil, invalid("view is not a JSON object", "")
	}
	hasInput := false
	for _, b := range v.Blocks {
		hasInput = hasInput || b.Type == "input"
	}
	switch {
	case v.Type != "modal":
		return nil, invalid("must be modal", "/type")
	case v.Title == nil || v.Title.Type != "plain_text" || v.Title.Text == "" || chars(v.Title.Text) > 24:
		return nil, invalid("title must be plain_text of 1-24 characters", "/title")
	case v.Submit != nil && chars(v.Submit.Text) > 24:
		return nil, invalid("must be less than 25 characters", "/submit/text")
	case v.Close != nil && chars(v.Close.Text) > 24:
		return nil, invalid("must be less than 25 characters", "/close/text")
	case hasInput && v.Submit == nil:
		return nil, invalid("submit is required when an input block is present", "/submit")
	case len(v.Blocks) > 100:
		return nil, invalid("no more than 100 items allowed", "/blocks")
	case chars(v.CallbackID) > 255:
		return nil, invalid("must be less than 256 characters", "/callback_id")
	case chars(v.PrivateMetadata) > 3000:
		return nil, invalid("must be less than 3001 characters", "/private_metadata")
	}
	s.exchanged[triggerID] = true
	s.nextID++
	opened := View{ID: fmt.Sprintf("V%08d", s.nextID), TriggerID: triggerID, JSON: json.RawMessage(view)}
	s.views = append(s.views, opened)
	return answer{"view": answer{
		"id": opened.ID, "team_id": s.teamID, "type": "modal", "callback_id": v.CallbackID,
		"private_metadata": v.PrivateMetadata, "external_id": v.ExternalID, "hash": fmt.Sprintf("%d.fake", s.nextID),
		"title": v.Title, "root_view_id": opened.ID, "bot_id": "BFAKE0001",
	}}, nil
}

// permalink answers chat.getPermalink for a message of a channel the bot
// can see: https://<domain>.slack.com/archives/<channel>/p<ts without the
// dot>, with thread_ts and cid for a thread reply, as Slack makes them.
func (s *Server) permalink(channelID, ts string) (answer, *apiError) {
	c := s.visible(channelID)
	if c == nil {
		return nil, fail("channel_not_found")
	}
	i := findMessage(c, ts)
	if i < 0 {
		return nil, fail("message_not_found")
	}
	link := "https://" + s.domain + ".slack.com/archives/" + c.ID + "/p" + strings.Replace(ts, ".", "", 1)
	if root := c.Messages[i].ThreadTS; root != "" {
		link += "?thread_ts=" + root + "&cid=" + c.ID
	}
	return answer{"channel": c.ID, "permalink": link}, nil
}

// listGroups answers usergroups.list, leaving disabled groups out unless
// asked for them.
func (s *Server) listGroups(includeDisabled, includeUsers bool) (answer, *apiError) {
	out := []answer{}
	for _, g := range s.groups {
		if g.disabled && !includeDisabled {
			continue
		}
		a := answer{"id": g.id, "team_id": s.teamID, "is_usergroup": true, "name": g.handle, "handle": g.handle, "date_delete": 0}
		if g.disabled {
			a["date_delete"] = 1
		}
		if includeUsers {
			a["users"] = slices.Clone(g.members)
		}
		out = append(out, a)
	}
	return answer{"usergroups": out}, nil
}

// groupMembers answers usergroups.users.list: no_such_subteam for an
// unknown group id, and for a disabled one unless include_disabled.
func (s *Server) groupMembers(id string, includeDisabled bool) (answer, *apiError) {
	for _, g := range s.groups {
		if g.id == id && (!g.disabled || includeDisabled) {
			return answer{"users": append([]string{}, g.members...)}, nil
		}
	}
	return nil, fail("no_such_subteam")
}

func (s *Server) addBookmark(id, title, typ, link string) (answer, *apiError) {
	c, err := s.member(id)
	if err != nil {
		return nil, err
	}
	switch {
	case title == "":
		return nil, fail("invalid_title")
	case typ != "link":
		return nil, fail("invalid_type")
	case !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://"):
		return nil, fail("invalid_link")
	}
	b := Bookmark{ID: fmt.Sprintf("Bk%08d", len(c.Bookmarks)+1), Title: title, Link: link}
	c.Bookmarks = append(c.Bookmarks, b)
	return answer{"bookmark": answer{"id": b.ID, "channel_id": c.ID, "title": title, "link": link, "type": typ}}, nil
}

func (s *Server) post(f url.Values) (answer, *apiError) {
	c, err := s.member(f.Get("channel"))
	if err != nil {
		return nil, err
	}
	text, blocks := f.Get("text"), f.Get("blocks")
	if err := checkContent(text, blocks); err != nil {
		return nil, err
	}
	m := Message{User: BotUserID, Text: text, Blocks: json.RawMessage(blocks), Broadcast: f.Get("reply_broadcast") == "true"}
	if md := f.Get("metadata"); md != "" {
		var v struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		}
		if json.Unmarshal([]byte(md), &v) != nil || v.EventType == "" {
			return nil, fail("invalid_metadata_format")
		}
		m.Metadata = json.RawMessage(md)
	}
	if ts := f.Get("thread_ts"); ts != "" {
		i := findMessage(c, ts)
		if i < 0 {
			return nil, fail("thread_not_found")
		}
		m.ThreadTS = ts
		if parent := c.Messages[i].ThreadTS; parent != "" {
			m.ThreadTS = parent // a reply to a reply joins the thread
		}
	}
	m.TS = s.nextTS()
	c.Messages = append(c.Messages, m)
	return answer{"channel": c.ID, "ts": m.TS, "message": answer{"text": text, "ts": m.TS, "thread_ts": m.ThreadTS}}, nil
}

func (s *Server) update(f url.Values) (answer, *apiError) {
	c, err := s.member(f.Get("channel"))
	if err != nil {
		return nil, err
	}
	i := findMessage(c, f.Get("ts"))
	if i < 0 {
		return nil, fail("message_not_found")
	}
	text, blocks := f.Get("text"), f.Get("blocks")
	if err := checkContent(text, blocks); err != nil {
		return nil, err
	}
	m := &c.Messages[i]
	m.Text = text
	// chat.update replaces what it is given; text without blocks drops
	// the blocks.
	m.Blocks = json.RawMessage(blocks)
	m.Edits++
	return answer{"channel": c.ID, "ts": m.TS, "text": text}, nil
}

// list answers conversations.list: in creation order, in pages of limit
// (default 100) with a cursor, the public channels and, when types
// includes private_channel, the private channels the bot is a member of.
func (s *Server) list(f url.Values) (answer, *apiError) {
	limit, _ := strconv.Atoi(f.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	types := strings.Split(f.Get("types"), ",")
	if f.Get("types") == "" {
		types = []string{"public_channel"}
	}
	public, private := slices.Contains(types, "public_channel"), slices.Contains(types, "private_channel")
	start, _ := strconv.Atoi(f.Get("cursor"))
	var out []answer
	i := 0
	for _, c := range s.channels {
		switch {
		case c.Archived && f.Get("exclude_archived") == "true":
			continue
		case c.Private && (!private || !slices.Contains(c.Members, BotUserID)):
			continue
		case !c.Private && !public:
			continue
		}
		if i >= start && len(out) < limit {
			out = append(out, channelJSON(c))
		}
		i++
	}
	res := answer{"channels": out}
	if next := start + len(out); next < i {
		res["response_metadata"] = answer{"next_cursor": strconv.Itoa(next)}
	}
	return res, nil
}

// history answers conversations.history: top-level messages, newest
// first, in pages of limit (default 100) with a cursor.
func (s *Server) history(f url.Values) (answer, *apiError) {
	c, err := s.member(f.Get("channel"))
	if err != nil {
		return nil, err
	}
	var top []Message
	for i := len(c.Messages) - 1; i >= 0; i-- {
		if c.Messages[i].ThreadTS == "" {
			top = append(top, c.Messages[i])
		}
	}
	return page(top, f)
}

// replies answers conversations.replies: the parent message, then its
// replies oldest first, paged like history.
func (s *Server) replies(f url.Values) (answer, *apiError) {
	c, err := s.member(f.Get("channel"))
	if err != nil {
		return nil, err
	}
	i := findMessage(c, f.Get("ts"))
	if i < 0 {
		return nil, fail("thread_not_found")
	}
	msgs := []Message{c.Messages[i]}
	msgs = append(msgs, c.Replies(c.Messages[i].TS)...)
	return page(msgs, f)
}

func page(msgs []Message, f url.Values) (answer, *apiError) {
	limit, _ := strconv.Atoi(f.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	start, _ := strconv.Atoi(f.Get("cursor"))
	if start < 0 || start > len(msgs) {
		return nil, fail("invalid_cursor")
	}
	end := min(start+limit, len(msgs))
	withMeta := f.Get("include_all_metadata") == "1" || f.Get("include_all_metadata") == "true"
	out := []answer{}
	for _, m := range msgs[start:end] {
		poster := m.User
		if poster == "" {
			poster = BotUserID
		}
		a := answer{"type": "message", "user": poster, "ts": m.TS, "text": m.Text}
		if m.ThreadTS != "" {
			a["thread_ts"] = m.ThreadTS
		}
		if withMeta && len(m.Metadata) > 0 {
			a["metadata"] = m.Metadata
		}
		out = append(out, a)
	}
	res := answer{"messages": out, "has_more": end < len(msgs)}
	if end < len(msgs) {
		res["response_metadata"] = answer{"next_cursor": strconv.Itoa(end)}
	}
	return res, nil
}

func findMessage(c *Channel, ts string) int {
	for i, m := range c.Messages {
		if m.TS == ts {
			return i
		}
	}
	return -1
}

// chars counts characters as Slack does, in UTF-16 code units.
func chars(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// checkContent enforces Slack's message limits: some text or blocks,
// 40 000 characters of text, and the Block Kit limits the product relies
// on (50 blocks, header 150, section text 3000, 10 fields of 2000, button
// label 75 and URL 3000).
func checkContent(text, blocks string) *apiError {
	if text == "" && blocks == "" {
		return fail("no_text")
	}
	if chars(text) > 40000 {
		return fail("msg_too_long")
	}
	if blocks == "" {
		return nil
	}
	var bs []struct {
		Type     string          `json:"type"`
		Text     *textObject     `json:"text"`
		Fields   []textObject    `json:"fields"`
		Elements json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		return &apiError{code: "invalid_blocks_format"}
	}
	invalid := func(why string) *apiError {
		return &apiError{code: "invalid_blocks", extra: answer{"errors": []string{why}}}
	}
	if len(bs) > 50 {
		return invalid("no more than 50 items allowed")
	}
	for i, b := range bs {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || chars(b.Text.Text) > 150 || b.Text.Text == "" {
				return invalid(fmt.Sprintf("block %d: header needs plain_text of 1-150 characters", i))
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return invalid(fmt.Sprintf("block %d: section needs text or fields", i))
			}
			if b.Text != nil && (chars(b.Text.Text) > 3000 || b.Text.Text == "") {
				return invalid(fmt.Sprintf("block %d: section text must be 1-3000 characters", i))
			}
			if len(b.Fields) > 10 {
				return invalid(fmt.Sprintf("block %d: no more than 10 fields", i))
			}
			for _, fl := range b.Fields {
				if chars(fl.Text) > 2000 || fl.Text == "" {
					return invalid(fmt.Sprintf("block %d: field must be 1-2000 characters", i))
				}
			}
		case "actions":
			var els []struct {
				Type string     `json:"type"`
				Text textObject `json:"text"`
				URL  string     `json:"url"`
			}
			if err := json.Unmarshal(b.Elements, &els); err != nil || len(els) == 0 || len(els) > 25 {
				return invalid(fmt.Sprintf("block %d: actions need 1-25 elements", i))
			}
			for _, e := range els {
				if e.Type == "button" && (chars(e.Text.Text) > 75 || len(e.URL) > 3000) {
					return invalid(fmt.Sprintf("block %d: button label over 75 or URL over 3000 characters", i))
				}
			}
		case "context":
			var els []textObject
			if err := json.Unmarshal(b.Elements, &els); err != nil || len(els) == 0 || len(els) > 10 {
				return invalid(fmt.Sprintf("block %d: context needs 1-10 elements", i))
			}
			for _, e := range els {
				if chars(e.Text) > 3000 {
					return invalid(fmt.Sprintf("block %d: context text over 3000 characters", i))
				}
			}
		case "divider":
		default:
			return invalid(fmt.Sprintf("block %d: type %q not supported by the fake", i, b.Type))
		}
	}
	return nil
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}
