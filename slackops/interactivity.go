package slackops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/endpoint"
)

// Paths of the app's request URLs (the Interactivity Request URL and the
// /inc command's Request URL in the app's settings).
const (
	PathInteractions = "/slack/interactions"
	PathCommands     = "/slack/commands"
)

// MaxInteractivityBody bounds the body of a request from Slack; a larger
// one is answered 413 without being read to its end. Slack's largest
// payloads (a submitted modal with its blocks) are far smaller.
const MaxInteractivityBody = 1 << 20

// SlackTimeout is how long Slack waits for an answer before it shows the
// user an error.
const SlackTimeout = 3 * time.Second

// DefaultInteractivityBudget is how long Actions may take unless
// configured: what is left of SlackTimeout goes to posting to the
// response_url and answering.
const DefaultInteractivityBudget = 2 * time.Second

// answerMargin is kept back from SlackTimeout for writing the answer after
// a response_url post.
const answerMargin = 150 * time.Millisecond

// responseURLTimeout bounds a response_url post with the default client.
const responseURLTimeout = SlackTimeout

// maxResponseURLBody bounds what is read of a response_url's answer.
const maxResponseURLBody = 4 << 10

// Actions does what a verified Slack request asks. Its context ends
// after InteractivityConfig.Budget: an implementation returns by then,
// with an Answer that says what is unfinished, because Slack stops
// waiting soon after and no work may outlive the request.
type Actions interface {
	Interact(ctx context.Context, in Interaction) Answer
	Command(ctx context.Context, cmd Command) Answer
}

// Answer is what the user sees of an action.
type Answer struct {
	// Text is mrkdwn shown only to the user (ephemeral); "" shows nothing.
	Text string
	// ViewErrors, for a view_submission, maps block_id to an error shown
	// in the modal, which stays open.
	ViewErrors map[string]string
}

// InteractivityConfig is what the handler is made of.
type InteractivityConfig struct {
	// Secrets are the accepted signing secrets (several during rotation).
	Secrets [][]byte
	// Workspace returns the bot token's workspace (auth.test), cached by
	// the caller (Client.Workspace). Requests for another workspace are
	// refused with 403; users of another one (in a shared channel) are
	// answered incident.ExternalUserText and nothing is done.
	Workspace func(ctx context.Context) (Workspace, error)
	// Actions handles every verified request of the workspace.
	Actions Actions
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
	// Budget is how long Actions may take; 0 is DefaultInteractivityBudget.
	Budget time.Duration
	// HTTPClient posts to response_urls; nil is a client without
	// keep-alive and with a timeout of SlackTimeout. Redirects are never
	// followed, whatever its CheckRedirect.
	HTTPClient *http.Client
	// APIURL is the Slack Web API the app calls (SLACK_API_URL); "" is
	// DefaultAPIURL. Besides Slack's own hooks hosts, response_urls may
	// go to the host of a non-default one (GovSlack, a fake Slack in tests
	// and the sandbox), on its scheme.
	APIURL string
	// Requests remembers each verified request by its signature, so that
	// a request captured and sent again within its window acts at most
	// once; nil remembers none.
	Requests RequestClaims
}

// RequestClaims keeps the entries of the requests already verified: the
// Responder's claims (incident.Claims), one entry per signature.
type RequestClaims interface {
	Claim(ctx context.Context, key, by string, now, until time.Time) (incident.Entry, bool, error)
}

// requestClaimMargin is how long a request's entry outlives the window in
// which its signature is accepted: the clock skew between instances.
const requestClaimMargin = time.Minute

// AlreadyHandled answers a request whose signature was seen before: a
// replay, answered 200 without acting.
const AlreadyHandled = "already handled"

type handler struct {
	requests  RequestClaims
	secrets   [][]byte
	workspace func(ctx context.Context) (Workspace, error)
	actions   Actions
	now       func() time.Time
	budget    time.Duration
	client    *http.Client
	hooks     responseURLRule
}

// NewInteractivityHandler returns the HTTP handler of PathInteractions and
// PathCommands.
func NewInteractivityHandler(c InteractivityConfig) http.Handler {
	h := &handler{
		secrets: c.Secrets, workspace: c.Workspace, actions: c.Actions, now: c.Now,
		budget: c.Budget, client: c.HTTPClient, hooks: newResponseURLRule(c.APIURL),
		requests: c.Requests,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.budget <= 0 {
		h.budget = DefaultInteractivityBudget
	}
	if h.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// A kept-alive connection's goroutines would outlive the
		// request, and after the answer Cloud Run throttles the CPU
		// they would need: one connection per post.
		tr.DisableKeepAlives = true
		h.client = &http.Client{Transport: tr, Timeout: responseURLTimeout}
	}
	// A response_url that redirects would send the answer to a host the
	// rule did not check.
	client := *h.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h.client = &client
	return h
}

