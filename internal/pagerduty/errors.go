package pagerduty

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/internal/emailaddr"
)

// Sentinels, matched with errors.Is through the *incident.Error wrapping.
var (
	// ErrNoUser means PagerDuty has no user with the email address or
	// id asked for.
	ErrNoUser = errors.New("no such PagerDuty user")
	// ErrAlreadyResolved means the incident is resolved: the caller says
	// so instead of failing. Acknowledge and Resolve find it out before
	// writing (acknowledging a resolved incident would reopen it); an
	// answer of PagerDuty's code 1001 "Incident Already Resolved" matches
	// it too.
	ErrAlreadyResolved = errors.New("the incident is already resolved")
	// ErrAlreadyAcknowledged means Acknowledge found the incident
	// acknowledged, and did not acknowledge it again.
	ErrAlreadyAcknowledged = errors.New("the incident is already acknowledged")
	// ErrLastLevel means the incident is at the last level of an
	// escalation policy that does not repeat: there is no one to escalate
	// to. The error's text gives the number of levels.
	ErrLastLevel = errors.New("the incident is at the last level of its escalation policy")
)

// PagerDuty's error codes this package tells apart.
const (
	codeAlreadyResolved   = 1001 // "Incident Already Resolved"
	codeRequesterNotFound = 1008 // "Requester User Not Found": From is no user
)

// APIError is PagerDuty's answer to a failed request:
// {"error":{"message":"...","code":2001,"errors":["..."]}}.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is PagerDuty's error code; 0 when the answer had none.
	Code int
	// Message is PagerDuty's message ("Access Denied"); for an answer
	// without PagerDuty's error body, the HTTP status text.
	Message string
	// Errors are PagerDuty's details ("Incident Already Resolved").
	Errors []string

	// fromPagerDuty is set when the body was PagerDuty's error object.
	fromPagerDuty bool
}

// Error gives the status, PagerDuty's message, code and details, and for
// a 401 the setting to fix.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if len(e.Errors) > 0 {
		b.WriteString(": " + strings.Join(e.Errors, "; "))
	}
	if e.Status == http.StatusUnauthorized {
		b.WriteString("; PagerDuty refused PAGERDUTY_API_TOKEN")
	}
	return b.String()
}

// Is matches ErrAlreadyResolved for PagerDuty's "Incident Already
// Resolved", whether it comes as the code or only as the text.
func (e *APIError) Is(target error) bool {
	return target == ErrAlreadyResolved && e.alreadyResolved()
}

func (e *APIError) alreadyResolved() bool {
	if e.Code == codeAlreadyResolved {
		return true
	}
	for _, s := range append([]string{e.Message}, e.Errors...) {
		if strings.Contains(strings.ToLower(s), "already resolved") {
			return true
		}
	}
	return false
}

// parseAPIError reads PagerDuty's error body; a body that is not one
// (a load balancer's page) leaves the status text as the message.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status, Message: http.StatusText(status)}
	var v struct {
		Error *struct {
			Message string          `json:"message"`
			Code    int             `json:"code"`
			Errors  json.RawMessage `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error != nil {
		e.fromPagerDuty = true
		e.Code = v.Error.Code
		if v.Error.Message != "" {
			e.Message = v.Error.Message
		}
		// errors is a list of strings; a single string is taken too.
		var one string
		switch {
		case json.Unmarshal(v.Error.Errors, &e.Errors) == nil:
		case json.Unmarshal(v.Error.Errors, &one) == nil && one != "":
			e.Errors = []string{one}
		}
	}
	return e
}

// NoAnswerError is a request PagerDuty did not answer: a timeout, the
// caller's deadline, a refused or reset connection.
type NoAnswerError struct {
	// Budget is how long the caller's context allowed when the request
	// started; 0 without a deadline.
	Budget time.Duration
	Err    error
}

func (e *NoAnswerError) Error() string { return "no answer from PagerDuty: " + e.Err.Error() }
func (e *NoAnswerError) Unwrap() error { return e.Err }

// WrongURLError is a 404 without PagerDuty's error body: PagerDuty answers
// its own 404s with an error object, so the base URL is not PagerDuty's
// REST API.
type WrongURLError struct {
	URL string
	API *APIError
}

func (e *WrongURLError) Error() string {
	return fmt.Sprintf("%s answered 404 without a PagerDuty error; check PAGERDUTY_API_URL is the PagerDuty REST API (%s, or https://api.eu.pagerduty.com for EU accounts)",
		e.URL, DefaultAPIURL)
}
func (e *WrongURLError) Unwrap() error { return e.API }

// noUserError is ErrNoUser for an address or an id. Its text names the
// address by its emailaddr.Hash only, as errors end up in logs; Explain,
// whose answer only the user who acted reads, names their address.
type noUserError struct{ email, id string }

func (e *noUserError) Error() string {
	if e.id != "" {
		return "PagerDuty has no user " + e.id
	}
	return "no PagerDuty user has the email address " + emailaddr.Hash(e.email)
}
func (e *noUserError) Is(target error) bool { return target == ErrNoUser }

// lastLevelError is ErrLastLevel naming the policy's size.
type lastLevelError struct{ levels int }

func (e *lastLevelError) Error() string {
	return fmt.Sprintf("the incident is at the last of the %d levels of its escalation policy, which does not repeat", e.levels)
}
func (e *lastLevelError) Is(target error) bool { return target == ErrLastLevel }

// retryAfter is how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else PagerDuty's ratelimit-reset (seconds); 0 when neither
// says.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get(headerRetryAfter)); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			// Up to the second: waiting less than asked is refused again.
			return (t.Sub(now) + time.Second - 1).Truncate(time.Second)
		}
	}
	if v := strings.TrimSpace(h.Get(headerRateLimitWait)); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}
