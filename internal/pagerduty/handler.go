package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/endpoint"
)

// DefaultBudget is how long a request may work before answering. PagerDuty
// waits 5 s for a 2xx; what is unfinished by then is answered with 503 and
// resumed by the redelivery.
const DefaultBudget = 3500 * time.Millisecond

// Service handles one parsed event; *incident.Service is the one the
// function uses. It returns incident.ErrPanic for a recovered bug and
// any other error for work a redelivery may finish.
type Service interface {
	Handle(ctx context.Context, ev *incident.Event) (incident.Result, error)
}

// Checker proves that what the service depends on answers (Slack takes
// the token, the store reads). The handler asks it when PagerDuty sends
// pagey.ping, its test event, so that a ping's 2xx means a deploy works.
type Checker interface {
	Check(ctx context.Context) error
}

// HandlerConfig is what a Handler is made of.
type HandlerConfig struct {
	// Secrets are the accepted signing secrets (several during rotation).
	Secrets [][]byte
	// Service handles every signed, well-formed event but pagey.ping.
	Service Service
	// Checker answers pagey.ping: 200 when it passes, 503 naming what
	// failed otherwise. Without one, a ping goes to Service like any event.
	Checker Checker
	// Budget bounds the work of one request; 0 means DefaultBudget.
	Budget time.Duration
}

// Endpoint is what the webhook endpoint accepts; the handler is served
// behind endpoint.Chain with it, which answers 405 to another method
// and 413 to a body over MaxBodyBytes.
var Endpoint = endpoint.Spec{
	Name: "webhook", Method: http.MethodPost, MethodHint: "PagerDuty webhooks are POSTed", MaxBody: MaxBodyBytes,
}

// Handler is the webhook endpoint: verify, parse, handle, answer.
type Handler struct {
	secrets [][]byte
	svc     Service
	check   Checker
	budget  time.Duration
}

// NewHandler returns the HTTP handler for PagerDuty V3 webhooks.
func NewHandler(cfg HandlerConfig) *Handler {
	h := &Handler{secrets: cfg.Secrets, svc: cfg.Service, check: cfg.Checker, budget: cfg.Budget}
	if h.budget <= 0 {
		h.budget = DefaultBudget
	}
	return h
}

// reqLog collects the webhook's fields of the request's log line.
type reqLog struct {
	msg     string
	ev      *incident.Event
	res     incident.Result
	err     error
	webhook string
	// ignored are the paths of the fields Parse left at their zero value.
	ignored []string
}

// ServeHTTP answers 2xx processed, ignored or a ping whose checks passed ·
// 401 missing or invalid signature · 400 malformed (signed) body · 503
// retryable failure or failed ping check, with Retry-After when the
// failure carried one · 500 for a bug (a recovered panic). Behind
// endpoint.Chain with Endpoint, also 405 not POST and 413 body over
// 256 KiB.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rl := &reqLog{webhook: r.Header.Get(HeaderWebhookID)}
	defer func() { endpoint.Annotate(r.Context(), rl.msg, rl.err, rl.attrs()...) }()
	var status int
	status, rl.msg = h.serve(w, r, rl)
	http.Error(w, rl.msg, status)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rl *reqLog) (int, string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, "could not read body"
	}
	if err := VerifySignature(body, r.Header.Get(HeaderSignature), h.secrets); err != nil {
		rl.err = err
		return http.StatusUnauthorized, err.Error()
	}
	ev, ignored, err := Parse(body)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, err.Error()
	}
	rl.ev, rl.ignored = ev, ignored
	// PagerDuty hanging up must not cut the work off between a Slack call
	// and recording it: the budget alone bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.budget)
	defer cancel()
	if ev.Type == incident.EventPing && h.check != nil {
		if err := h.check.Check(ctx); err != nil {
			rl.err = fmt.Errorf("ping: %w", err)
			return unavailable(w, err), "ping failed: " + err.Error()
		}
		return http.StatusOK, "ping ok"
	}
	rl.res, err = h.svc.Handle(ctx, ev)
	if errors.Is(err, incident.ErrPanic) {
		rl.err = err
		return http.StatusInternalServerError, "internal error"
	}
	if err != nil {
		rl.err = err
		return unavailable(w, err), "not finished; redeliver"
	}
	return http.StatusOK, string(rl.res.Outcome)
}

// unavailable sets the Retry-After a failure carried and returns 503.
// Every failure after a valid, signed body is worth a redelivery: a 4xx
// would make PagerDuty drop the event, and three drops in a row disable
// the subscription.
func unavailable(w http.ResponseWriter, err error) int {
	if d := incident.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(d))
	}
	return http.StatusServiceUnavailable
}

// retryAfterSeconds formats d as a Retry-After value: whole seconds,
// rounded up so the sender never comes back early.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// attrs are the webhook's fields of the request's log line.
func (rl *reqLog) attrs() []slog.Attr {
	var attrs []slog.Attr
	if rl.webhook != "" {
		attrs = append(attrs, slog.String("webhook_id", rl.webhook))
	}
	if ev := rl.ev; ev != nil {
		attrs = append(attrs, slog.String("event_id", ev.ID), slog.String("event_type", ev.Type))
		if ev.IncidentID != "" {
			attrs = append(attrs, slog.String("incident_id", ev.IncidentID))
		}
	}
	if len(rl.ignored) > 0 {
		// Names only: the values may be anything a sender put there.
		attrs = append(attrs, slog.Group("ignored_fields",
			slog.Int("count", len(rl.ignored)), slog.Any("names", rl.ignored)))
	}
	if rl.res.Outcome != "" {
		attrs = append(attrs, slog.String("outcome", string(rl.res.Outcome)))
	}
	if rl.res.ChannelID != "" {
		attrs = append(attrs, slog.String("channel_id", rl.res.ChannelID))
	}
	return attrs
}
