package incident

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// DefaultBudget is how long a request may work before answering. PagerDuty
// waits 5 s for a 2xx; what is unfinished by then is answered with 503 and
// resumed by the redelivery.
const DefaultBudget = 3500 * time.Millisecond

// Handler is the webhook endpoint: verify, parse, handle, answer.
type Handler struct {
	secrets [][]byte
	svc     *Service
	log     *slog.Logger
	budget  time.Duration
	// traceProject, when set, lets request logs carry Cloud Logging's
	// trace field, so a request's lines group under its trace.
	traceProject string
}

// SetTraceProject sets the Google Cloud project whose traces the request
// logs refer to (logging.googleapis.com/trace, from X-Cloud-Trace-Context
// or traceparent). Without it the field is left out.
func (h *Handler) SetTraceProject(project string) { h.traceProject = project }

// HealthPath answers GET with 200 and touches nothing: no Slack, no
// store, no configuration revealed.
const HealthPath = "/healthz"

// ServeHealth answers a health check and reports whether r was one.
func ServeHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != HealthPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, "ok\n")
	}
	return true
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

// NewHandler returns the HTTP handler for PagerDuty V3 webhooks. secrets are
// the accepted signing secrets (several during rotation).
func NewHandler(secrets [][]byte, svc *Service, log *slog.Logger, budget time.Duration) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if budget <= 0 {
		budget = DefaultBudget
	}
	return &Handler{secrets: secrets, svc: svc, log: log, budget: budget}
}

// reqLog collects the fields of the one log line written per request.
type reqLog struct {
	trace   string
	status  int
	msg     string
	ev      *Event
	res     Result
	err     error
	webhook string
}

// ServeHTTP answers 2xx processed or ignored · 401 missing or invalid
// signature · 400 malformed (signed) body · 405 not POST · 413 body over
// 256 KiB · 503 retryable failure · 500 for a bug (a recovered panic).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ServeHealth(w, r) {
		return
	}
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
	if r.ContentLength > MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBodyBytes)
		}
		rl.err = err
		return http.StatusBadRequest, "could not read body"
	}
	if err := VerifySignature(body, r.Header.Get(HeaderSignature), h.secrets); err != nil {
		rl.err = err
		return http.StatusUnauthorized, err.Error()
	}
	ev, err := Parse(body)
	if err != nil {
		rl.err = err
		return http.StatusBadRequest, err.Error()
	}
	rl.ev = ev
	// PagerDuty hanging up must not cut the work off between a Slack call
	// and recording it: the budget alone bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.budget)
	defer cancel()
	rl.res, err = h.svc.Handle(ctx, ev)
	if errors.Is(err, ErrPanic) {
		rl.err = err
		return http.StatusInternalServerError, "internal error"
	}
	if err != nil {
		rl.err = err
		// Every failure after a valid, signed body is worth a redelivery:
		// a 4xx would make PagerDuty drop the event, and three drops in a
		// row disable the subscription.
		return http.StatusServiceUnavailable, "not finished; redeliver"
	}
	return http.StatusOK, string(rl.res.Outcome)
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
		switch {
		case rl.status >= 500:
			level = slog.LevelError
			if rl.status == http.StatusServiceUnavailable {
				level = slog.LevelWarn
			}
		default:
			level = slog.LevelWarn
		}
	}
	h.log.LogAttrs(ctx, level, "webhook "+rl.msg, attrs...)
}
