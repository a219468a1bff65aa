package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/incident-channels/incident-channels/internal/endpoint"
)

// HandlerConfig is what a Handler is made of.
type HandlerConfig struct {
	// Verifier checks the caller's token.
	Verifier *Verifier
	// Sweeper does the work once the caller is known.
	Sweeper Sweeper
	// Budget bounds one sweep; 0 means DefaultBudget.
	Budget time.Duration
}

// Handler is the sweep endpoint: authenticate, sweep, answer the report.
type Handler struct {
	verifier *Verifier
	sweeper  Sweeper
	budget   time.Duration
}

// NewHandler returns the HTTP handler of POST Path.
func NewHandler(cfg HandlerConfig) *Handler {
	h := &Handler{verifier: cfg.Verifier, sweeper: cfg.Sweeper, budget: cfg.Budget}
	if h.budget <= 0 {
		h.budget = DefaultBudget
	}
	return h
}

// authAnswers map each token error to its status.
var authAnswers = []struct {
	err    error
	status int
}{
	{ErrNoToken, http.StatusUnauthorized},
	{ErrMalformedToken, http.StatusUnauthorized},
	{ErrBadSignature, http.StatusUnauthorized},
	{ErrIssuer, http.StatusUnauthorized},
	{ErrExpired, http.StatusUnauthorized},
	{ErrAudience, http.StatusForbidden},
	{ErrInvoker, http.StatusForbidden},
	{ErrUnverifiedEmail, http.StatusForbidden},
	{ErrKeysUnavailable, http.StatusServiceUnavailable},
}

// authAnswer returns the status and text answering a token error: the
// sentinel's text, without the details (what was expected) that only the
// log gets.
func authAnswer(err error) (int, string) {
	for _, a := range authAnswers {
		if errors.Is(err, a.err) {
			return a.status, a.err.Error()
		}
	}
	return http.StatusUnauthorized, "invalid ID token"
}

// reqLog collects the sweep's fields of the request's log line.
type reqLog struct {
	status  int
	msg     string
	invoker string
	report  *Report
	err     error
}

// Endpoint is what the sweep endpoint accepts; the handler is served
// behind endpoint.Chain with it, which answers 405 to another method and
// 413 to a body over 64 KiB (Cloud Scheduler's job sends none).
var Endpoint = endpoint.Spec{
	Name: "sweep", Method: http.MethodPost, MethodHint: "the sweep is POSTed", MaxBody: 64 << 10,
}

// ServeHTTP answers POST Path: 200 with the report as JSON · 401 without
// a valid Google ID token · 403 with one for another audience or account,
// or an unverified email · 503 when Google's keys could not be fetched,
// or when the sweep failed (the report so far and the error, as JSON).
// Behind endpoint.Chain with Endpoint, also 405 not a POST and 500 for a
// bug (a recovered panic).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rl := &reqLog{}
	defer func() { endpoint.Annotate(r.Context(), rl.msg, rl.err, rl.attrs()...) }()
	h.serve(w, r, rl)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rl *reqLog) {
	claims, err := h.verifier.Verify(r.Context(), r.Header.Get(HeaderAuthorization))
	rl.invoker = claims.Email
	if err != nil {
		rl.err = err
		rl.status, rl.msg = authAnswer(err)
		if rl.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		http.Error(w, rl.msg, rl.status)
		return
	}
	// Cloud Scheduler giving up must not cut the work off between a Slack
	// call and recording it: the budget alone bounds it.
	report, err := Run(context.WithoutCancel(r.Context()), h.sweeper, h.budget)
	rl.report = &report
	a := answer{
		Due: report.Due, Archived: report.Archived, Failed: report.Failed, Left: report.Left, Reminded: report.Reminded,
		DurationMS: milliseconds(report.Duration),
	}
	rl.status, rl.msg = http.StatusOK, "done"
	if err != nil {
		rl.err = err
		rl.status, rl.msg, a.Error = http.StatusServiceUnavailable, "not finished", err.Error()
	}
	body, _ := json.Marshal(a) // numbers and strings: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(rl.status)
	_, _ = w.Write(append(body, '\n'))
}

// answer is the JSON body answering a sweep: its report, and its error
// when it failed.
type answer struct {
	Due        int     `json:"due"`
	Archived   int     `json:"archived"`
	Failed     int     `json:"failed"`
	Left       int     `json:"left"`
	Reminded   int     `json:"reminded"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// attrs are the sweep's fields of the request's log line.
func (rl *reqLog) attrs() []slog.Attr {
	var attrs []slog.Attr
	if rl.invoker != "" {
		attrs = append(attrs, slog.String("invoker", rl.invoker))
	}
	if rl.report != nil {
		attrs = append(attrs, rl.report.LogAttrs()...)
	}
	return attrs
}
