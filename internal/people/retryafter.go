package people

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// retryAfterKey is the context key of the *time.Duration a request's
// rate-limit wait is written to: go-pagerduty's APIError keeps no headers.
type retryAfterKey struct{}

// retryAfterRecorder is the go-pagerduty HTTP client: it records how long
// a 429 asks to wait in the request context's *time.Duration.
type retryAfterRecorder struct {
	next pagerduty.HTTPClient
}

// Do sends req, recording the wait of a 429 answer.
func (c retryAfterRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if p, ok := req.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			*p = retryAfter(resp.Header, time.Now())
		}
	}
	return resp, err
}

// retryAfter is how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else PagerDuty's ratelimit-reset (seconds); 0 when neither
// says.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now).Round(time.Second)
		}
	}
	if v := strings.TrimSpace(h.Get("Ratelimit-Reset")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}
