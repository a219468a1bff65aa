package incident

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Kind classifies a failed call by what the service should do about it.
// Adapters classify an error once, where it enters (translating Slack's
// or PagerDuty's answer); the service decides what a kind means for each
// step in one table (policy in execute.go).
type Kind uint8

// Kinds of failure.
const (
	// KindTransient: the call was not carried out (rate limit, a busy
	// lease, an unavailable store); a redelivery may get past it.
	KindTransient Kind = iota + 1
	// KindMaybeDone: no clear answer came (timeout, reset connection,
	// 5xx): the call may have taken effect. A redelivery looks the effect
	// up before doing it again.
	KindMaybeDone
	// KindGone: the message to edit or reply to was deleted.
	KindGone
	// KindArchived: the channel is archived.
	KindArchived
	// KindRefused: Slack refused the call for good (invalid_auth,
	// not_in_channel, channel_not_found, invalid_link, …).
	KindRefused
	// KindNameTaken: a channel of that name exists (live or archived).
	KindNameTaken
)

var kindNames = [...]string{"", "transient", "maybe done", "message deleted", "channel archived", "refused", "channel name taken"}

// kindSays is what an error's text adds for kinds its cause may not name.
var kindSays = map[Kind]string{KindGone: "message deleted", KindArchived: "channel archived", KindNameTaken: "channel name taken"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is a failed call to Slack, PagerDuty or the store, classified.
type Error struct {
	Kind Kind
	// Op names the call: a Slack method, possibly followed by what it was
	// for ("chat.postMessage root").
	Op string
	// RetryAfter is the wait Slack or PagerDuty asked for with a 429.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	// A cause that names the method already (slackops.APIError) is not
	// prefixed with it again.
	if e.Op != "" && (e.Err == nil || !strings.HasPrefix(e.Err.Error(), e.Operation()+":")) {
		b.WriteString(e.Op + ": ")
	}
	if e.RetryAfter > 0 {
		b.WriteString("retry after " + e.RetryAfter.String() + ": ")
	}
	if say := kindSays[e.Kind]; say != "" && e.Err != nil {
		b.WriteString(say + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(e.Kind.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes the sentinels below match any error of their kind:
// errors.Is(err, ErrChannelArchived) holds for every archived answer.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Err == nil && t.Kind == e.Kind
}

// Operation names the failed call for the request log.
func (e *Error) Operation() string {
	op, _, _ := strings.Cut(e.Op, " ")
	return op
}

// Sentinels of the kinds a caller tests with errors.Is.
var (
	// ErrNameTaken means a channel with the wanted name already exists
	// (live or archived). The service tries a suffixed name.
	ErrNameTaken = &Error{Kind: KindNameTaken}
	// ErrRootGone means the message to edit or reply to no longer exists
	// (someone deleted it). The service posts it anew.
	ErrRootGone = &Error{Kind: KindGone}
	// ErrChannelArchived means someone archived the channel. The service
	// stops posting there instead of failing its webhooks for two days.
	ErrChannelArchived = &Error{Kind: KindArchived}
)

// ErrExternalChannel means a channel the incident's message was for is
// shared with another organisation (Slack Connect) and the configuration
// does not allow posting there. It comes as a refusal, so the message is
// given up like one a channel refuses.
var ErrExternalChannel = errors.New("the channel is shared with another organisation (Slack Connect), and ALLOW_SHARED_CHANNELS is not true: nothing is posted there")

// ErrMissingScope means Slack refused a call because the app lacks the
// scope it needs (missing_scope): nothing but reinstalling the app with
// the current manifest gets past it, so it is never retried.
var ErrMissingScope = errors.New("the Slack app lacks a scope this needs (install it again with the current manifest)")

// ErrNoCanvases means the workspace cannot have channel canvases (Slack's
// free plan, or canvases turned off): the Markdown goes as a file instead.
var ErrNoCanvases = errors.New("the Slack workspace cannot have channel canvases (free plan, or canvases turned off)")

// ErrBusy means another attempt holds the incident's lease and did not
// finish within the budget. It is transient: the HTTP handler answers
// 503 and PagerDuty redelivers.
var ErrBusy = errors.New("incident is being handled by another attempt")

// ErrPanic marks a recovered panic: a bug, answered with 500.
var ErrPanic = errors.New("panic")

// KindOf returns the kind of err: its own for an *Error, KindTransient
// for a busy lease, KindMaybeDone for a call cut off by its deadline, and
// 0 for nil or an unclassified error.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, ErrBusy):
		return KindTransient
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return KindMaybeDone
	}
	return 0
}

// IsRetryable reports whether err is worth a redelivery: a transient or
// maybe-done failure (rate limits, 5xx, timeouts, a busy lease, an
// unavailable store).
func IsRetryable(err error) bool {
	k := KindOf(err)
	return k == KindTransient || k == KindMaybeDone
}

// RetryAfter returns how long Slack or PagerDuty asked to wait before the
// failed work is tried again (a 429's Retry-After), the longest of the
// joined errors, or 0 when none said. The HTTP handler passes it on as
// the 503's Retry-After header.
func RetryAfter(err error) time.Duration {
	var d time.Duration
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
		case *Error:
			d = max(d, x.RetryAfter)
			walk(x.Err)
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return d
}
