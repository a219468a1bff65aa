// Package slackops carries out the incident service's Slack steps through
// slack-go: creating the channel (public or private), setting its topic,
// bookmarking, inviting users and user groups' members, posting and
// editing the Block Kit root message and its thread replies, and the
// incident's message in shared (announce and post-only) channels. It also
// finds Slack users by email for the people resolver and, for the
// channel's actions, a user's email, modals, permalinks and the bot
// token's workspace. It renders messages from the domain's snapshot and
// replies, cutting and escaping untrusted text to Slack's rules, and
// translates Slack's errors into the domain's: name_taken into
// incident.ErrNameTaken, rate limits, 5xx answers and transport failures
// into *incident.Error.
//
// It is also Slack's side of interactivity: the handler of the app's
// interactivity and slash-command URLs checks the signature of each
// request, parses button clicks, modal submissions, message shortcuts and
// /inc commands, hands them to Actions and answers Slack within its 3
// seconds.
package slackops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
)

var _ incident.Slack = (*Client)(nil)

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// Client is the Slack side of the incident service.
type Client struct {
	api *slack.Client

	mu        sync.Mutex
	botUserID string    // from auth.test, learnt on first need
	workspace Workspace // from the same auth.test

	// groupsMu serialises usergroups.list calls, so concurrent look-ups
	// of handles share one; groups and groupsAt are read under mu.
	groupsMu sync.Mutex
	groups   map[string]string // user group handle → id, enabled groups only
	groupsAt time.Time         // when groups was listed; zero: never
	// members caches usergroups.users.list answers by group id for
	// membersTTL: an outage opening many incidents at once would
	// otherwise spend the method's Tier 2 limit on one group.
	members map[string]cachedMembers
	// shared holds what conversations.info said of each channel's
	// sharing with other organisations (ExternallyShared).
	shared map[string]*sharing
	now    func() time.Time
}

// New returns a Client calling the Web API at apiURL (DefaultAPIURL when
// empty) with the bot token. It keeps connections to Slack alive across
// requests and makes no call until one is needed. slack-go's own retries
// stay off: a rate-limited or failed call is answered 503 at once, and
// PagerDuty's redelivery retries it, instead of sleeping past the budget.
func New(token, apiURL string, opts ...Option) *Client {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	o := options{limits: &MemoryRateLimits{}, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.transport == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Bursts (an outage opening many incidents) run many calls at
		// once; keeping their connections saves a TLS handshake per call.
		tr.MaxIdleConnsPerHost = 256
		tr.IdleConnTimeout = 90 * time.Second
		o.transport = tr
	}
	limited := &limitTransport{next: o.transport, limits: o.limits, now: o.now}
	return &Client{
		api: slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(&http.Client{Transport: limited})),
		now: o.now,
	}
}

// Option configures a Client.
type Option func(*options)

type options struct {
	limits    RateLimits
	now       func() time.Time
	transport http.RoundTripper
}

// WithRateLimits shares what Slack's 429 answers said through limits
// (default: remembered by this Client alone).
func WithRateLimits(limits RateLimits) Option { return func(o *options) { o.limits = limits } }

// WithClock sets the Client's clock (default time.Now), for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTransport sends the Client's calls through rt (default: a transport
// keeping many connections to Slack alive), for tests that serve their
// fake Slack on a network in memory.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// CreateChannel creates a channel named name, private when private is
// set. A taken name (live or archived channel, public or private) is
// incident.ErrNameTaken.
func (c *Client) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	if err := notSent(ctx, "conversations.create "+name); err != nil {
		return "", err
	}
	ch, err := c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if err != nil {
		return "", translate("conversations.create "+name, err)
	}
	return ch.ID, nil
}

// SetTopic sets the channel topic, cut to Slack's 250 characters.
func (c *Client) SetTopic(ctx context.Context, channelID, topic string) error {
	err := c.inChannel(ctx, channelID, func() error {
		_, err := c.api.SetTopicOfConversationContext(ctx, channelID, Plain(topic, MaxTopic))
		return err
	})
	return translate("conversations.setTopic "+channelID, err)
}

