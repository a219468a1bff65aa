package incident

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	start := time.Now()
	rl := &reqLog{webhook: r.Header.Get(HeaderWebhookID)}
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
	ctx, cancel := context.WithTimeout(r.Context(), h.budget)
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