// reqLog collects the Slack fields of the request's log line. It holds
// no message text, user input or token.
type reqLog struct {
	kind       string // interaction type, or "command"
	actionID   string
	callbackID string
	command    string
	teamID     string
	userID     string
	// posted is the status of the response_url post; 0: none.
	posted  int
	timeout bool
	// replay is set for a request whose signature was seen before.
	replay bool
	err    error
}

// InteractivityEndpoint is what the Slack endpoints accept; the handler
// is served behind endpoint.Chain with it, which answers 405 to another
// method and 413 to a body over MaxInteractivityBody.
var InteractivityEndpoint = endpoint.Spec{
	Name: "slack request", Method: http.MethodPost, MethodHint: "Slack requests are POSTed", MaxBody: MaxInteractivityBody,
}

// ServeHTTP answers 200 when done or refused with a reason (a command's
// or a submission's answer in the body, a click's or shortcut's through
// its response_url; a user of another organisation is refused so), or
// AlreadyHandled without acting to a replayed request ·
// 400 malformed signed body · 401 missing or invalid signature or stale
// timestamp · 403 a request for another workspace · 404 another path ·
// 503 the workspace could not be checked or the request not recorded.
// Behind endpoint.Chain with
// InteractivityEndpoint, also 405 not POST, 413 body over
// MaxInteractivityBody and 500 a bug (a recovered panic).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rl := &reqLog{}
	defer func() { endpoint.Annotate(r.Context(), "", rl.err, rl.attrs()...) }()
	status, msg := h.serve(w, r, rl, start)
	if msg != "" {
		http.Error(w, msg, status)
	}
}

// serve handles the request. It returns the status and, for a failure,
// the message to answer with; a success has written its answer.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, rl *reqLog, start time.Time) (int, string) {
	if r.URL.Path != PathInteractions && r.URL.Path != PathCommands {
		return http.StatusNotFound, "not found"
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, "could not read body"
	}
	if err := VerifyRequest(h.secrets, r.Header, body, h.now()); err != nil {
		rl.err = err
		return http.StatusUnauthorized, err.Error()
	}
	// Slack hanging up must not cut an action off between a PagerDuty
	// call and its answer: the budget alone bounds the work, recording
	// the request included, counted from the request's start like
	// Slack's 3 s.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), start.Add(h.budget))
	defer cancel()
	if status, msg := h.once(ctx, r.Header, rl); status != 0 {
		if status == http.StatusOK {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, msg)
			return status, ""
		}
		return status, msg
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		rl.err = fmt.Errorf("%w: body is not a form", ErrMalformed)
		return http.StatusBadRequest, rl.err.Error()
	}
	if r.URL.Path == PathCommands {
		return h.command(ctx, w, form, rl)
	}
	return h.interaction(ctx, w, form, rl, start)
}

func (h *handler) command(ctx context.Context, w http.ResponseWriter, form url.Values, rl *reqLog) (int, string) {
	cmd, err := ParseCommand(form)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, err.Error()
	}
	rl.kind, rl.command, rl.teamID, rl.userID = "command", cmd.Command, cmd.TeamID, cmd.UserID
	if _, status, msg := h.checkTeam(ctx, cmd.TeamID, rl); status != 0 {
		return status, msg
	}
	ans := h.actions.Command(ctx, cmd)
	rl.timeout = ctx.Err() != nil
	if ans.Text == "" {
		w.WriteHeader(http.StatusOK)
		return http.StatusOK, ""
	}
	writeJSON(w, struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}{"ephemeral", ans.Text})
	return http.StatusOK, ""
}

func (h *handler) interaction(ctx context.Context, w http.ResponseWriter, form url.Values, rl *reqLog, start time.Time) (int, string) {
	in, err := ParseInteraction(form)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, err.Error()
	}
	rl.kind, rl.actionID, rl.callbackID, rl.teamID, rl.userID = in.Type, in.Action.ID, in.CallbackID, in.TeamID, in.UserID
	switch in.Type {
	case TypeBlockActions, TypeMessageAction, TypeViewSubmission:
	default:
		w.WriteHeader(http.StatusOK)
		return http.StatusOK, ""
	}
	ws, status, msg := h.checkTeam(ctx, in.TeamID, rl)
	if status != 0 {
		return status, msg
	}
	var ans Answer
	if in.UserTeamID != "" && !ws.Owns(in.UserTeamID) {
		// A user of another organisation in a shared channel: the
		// request is for this workspace, but the person is not its own.
		rl.err = fmt.Errorf("user of team %s refused: not the workspace's own", in.UserTeamID)
		ans = Answer{Text: incident.ExternalUserText}
	} else {
		ans = h.actions.Interact(ctx, in)
	}
	rl.timeout = ctx.Err() != nil
	if ans.Text != "" && in.ResponseURL != "" {
		// Before answering: once answered, the instance may get no CPU
		// to post with.
		var err error
		rl.posted, err = h.respond(context.WithoutCancel(ctx), start, in.ResponseURL, ans.Text)
		rl.err = errors.Join(rl.err, err)
	}
	if in.Type == TypeViewSubmission && len(ans.ViewErrors) > 0 {
		writeJSON(w, struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}{"errors", ans.ViewErrors})
		return http.StatusOK, ""
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK, ""
}

