package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/internal/config"
	"github.com/incident-channels/incident-channels/internal/sweep"
)

// buildFunc makes the function's handler from a valid configuration:
// New, or a stand-in in tests.
type buildFunc func(context.Context, Config, *slog.Logger) (*Handler, error)

// Function is the HTTP function of one process: the configuration, read
// and checked once when the process starts, and the handler built from
// it.
//
// Configuration problems are logged at start in one line naming every one,
// kept for good (the environment does not change while the process runs)
// and reported on every request: 503, so PagerDuty keeps the events and
// redelivers them once the configuration is fixed, and by /healthz. Any
// other setup error (the Firestore client could not be made, say, while
// the metadata server was unreachable) is tried again, at most every
// retry, so a passing failure does not leave an instance answering 503
// until it is replaced.
type Function struct {
	log      *slog.Logger
	cfg      Config
	problems error
	build    buildFunc
	retry    time.Duration

	mu      sync.Mutex
	handler *Handler
	lastErr error
	lastTry time.Time
}

// Start reads and checks the configuration through getenv, logs its
// problems or what it leaves off, and builds the handler: what a process
// serving the function does once, when it starts.
func Start(getenv func(string) string, log *slog.Logger) *Function {
	return start(getenv, log, New)
}

func start(getenv func(string) string, log *slog.Logger, build buildFunc) *Function {
	f := &Function{log: log, build: build, retry: setupRetry}
	f.cfg.Config, f.problems = config.Load(getenv)
	if f.problems != nil {
		log.Error("configuration problems: every request is answered 503 until they are fixed",
			"problems", config.Problems(f.problems))
		return f
	}
	for _, n := range config.Notices(f.cfg.Config) {
		log.Info(n)
	}
	h, err := f.webhook()
	if err != nil {
		log.Error("setup failed: tried again on the next request", "error", err.Error())
		return f
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedCheckTimeout)
	defer cancel()
	h.checkSharedChannels(ctx, log)
	return f
}

// webhook returns the handler, building it again when the last attempt
// failed at least f.retry ago.
func (f *Function) webhook() (*Handler, error) {
	if f.problems != nil {
		return nil, f.problems
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.handler != nil:
		return f.handler, nil
	case f.lastErr != nil && time.Since(f.lastTry) < f.retry:
		return nil, f.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	f.lastTry = time.Now()
	f.handler, f.lastErr = f.build(ctx, f.cfg, f.log)
	return f.handler, f.lastErr
}

// unready is what an unauthenticated caller is told while the function
// cannot serve: that it cannot, and where the reason is. The reason itself
// (the configuration's problems, which name variables, or the setup
// error) goes only to the log: a public URL tells nobody how the function
// is configured.
func (f *Function) unready() string {
	if f.problems != nil {
		return "not configured: the function's log names the problems"
	}
	return "setup failed: the function's log has the error"
}

// healthPath is the path of the health check.
const healthPath = "/healthz"

// ServeHTTP answers GET /healthz, and hands everything else to the
// function's Handler once it is set up; until then it answers 503.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		f.serveHealth(w, r)
		return
	}
	h, err := f.webhook()
	if err != nil {
		f.log.ErrorContext(r.Context(), "not set up: answered 503", "error", err.Error())
		http.Error(w, f.unready(), http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// serveHealth answers 200 "ok" when the function is set up, else a bare
// 503 (the reason was logged at start, or by the failed setup). It calls
// neither Slack nor the store (pagey.ping does) and logs nothing, so
// uptime checks cost nothing.
func (f *Function) serveHealth(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusOK, "ok"
	if _, err := f.webhook(); err != nil {
		status, body = http.StatusServiceUnavailable, f.unready()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, body+"\n")
	}
}

// Sweep runs the function's sweep once, without a token: cmd/local -sweep
// calls it on an interval. It fails like a request would while the
// function is not set up (the configuration's problems, or the setup
// error), and with ErrSweepNotConfigured without ARCHIVE_AFTER.
func (f *Function) Sweep(ctx context.Context) (sweep.Report, error) {
	h, err := f.webhook()
	if err != nil {
		return sweep.Report{}, err
	}
	return h.Sweep(ctx)
}

// setupRetry spaces attempts of a failed setup; setupTimeout bounds one;
// sharedCheckTimeout bounds the check of the announce and post_to
// channels' sharing at start.
const (
	setupRetry         = 5 * time.Second
	setupTimeout       = 2 * time.Second
	sharedCheckTimeout = 2 * time.Second
)
