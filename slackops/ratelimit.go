package slackops

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimits remembers what Slack said with a 429: that a method (for
// chat.postMessage, the method in one channel) takes no
// calls until a time. Until it passes, the Client sends no call of that
// method: it answers at once as Slack would (a rate-limited error with
// the time left), so an instance never hammers a rate-limited Slack, and
// the function answers PagerDuty 503 with Retry-After or puts the step off.
// An implementation shared by all instances (store.RateLimits) lets one
// instance's 429 hold back the others.
type RateLimits interface {
	// Until returns when key's limit ends; the zero time when none is
	// known.
	Until(ctx context.Context, key string) time.Time
	// Limited records that key is limited until then.
	Limited(ctx context.Context, key string, until time.Time)
}

// MemoryRateLimits is a RateLimits of one process. The zero value is ready.
type MemoryRateLimits struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// Until implements RateLimits.
func (m *MemoryRateLimits) Until(_ context.Context, key string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until[key]
}

// Limited implements RateLimits.
func (m *MemoryRateLimits) Limited(_ context.Context, key string, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.until == nil {
		m.until = map[string]time.Time{}
	}
	if until.After(m.until[key]) {
		m.until[key] = until
	}
}

// limitTransport holds back calls of a rate-limited method and records
// Slack's 429 answers, under every Client call at once.
type limitTransport struct {
	next   http.RoundTripper
	limits RateLimits
	now    func() time.Time

	// probing holds the keys with a call in flight while they cool down:
	// for as long again as Slack's last wait after it ends, a key takes
	// one call at a time, or the calls that waited would all go at once
	// and most be refused again.
	mu      sync.Mutex
	probing map[string]bool
	// waited is, per key, the last wait Slack asked this client for.
	waited map[string]time.Duration
}

// perChannel are the methods Slack limits per channel rather than per
// workspace (chat.postMessage: about one a second in each channel).
var perChannel = map[string]bool{"chat.postMessage": true}

// limitKey is the key a request's rate limit is remembered under.
func limitKey(req *http.Request) string {
	method := path.Base(req.URL.Path)
	if !perChannel[method] || req.GetBody == nil {
		return method
	}
	body, err := req.GetBody()
	if err != nil {
		return method
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return method
	}
	q, err := url.ParseQuery(string(b))
	if err != nil || q.Get("channel") == "" {
		return method
	}
	return method + " " + q.Get("channel")
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := limitKey(req)
	now := t.now()
	until := t.limits.Until(req.Context(), key)
	if until.After(now) {
		return heldBack(req, until.Sub(now)), nil
	}
	if !until.IsZero() && now.Before(until.Add(t.cooldown(key))) {
		// The limit ended a moment ago: one call at a time.
		if !t.startProbe(key) {
			return heldBack(req, time.Second), nil
		}
		defer t.endProbe(key)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		t.setCooldown(key, time.Duration(s)*time.Second)
		// Recorded even when the request's own context is ending: the
		// next call, of any request, must know.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), limitWriteTimeout)
		t.limits.Limited(ctx, key, now.Add(time.Duration(s)*time.Second))
		cancel()
	}
	return resp, nil
}

func (t *limitTransport) startProbe(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.probing[key] {
		return false
	}
	if t.probing == nil {
		t.probing = map[string]bool{}
	}
	t.probing[key] = true
	return true
}

// cooldown is how long after its limit ends key takes one call at a
// time: as long as Slack's last wait, or a second when another instance
// said it.
func (t *limitTransport) cooldown(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.waited[key]; ok {
		return d
	}
	return time.Second
}

func (t *limitTransport) setCooldown(key string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waited == nil {
		t.waited = map[string]time.Duration{}
	}
	t.waited[key] = d
}

func (t *limitTransport) endProbe(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.probing, key)
}

// limitWriteTimeout bounds recording a 429 where all instances see it.
const limitWriteTimeout = 300 * time.Millisecond

// heldBack is the answer to a call not sent because its method is rate
// limited for wait more: a 429 with Retry-After, as Slack would give.
func heldBack(req *http.Request, wait time.Duration) *http.Response {
	secs := int(math.Ceil(wait.Seconds()))
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set(HeaderHeldBack, "1")
	body := `{"ok":false,"error":"ratelimited"}`
	return &http.Response{
		Status: "429 Too Many Requests", StatusCode: http.StatusTooManyRequests,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req,
	}
}

// HeaderHeldBack marks a 429 the Client made up without calling Slack.
const HeaderHeldBack = "X-Incident-Channels-Held-Back"