// AddBookmark adds a link to the channel's bookmark bar.
func (c *Client) AddBookmark(ctx context.Context, channelID string, b incident.Bookmark) error {
	if err := notSent(ctx, "bookmarks.add "+channelID); err != nil {
		return err
	}
	err := c.inChannel(ctx, channelID, func() error {
		_, err := c.api.AddBookmarkContext(ctx, channelID, slack.AddBookmarkParameters{
			Title: Plain(b.Title, 100), Type: "link", Link: b.Link,
		})
		return err
	})
	return translate("bookmarks.add "+channelID, err)
}

// benignInvite are per-user invite errors that leave the user where we
// want them: in the channel (or the bot itself, already a member).
var benignInvite = map[string]bool{"already_in_channel": true, "cant_invite_self": true}

// inviteReasons are the per-user conversations.invite errors, in words
// for people. A code not listed here is a per-user failure only when it
// comes in the errors array, and its reason is the code itself.
var inviteReasons = map[string]string{
	// Slack documents no code for a deactivated user; these are the
	// codes its other methods use for one.
	"user_is_deactivated": "deactivated",
	"user_disabled":       "deactivated",
	"user_not_found":      "not a Slack user",
	"cant_invite":         "a guest who cannot be added",
	"user_is_restricted":  "a guest who cannot be added",
	// A single-channel guest, or one already in as many channels as
	// allowed.
	"user_is_ultra_restricted": "a guest who cannot be added",
	"ura_max_channels":         "a guest who cannot be added",
}

// InviteReason returns the reason, readable by people, for a per-user
// conversations.invite error code.
func InviteReason(code string) string {
	if r, ok := inviteReasons[code]; ok {
		return r
	}
	return code
}

// Invite adds users to the channel. Users already in it, and the bot
// itself, are not an error. Slack is asked to invite the valid users even
// when others fail (force); the users it refused (deactivated, unknown,
// guests who cannot be added) come back in failed, with a reason. err is
// a failure of the whole call (a rate limit, a 5xx, the channel archived
// or gone), and failed is then empty.
func (c *Client) Invite(ctx context.Context, channelID string, userIDs []string) ([]incident.InviteFailure, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	err := c.inChannel(ctx, channelID, func() error {
		_, err := c.api.ForceInviteUsersToConversationContext(ctx, channelID, userIDs...)
		return err
	})
	if err == nil {
		return nil, nil
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		var failed []incident.InviteFailure
		perUser := false
		for _, e := range se.Errors {
			ie := e.ConversationsInviteResponseError
			if ie == nil || ie.User == "" {
				continue
			}
			perUser = true
			if !benignInvite[ie.Error] {
				failed = append(failed, incident.InviteFailure{UserID: ie.User, Reason: InviteReason(ie.Error)})
			}
		}
		if perUser {
			return failed, nil
		}
		// No errors array: Slack names no user. With one user invited,
		// a per-user code is about that user.
		switch {
		case benignInvite[se.Err]:
			return nil, nil
		case len(userIDs) == 1 && inviteReasons[se.Err] != "":
			return []incident.InviteFailure{{UserID: userIDs[0], Reason: InviteReason(se.Err)}}, nil
		}
	}
	return nil, translate("conversations.invite "+channelID, err)
}

// ArchiveChannel archives the channel (conversations.archive). One
// archived already is done; one deleted is incident.ErrRootGone.
func (c *Client) ArchiveChannel(ctx context.Context, channelID string) error {
	err := c.api.ArchiveConversationContext(ctx, channelID)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "already_archived" {
		return nil
	}
	return translate("conversations.archive "+channelID, err)
}

// PostRoot posts the incident's root message and returns its ts.
func (c *Client) PostRoot(ctx context.Context, channelID string, r incident.Root) (string, error) {
	ts, err := c.post(ctx, channelID, RootText(r.Incident), RootMessageBlocks(r), PlainRootBlocks(r.Incident),
		slack.SlackMetadata{EventType: RootMetadataType, EventPayload: map[string]any{"incident_id": r.Incident.ID}})
	return ts, translate("chat.postMessage "+channelID, err)
}

// post posts a top-level message carrying metadata, with the plainer
// blocks when Slack rejects blocks, and returns its ts. Nothing is sent
// once ctx has ended.
func (c *Client) post(ctx context.Context, channelID, text string, blocks, plain []slack.Block, md slack.SlackMetadata) (string, error) {
	if err := notSent(ctx, "chat.postMessage "+channelID); err != nil {
		return "", err
	}
	var ts string
	post := func(blocks []slack.Block) error {
		return c.inChannel(ctx, channelID, func() (err error) {
			_, ts, err = c.api.PostMessageContext(ctx, channelID,
				slack.MsgOptionBlocks(blocks...),
				slack.MsgOptionText(text, false),
				slack.MsgOptionDisableLinkUnfurl(),
				slack.MsgOptionMetadata(md),
			)
			return err
		})
	}
	err := post(blocks)
	if rejectedBlocks(err) {
		err = post(plain)
	}
	if err != nil {
		return "", err
	}
	return ts, nil
}