// once claims the verified request by its signature: Slack signs each
// request anew (its timestamp and body), so a second request with the
// same signature is a replay of the first, answered 200 AlreadyHandled
// without acting. The claim lives as long as the signature is accepted
// (MaxClockSkew either side of its timestamp) and a margin for skew. It
// returns 0 when the request may go on, or 503 when the claim could not
// be recorded: acting unrecorded would let a replay act too.
func (h *handler) once(ctx context.Context, header http.Header, rl *reqLog) (int, string) {
	if h.requests == nil {
		return 0, ""
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(header.Get(HeaderTimestamp)), 10, 64)
	if err != nil {
		// VerifyRequest accepted it: not reached.
		return http.StatusUnauthorized, ErrBadTimestamp.Error()
	}
	until := time.Unix(secs, 0).Add(MaxClockSkew + requestClaimMargin)
	// Keyed by the signature's bytes, not its text: hex decodes alike in
	// either case, so a replay with recased letters still verifies.
	key := "request:" + strings.ToLower(strings.TrimSpace(header.Get(HeaderSignature)))
	_, ok, err := h.requests.Claim(ctx, key, incident.NewOwner(), h.now(), until)
	switch {
	case err != nil:
		rl.err = fmt.Errorf("record the request: %w", err)
		return http.StatusServiceUnavailable, "could not record the request; try again"
	case !ok:
		rl.replay = true
		return http.StatusOK, AlreadyHandled
	}
	return 0, ""
}

// checkTeam refuses a request for a workspace other than the bot
// token's: 403, or 503 when the token's workspace cannot be learnt. It
// returns the workspace and status 0 when the request may go on.
func (h *handler) checkTeam(ctx context.Context, teamID string, rl *reqLog) (Workspace, int, string) {
	ws, err := h.workspace(ctx)
	if err != nil {
		rl.err = fmt.Errorf("team of the bot token: %w", err)
		return ws, http.StatusServiceUnavailable, "could not check the workspace; try again"
	}
	if !ws.Owns(teamID) {
		rl.err = fmt.Errorf("request from team %s, the bot token's is %s", teamID, ws.TeamID)
		return ws, http.StatusForbidden, fmt.Sprintf("this app acts only in workspace %s; the request came from %s", ws.TeamID, teamID)
	}
	return ws, 0, ""
}

// respond posts text, ephemeral, to a response_url within what is left of
// Slack's wait for the request begun at start, and returns the answer's
// status.
func (h *handler) respond(ctx context.Context, start time.Time, responseURL, text string) (int, error) {
	u, err := h.hooks.check(responseURL)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithDeadline(ctx, start.Add(SlackTimeout-answerMargin))
	defer cancel()
	body, err := json.Marshal(struct {
		ResponseType    string `json:"response_type"`
		ReplaceOriginal bool   `json:"replace_original"`
		Text            string `json:"text"`
	}{"ephemeral", false, text})
	if err != nil {
		return 0, fmt.Errorf("response_url: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("response_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		// The URL's path is a credential of sorts: name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("response_url post to %s failed: %w", u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseURLBody))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("response_url post to %s answered %d", u.Host, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// attrs are the Slack fields of the request's log line.
func (rl *reqLog) attrs() []slog.Attr {
	var attrs []slog.Attr
	for _, f := range []struct{ key, value string }{
		{"interaction_type", rl.kind}, {"action_id", rl.actionID}, {"callback_id", rl.callbackID},
		{"command", rl.command}, {"team_id", rl.teamID}, {"user_id", rl.userID},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String(f.key, f.value))
		}
	}
	if rl.posted != 0 {
		attrs = append(attrs, slog.Int("response_url_status", rl.posted))
	}
	if rl.timeout {
		attrs = append(attrs, slog.Bool("budget_exceeded", true))
	}
	if rl.replay {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	return attrs
}
