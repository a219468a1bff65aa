// Package endpoint is the one middleware chain every HTTP endpoint of the
// function is served through: recover from a panic (500 and a log line),
// one log line per request, the body limit, the method check. The
// endpoints (PagerDuty's webhook, Slack's requests, the sweep) say what
// they accept in a Spec and add their own fields to the request's log
// line with Annotate; what is the same for all of them is done here once.
package endpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Spec is what one endpoint accepts.
type Spec struct {
	// Name starts the messages of the endpoint's log lines ("webhook
	// processed", "sweep done").
	Name string
	// Method is the one method served; any other is answered 405 with
	// Allow.
	Method string
	// MethodHint follows "method not allowed: " in a 405's body.
	MethodHint string
	// MaxBody bounds the body: a larger one is answered 413, refused
	// without being read when Content-Length says so. The handler reads
	// the body, in full, from the request as usual.
	MaxBody int64
}

// Chain serves endpoints with what every one of them needs.
type Chain struct {
	// Log gets one line per request; nil discards them.
	Log *slog.Logger
	// TraceProject, when set, is the Google Cloud project whose traces the
	// log lines refer to (logging.googleapis.com/trace, from
	// X-Cloud-Trace-Context or traceparent), so a request's lines group
	// under its trace. Without it the field is left out.
	TraceProject string
}

// Serve returns h behind the chain: a request with another method than
// s.Method is answered 405, one with a body over s.MaxBody 413, one whose
// body could not be read 400, and a panic in h 500 (when h has not
// answered yet). Every request gets one log line: the endpoint's name and
// outcome, status, duration, trace and what h added with Annotate; INFO,
// WARNING with an error, ERROR with an error and a 5xx other than 503.
func (c Chain) Serve(s Spec, h http.Handler) http.Handler {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &line{trace: trace(c.TraceProject, r)}
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				l.outcome, l.err = "internal error", fmt.Errorf("panic: %v", p)
				if rw.status == 0 {
					http.Error(rw, l.outcome, http.StatusInternalServerError)
				}
			}
			l.write(r.Context(), log, s.Name, rw.status, time.Since(start))
		}()
		if r.Method != s.Method {
			w.Header().Set("Allow", s.Method)
			l.outcome = "method not allowed: " + s.MethodHint
			http.Error(rw, l.outcome, http.StatusMethodNotAllowed)
			return
		}
		body, status, err := readBody(w, r, s.MaxBody)
		if status != http.StatusOK {
			l.outcome, l.err = "could not read body", err
			if status == http.StatusRequestEntityTooLarge {
				l.outcome = fmt.Sprintf("body over %d bytes", s.MaxBody)
			}
			http.Error(rw, l.outcome, status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), lineKey{}, l)))
	})
}

// readBody returns r's body when it is at most max bytes; otherwise the
// status to answer: 413 for a body over max, 400 for one that could not
// be read (with the read error).
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int, error) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, nil
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	return body, http.StatusOK, nil
}

// lineKey is the context key of a request's line.
type lineKey struct{}

// line collects the one log line of a request.
type line struct {
	trace   string
	outcome string
	err     error
	attrs   []slog.Attr
}

// Annotate adds to the log line of the request ctx belongs to: the
// outcome (written after the endpoint's name; "" leaves the name alone),
// the error behind the answer, if any, and the endpoint's own fields. A
// later call's outcome and error replace an earlier's. Outside the chain
// it does nothing.
func Annotate(ctx context.Context, outcome string, err error, attrs ...slog.Attr) {
	l, ok := ctx.Value(lineKey{}).(*line)
	if !ok {
		return
	}
	l.outcome, l.err = outcome, err
	l.attrs = append(l.attrs, attrs...)
}

func (l *line) write(ctx context.Context, log *slog.Logger, name string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	attrs := append([]slog.Attr{
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}, l.attrs...)
	if l.trace != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/trace", l.trace))
	}
	level := slog.LevelInfo
	if l.err != nil {
		attrs = append(attrs, slog.String("error", l.err.Error()))
		var op interface{ Operation() string }
		if errors.As(l.err, &op) {
			attrs = append(attrs, slog.String("failed_call", op.Operation()))
		}
		level = slog.LevelWarn
		if status >= 500 && status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
	}
	msg := name
	if l.outcome != "" {
		msg += " " + l.outcome
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// trace returns the Cloud Logging trace name of the request, or "".
func trace(project string, r *http.Request) string {
	if project == "" {
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
	return "projects/" + project + "/traces/" + id
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
