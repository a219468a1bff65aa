package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/reqbody"
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
	// Log gets one line per request; nil discards them.
	Log *slog.Logger
	// Budget bounds the work of one request; 0 means DefaultBudget.
	Budget time.Duration
	// TraceProject, when set, is the Google Cloud project whose traces the
	// request logs refer to (logging.googleapis.com/trace, from
	// X-Cloud-Trace-Context or traceparent), so a request's lines group
	// under its trace. Without it the field is left out.
	TraceProject string
}

// Handler is the webhook endpoint: verify, parse, handle, answer.
type Handler struct {
	secrets      [][]byte
	svc          Service
	check        Checker
	log          *slog.Logger
	budget       time.Duration
	traceProject string
}

// NewHandler returns the HTTP handler for PagerDuty V3 webhooks.
func NewHandler(cfg HandlerConfig) *Handler {
	h := &Handler{
		secrets: cfg.Secrets, svc: cfg.Service, check: cfg.Checker,
		log: cfg.Log, budget: cfg.Budget, traceProject: cfg.TraceProject,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.budget <= 0 {
		h.budget = DefaultBudget
	}
	return h
}

// trace returns the Cloud Logging trace name of the request, or "".
func (h *Handler) trace(r *http.Request) string {
	if h.traceProject == "" {
		return ""
	}
	id := ""
	if v := r.Header.Get("X-Cloud-Trace-Context"); v != "" {
		id, _, _ = strings.Cut(v, "/")
	} else if v := r.Header.Get("Traceparent"); v != "" {
		// version-traceid-spanid-flags
		if parts := strings.Split(v, "-"); len(parts) == 4 {
			id = parts[1]
		}
	}
	if id == "" || len(id) > 64 || strings.Trim(id, "0123456789abcdefABCDEF") != "" {
		return ""
	}
	return "projects/" + h.traceProject + "/traces/" + id
}

// reqLog collects the fields of the one log line written per request.
type reqLog struct {
	trace   string
	status  int
	msg     string
	ev      *incident.Event
	res     incident.Result
	err     error
	webhook string
	// ignored are the paths of the fields Parse left at their zero value.
	ignored []string
}

// ServeHTTP answers 2xx processed, ignored or a ping whose checks passed ·
// 401 missing or invalid signature · 400 malformed (signed) body · 405 not
// POST · 413 body over 256 KiB · 503 retryable failure or failed ping
// check, with Retry-After when the failure carried one · 500 for a bug (a
// recovered panic).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rl := &reqLog{webhook: r.Header.Get(HeaderWebhookID), trace: h.trace(r)}
	defer func() {
		if p := recover(); p != nil {
			rl.status, rl.msg, rl.err = http.StatusInternalServerError, "internal error", fmt.Errorf("panic: %v", p)
			http.Error(w, rl.msg, rl.status)
		}
		h.logRequest(r.Context(), rl, time.Since(start))
	}()
	rl.status, rl.msg = h.serve(w, r, rl)
	http.Error(w, rl.msg, rl.status)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rl *reqLog) (int, string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, "method not allowed: PagerDuty webhooks are POSTed"
	}
	body, status, msg, err := reqbody.Read(w, r, MaxBodyBytes)
	if status != http.StatusOK {
		rl.err = err
		return status, msg
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

func (h *Handler) logRequest(ctx context.Context, rl *reqLog, d time.Duration) {
	attrs := []slog.Attr{
		slog.Int("status", rl.status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	if rl.webhook != "" {
		attrs = append(attrs, slog.String("webhook_id", rl.webhook))
	}
	if rl.trace != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/trace", rl.trace))
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
	level := slog.LevelInfo
	if rl.err != nil {
		attrs = append(attrs, slog.String("error", rl.err.Error()))
		var op interface{ Operation() string }
		if errors.As(rl.err, &op) {
			attrs = append(attrs, slog.String("failed_call", op.Operation()))
		}
		level = slog.LevelWarn
		if rl.status >= 500 && rl.status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
	}
	h.log.LogAttrs(ctx, level, "webhook "+rl.msg, attrs...)
}
