package slackops

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// TestHandlerActsOnceOnReplay: a signed request sent again with the same
// signature (a captured request, replayed within its window) is answered
// 200 AlreadyHandled without acting; the same command signed anew acts.
func TestHandlerActsOnceOnReplay(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) {
		c.Requests = &store.MemoryClaims{}
	})
	first := signed(PathCommands, commandBody("ack"))
	replay := signed(PathCommands, commandBody("ack"))
	for _, k := range []string{HeaderTimestamp, HeaderSignature} {
		replay.Header.Set(k, first.Header.Get(k))
	}
	if rec := serve(h, first); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "done") {
		t.Fatalf("first request = %d %q, want 200 with the answer", rec.Code, rec.Body)
	}
	rec := serve(h, replay)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != AlreadyHandled {
		t.Errorf("replayed request = %d %q, want 200 %q", rec.Code, rec.Body, AlreadyHandled)
	}
	if n := h.actions.calls(); n != 1 {
		t.Errorf("actions called %d times for a request and its replay, want 1", n)
	}
	if !strings.Contains(h.logs.String(), `"replayed":true`) {
		t.Errorf("log %s: want the replay marked", h.logs)
	}
	// Signed again a second later (as Slack signs each request), the
	// same body is a new request.
	again := signed(PathCommands, commandBody("ack"))
	ts, sig := SignRequest([]byte(testSecret), time.Now().Add(time.Second), []byte(commandBody("ack")))
	again.Header.Set(HeaderTimestamp, ts)
	again.Header.Set(HeaderSignature, sig)
	if rec := serve(h, again); rec.Code != http.StatusOK || h.actions.calls() != 2 {
		t.Errorf("the same command signed anew = %d, %d calls; want 200, acted", rec.Code, h.actions.calls())
	}
}

// failingClaims cannot record anything.
type failingClaims struct{}

func (failingClaims) Claim(context.Context, string, string, time.Time, time.Time) (incident.Entry, bool, error) {
	return incident.Entry{}, false, errors.New("store down")
}

// TestHandlerRefusesUnrecordedRequest: a request whose claim cannot be
// recorded is answered 503 without acting, since a replay could then act
// too.
func TestHandlerRefusesUnrecordedRequest(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) { c.Requests = failingClaims{} })
	if rec := serve(h, signed(PathCommands, commandBody("ack"))); rec.Code != http.StatusServiceUnavailable || h.actions.calls() != 0 {
		t.Errorf("request with the store down = %d, %d calls; want 503, none", rec.Code, h.actions.calls())
	}
}

// TestHandlerActsOnceOnReplayWithRecasedSignature: the signature is hex,
// which decodes alike in either case, so a replay that changes the case of
// its letters still verifies; it is the same request and acts once.
func TestHandlerActsOnceOnReplayWithRecasedSignature(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) {
		c.Requests = &store.MemoryClaims{}
	})
	first := signed(PathCommands, commandBody("ack"))
	if rec := serve(h, first); rec.Code != http.StatusOK {
		t.Fatalf("first request = %d %q, want 200", rec.Code, rec.Body)
	}
	sig := first.Header.Get(HeaderSignature)
	for _, recased := range []string{
		"v0=" + strings.ToUpper(strings.TrimPrefix(sig, "v0=")),
		" " + sig + " ",
	} {
		replay := signed(PathCommands, commandBody("ack"))
		replay.Header.Set(HeaderTimestamp, first.Header.Get(HeaderTimestamp))
		replay.Header.Set(HeaderSignature, recased)
		if rec := serve(h, replay); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != AlreadyHandled {
			t.Errorf("replay signed %q = %d %q, want 200 %q", recased, rec.Code, rec.Body, AlreadyHandled)
		}
	}
	if n := h.actions.calls(); n != 1 {
		t.Errorf("actions called %d times for a request and its recased replays, want 1", n)
	}
}

// stuckClaims answers only when the caller gives up.
type stuckClaims struct{}

func (stuckClaims) Claim(ctx context.Context, _, _ string, _, _ time.Time) (incident.Entry, bool, error) {
	<-ctx.Done()
	return incident.Entry{}, false, ctx.Err()
}

// TestHandlerBoundsRequestClaimByBudget: recording a request counts
// against its budget like the action it precedes, so a store that does
// not answer cannot hold the request open past Slack's wait. (In the
// synctest bubble, a claim waiting on a context without deadline would
// block forever and fail the test.)
func TestHandlerBoundsRequestClaimByBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const budget = 500 * time.Millisecond
		h := newTestHandler(t, &fakeActions{answer: Answer{Text: "done"}}, func(c *InteractivityConfig) {
			c.Requests, c.Budget = stuckClaims{}, budget
		})
		start := time.Now()
		rec := serve(h, signed(PathCommands, commandBody("ack")))
		if rec.Code != http.StatusServiceUnavailable || h.actions.calls() != 0 {
			t.Errorf("request with the store stuck = %d, %d calls; want 503, none", rec.Code, h.actions.calls())
		}
		if took := time.Since(start); took != budget {
			t.Errorf("request took %v, want the budget %v", took, budget)
		}
	})
}