// UpdateRoot edits the root message in place. Blocks are always sent with
// the text: chat.update with text alone would drop them.
func (c *Client) UpdateRoot(ctx context.Context, channelID, ts string, r incident.Root) error {
	inc := r.Incident
	return translate("chat.update "+channelID, c.edit(ctx, channelID, ts, RootText(inc), RootMessageBlocks(r), PlainRootBlocks(inc)))
}

// edit replaces the message ts with blocks, or with the plainer blocks
// when Slack rejects those. Blocks are always sent with the text:
// chat.update with text alone would drop them.
func (c *Client) edit(ctx context.Context, channelID, ts, text string, blocks, plain []slack.Block) error {
	update := func(blocks []slack.Block) error {
		return c.inChannel(ctx, channelID, func() error {
			_, _, _, err := c.api.UpdateMessageContext(ctx, channelID, ts,
				slack.MsgOptionBlocks(blocks...),
				slack.MsgOptionText(text, false),
			)
			return err
		})
	}
	err := update(blocks)
	if rejectedBlocks(err) {
		err = update(plain)
	}
	return err
}

// PostReply posts r in the thread of the root message rootTS, also to the
// channel when r.Broadcast is set.
func (c *Client) PostReply(ctx context.Context, channelID, rootTS string, r incident.Reply) (string, error) {
	if err := notSent(ctx, "chat.postMessage "+channelID); err != nil {
		return "", err
	}
	opts := []slack.MsgOption{
		slack.MsgOptionTS(rootTS),
		slack.MsgOptionBlocks(ReplyBlocks(r)...),
		slack.MsgOptionText(ReplyText(r), false),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	if r.Broadcast {
		opts = append(opts, slack.MsgOptionBroadcast())
	}
	if r.EventID != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: ReplyMetadataType, EventPayload: map[string]any{"event_id": r.EventID}}))
	}
	var ts string
	err := c.inChannel(ctx, channelID, func() (err error) {
		_, ts, err = c.api.PostMessageContext(ctx, channelID, opts...)
		return err
	})
	if err != nil {
		return "", translate("chat.postMessage "+channelID+" thread "+rootTS, err)
	}
	return ts, nil
}

// notSent returns a retryable error, known not to have taken effect, when
// ctx has ended before a call that must not be repeated is even sent: an
// expired budget is no reason to hold a lease for an unclear outcome.
func notSent(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &incident.Error{Kind: incident.KindTransient, Op: op, Err: err}
	}
	return nil
}

// rejectedBlocks reports whether Slack refused a message for its blocks:
// then a plainer message is tried rather than failing the
// incident's updates until PagerDuty gives up.
func rejectedBlocks(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "invalid_blocks" || se.Err == "invalid_blocks_format")
}

// inChannel runs call and, when Slack answers not_in_channel (someone
// removed the bot from the incident's channel, or a public shared channel
// the bot was never in), joins the channel and runs call once more. A
// channel the bot cannot join keeps the first error.
func (c *Client) inChannel(ctx context.Context, channelID string, call func() error) error {
	err := call()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "not_in_channel" {
		return err
	}
	if _, _, _, jerr := c.api.JoinConversationContext(ctx, channelID); jerr != nil {
		var je slack.SlackErrorResponse
		if errors.As(jerr, &je) && je.Err == "method_not_supported_for_channel_type" {
			return &APIError{Method: "conversations.join", Code: "not_in_channel",
				Detail: "the bot cannot join private channel " + channelID + " by itself: invite it to the channel"}
		}
		// Why the bot could not rejoin (a rate limit, an archived
		// channel) says more than not_in_channel.
		return jerr
	}
	return call()
}

// bot returns the bot's user id, asking auth.test the first time.
func (c *Client) bot(ctx context.Context) (string, error) {
	user, _, err := c.whoami(ctx)
	return user, err
}

