package replay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// Defaults of a Sender.
const (
	// DefaultTimeout is how long PagerDuty waits for an answer.
	DefaultTimeout = 5 * time.Second
	// DefaultRetries is how often a retryable answer is retried.
	DefaultRetries = 3
	// DefaultBackoff is the first wait before a retry; it doubles.
	DefaultBackoff = 500 * time.Millisecond
	// UserAgent is the User-Agent PagerDuty's V3 webhooks send.
	UserAgent = "PagerDuty-Webhook/V3.0"
	// Subscription is the X-Webhook-Subscription header of replays.
	Subscription = "PREPLAY"
)

// Sender delivers webhooks as PagerDuty does: signed, one per POST, and
// retried with exponential backoff on 429, 5xx, timeouts and connection
// errors; any other answer is final.
type Sender struct {
	// URL is the function's URL.
	URL string
	// Secret is the signing secret.
	Secret []byte
	// Client sends the requests; nil means a client with DefaultTimeout.
	Client *http.Client
	// Retries is how many times a retryable answer is retried; 0 means
	// DefaultRetries, a negative value none.
	Retries int
	// Backoff is the first wait before a retry, doubling after each; 0
	// means DefaultBackoff.
	Backoff time.Duration
	// Delay is the pause between two deliveries.
	Delay time.Duration
}

// Try is one attempt of a delivery.
type Try struct {
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// Answer is the first line of the answer's body.
	Answer string
	// Err is why there was no answer.
	Err error
}

// String is "200 processed" or the transport error.
func (t Try) String() string {
	if t.Err != nil {
		return t.Err.Error()
	}
	if t.Answer == "" {
		return fmt.Sprint(t.Status)
	}
	return fmt.Sprintf("%d %s", t.Status, t.Answer)
}

// Result is the outcome of one delivery.
type Result struct {
	Delivery Delivery
	Tries    []Try
	Duration time.Duration
}

// OK reports whether the delivery finally got a 2xx.
func (r Result) OK() bool {
	if len(r.Tries) == 0 {
		return false
	}
	last := r.Tries[len(r.Tries)-1]
	return last.Err == nil && last.Status >= 200 && last.Status < 300
}

// String reports the delivery on one line: incident, event and every try.
func (r Result) String() string {
	d := r.Delivery
	tries := make([]string, len(r.Tries))
	for i, t := range r.Tries {
		tries[i] = t.String()
	}
	inc := d.IncidentID
	if d.Number > 0 {
		inc = fmt.Sprintf("#%d", d.Number)
	}
	return fmt.Sprintf("%-6s %-26s %s (%v)", inc, d.EventType, strings.Join(tries, " → "), r.Duration.Round(time.Millisecond))
}

// retryable reports whether PagerDuty would deliver again after t.
func retryable(t Try) bool {
	return t.Err != nil || t.Status == http.StatusTooManyRequests || t.Status >= 500
}

// Send delivers d, retrying as PagerDuty would. It returns early, with the
// tries so far, when ctx ends.
func (s *Sender) Send(ctx context.Context, d Delivery) Result {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	retries := s.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	wait := s.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	start := time.Now()
	res := Result{Delivery: d}
	for attempt := 0; ; attempt++ {
		t := s.try(ctx, client, d)
		res.Tries = append(res.Tries, t)
		if !retryable(t) || attempt == retries || ctx.Err() != nil {
			break
		}
		if !sleep(ctx, wait) {
			break
		}
		wait *= 2
	}
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) try(ctx context.Context, client *http.Client, d Delivery) Try {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(d.Body))
	if err != nil {
		return Try{Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(d.Body, s.Secret))
	req.Header.Set(pagerduty.HeaderWebhookID, d.WebhookID)
	req.Header.Set(pagerduty.HeaderSubscription, Subscription)
	resp, err := client.Do(req)
	if err != nil {
		return Try{Err: err}
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(io.LimitReader(resp.Body, 1024)).ReadString('\n')
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	return Try{Status: resp.StatusCode, Answer: strings.TrimSpace(line)}
}

// SendAll delivers ds in order, pausing Delay between them, and calls
// report after each. It returns how many deliveries finally failed;
// later deliveries are sent after a failure, as PagerDuty moves on after
// giving up on one. It stops early when ctx ends.
func (s *Sender) SendAll(ctx context.Context, ds []Delivery, report func(Result)) (failed int) {
	for i, d := range ds {
		if i > 0 && s.Delay > 0 && !sleep(ctx, s.Delay) {
			return failed + len(ds) - i
		}
		if ctx.Err() != nil {
			return failed + len(ds) - i
		}
		r := s.Send(ctx, d)
		if !r.OK() {
			failed++
		}
		if report != nil {
			report(r)
		}
	}
	return failed
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
