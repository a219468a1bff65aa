package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestErrorKinds(t *testing.T) {
	rateLimited := &Error{Kind: KindTransient, Op: "chat.postMessage C1", RetryAfter: 30 * time.Second, Err: errors.New("ratelimited")}
	tests := []struct {
		name       string
		err        error
		kind       Kind
		retryable  bool
		retryAfter time.Duration
		is         error
		text       string
	}{
		{"nil", nil, 0, false, 0, nil, ""},
		{"unclassified", errors.New("boom"), 0, false, 0, nil, "boom"},
		{"rate limited", rateLimited, KindTransient, true, 30 * time.Second, nil, "chat.postMessage C1: retry after 30s: ratelimited"},
		{"wrapped and joined", errors.Join(errors.New("other"), fmt.Errorf("reply: %w", rateLimited)), KindTransient, true, 30 * time.Second, nil, "reply: chat.postMessage C1"},
		{"no answer", &Error{Kind: KindMaybeDone, Op: "chat.postMessage C1", Err: errors.New("connection reset")}, KindMaybeDone, true, 0, nil, "connection reset"},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), KindMaybeDone, true, 0, nil, "deadline"},
		{"busy lease", fmt.Errorf("incident Q1: %w", ErrBusy), KindTransient, true, 0, nil, "another attempt"},
		{"archived", &Error{Kind: KindArchived, Op: "chat.postMessage C1", Err: errors.New("is_archived")}, KindArchived, false, 0, ErrChannelArchived, "channel archived: is_archived"},
		{"message deleted", &Error{Kind: KindGone, Op: "chat.update C1", Err: errors.New("message_not_found")}, KindGone, false, 0, ErrRootGone, "message deleted"},
		{"name taken", &Error{Kind: KindNameTaken, Op: "conversations.create", Err: errors.New("name_taken")}, KindNameTaken, false, 0, ErrNameTaken, "channel name taken"},
		{"refused names its method once", &Error{Kind: KindRefused, Op: "auth.test", Err: errors.New("auth.test: invalid_auth")}, KindRefused, false, 0, nil, "auth.test: invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.kind)
			}
			if got := IsRetryable(tt.err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
			if got := RetryAfter(tt.err); got != tt.retryAfter {
				t.Errorf("RetryAfter(%v) = %v, want %v", tt.err, got, tt.retryAfter)
			}
			if tt.is != nil && !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, tt.is)
			}
			if tt.err != nil && !strings.Contains(tt.err.Error(), tt.text) {
				t.Errorf("%q does not say %q", tt.err.Error(), tt.text)
			}
		})
	}
	if errors.Is(rateLimited, ErrChannelArchived) {
		t.Error("a rate limit matches ErrChannelArchived")
	}
}