// whoami returns the bot's user id and its workspace, asking auth.test
// the first time and keeping the answer once it succeeds.
func (c *Client) whoami(ctx context.Context) (userID string, ws Workspace, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.botUserID != "" {
		return c.botUserID, c.workspace, nil
	}
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return "", Workspace{}, translate("auth.test", err)
	}
	c.botUserID, c.workspace = resp.UserID, Workspace{TeamID: resp.TeamID, EnterpriseID: resp.EnterpriseID}
	return c.botUserID, c.workspace, nil
}

// Check asks Slack whether the bot token works (auth.test), every time:
// the function's pagey.ping answers with it, to prove a deploy can act in
// the workspace. A refused token is an *APIError (invalid_auth,
// account_inactive, …); an unreachable Slack a retryable error.
func (c *Client) Check(ctx context.Context) error {
	if _, err := c.api.AuthTestContext(ctx); err != nil {
		return translate("auth.test", err)
	}
	return nil
}

// APIError is an error Slack answered with ok:false that no retry gets
// past (invalid_auth, channel_not_found, is_archived, …).
type APIError struct {
	Method string
	Code   string
	// Detail adds what Slack said beyond the code, e.g. which users could
	// not be invited.
	Detail string
}

// Operation names the Slack method for the request log.
func (e *APIError) Operation() string { return e.Method }

func (e *APIError) Error() string {
	s := e.Method + ": " + e.Code
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// retryableCodes are ok:false error codes that a later attempt may get
// past.
var retryableCodes = map[string]bool{
	"internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// translate classifies a slack-go error once, into an *incident.Error of
// the kind the service acts on: name taken, archived, gone (a deleted
// message), transient (429, ratelimited), maybe done (5xx, timeouts,
// connection failures, Slack's internal errors) or refused (any other
// ok:false answer, carrying an *APIError). op names the call.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *incident.Error
	if errors.As(err, &ie) { // already classified
		return err
	}
	kind, cause := classify(op, err)
	return &incident.Error{Kind: kind, Op: op, RetryAfter: retryAfter(err), Err: cause}
}

func classify(op string, err error) (incident.Kind, error) {
	var ae *APIError
	if errors.As(err, &ae) {
		return incident.KindRefused, err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return incident.KindTransient, err
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return incident.KindTransient, err
		case sc.Code >= 500:
			return incident.KindMaybeDone, err
		}
		return incident.KindRefused, err
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		method, _, _ := strings.Cut(op, " ")
		switch {
		case se.Err == "name_taken":
			return incident.KindNameTaken, err
		case se.Err == "is_archived":
			return incident.KindArchived, err
		case rootGoneCodes[method+" "+se.Err]:
			return incident.KindGone, err
		case se.Err == "ratelimited" || se.Err == "rate_limited":
			return incident.KindTransient, err
		case retryableCodes[se.Err]:
			return incident.KindMaybeDone, err
		case se.Err == "missing_scope":
			return incident.KindRefused, fmt.Errorf("%w: %w", &APIError{Method: method, Code: se.Err}, incident.ErrMissingScope)
		case noCanvasCodes[se.Err]:
			return incident.KindRefused, fmt.Errorf("%w: %w", &APIError{Method: method, Code: se.Err}, incident.ErrNoCanvases)
		}
		return incident.KindRefused, &APIError{Method: method, Code: se.Err}
	}
	// No answer from Slack: a timeout, a reset connection, a body that is
	// not Slack's JSON. The call may or may not have taken effect.
	return incident.KindMaybeDone, err
}

func retryAfter(err error) time.Duration {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter
	}
	return 0
}

// noCanvasCodes are the answers of a workspace that cannot have channel
// canvases: Slack's free plan, or canvases turned off.
var noCanvasCodes = map[string]bool{
	"team_tier_cannot_create_channel_canvases": true, "free_team_canvas_tab_already_exists": true,
	"canvas_disabled_user_team": true, "free_team_not_allowed": true,
}

// rootGoneCodes are the answers that mean the root message was deleted:
// editing it, or replying in its thread.
var rootGoneCodes = map[string]bool{
	"chat.update message_not_found": true, "chat.update cant_update_message": true,
	"chat.postMessage thread_not_found": true, "conversations.replies thread_not_found": true,
	// The channel to archive was deleted.
	"conversations.archive channel_not_found": true,
	// The message to link to was deleted.
	"chat.getPermalink message_not_found": true,
}
