// Package people maps PagerDuty users to Slack users, so that the people
// PagerDuty involved in an incident can be invited to its Slack channel.
//
// A Resolver looks each PagerDuty user up in the PagerDuty REST API for
// their email address, then looks that address up in Slack
// (users.lookupByEmail). Overrides settle the users whose addresses differ
// between the two, and a Cache (in memory, or in Firestore for all
// instances) keeps the answers so that most events need no look-up at all.
package people

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/emailaddr"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// Defaults of Options.
const (
	// DefaultTTL is how long a found Slack user is cached by default.
	DefaultTTL = 24 * time.Hour
	// DefaultMissTTL is how long a user without a usable Slack account is
	// cached by default.
	DefaultMissTTL = time.Hour
)

// maxConcurrent is how many users are looked up at the same time.
const maxConcurrent = 8

// Options configure a Resolver.
type Options struct {
	// PagerDuty reads PagerDuty users (a *pagerduty.Client; a read-only
	// key is enough). nil turns PagerDuty look-ups off: only users in
	// Overrides (by PagerDuty user id) or in the Cache are found.
	PagerDuty PagerDutyUsers
	// Slack looks Slack users up by email. Required with PagerDuty.
	Slack EmailLookup
	// Cache keeps the results between calls; nil for no cache.
	Cache Cache
	// Overrides maps PagerDuty user ids ("PABC123") or email addresses
	// (with an '@', compared as emailaddr.Equal does: ASCII case folded,
	// an address beyond ASCII never matching) to Slack user ids. They
	// win over look-ups and the cache. An override by email still needs
	// the user's address from PagerDuty; its result is not cached, but a
	// user already cached keeps the cached answer until it expires.
	Overrides map[string]string
	// TTL is how long a found Slack user is cached; 0 is DefaultTTL.
	TTL time.Duration
	// MissTTL is how long a user without a usable Slack account is
	// cached; 0 is DefaultMissTTL.
	MissTTL time.Duration
	// Log receives warnings (cache failures); nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// PagerDutyUsers reads PagerDuty users (*pagerduty.Client).
type PagerDutyUsers interface {
	// User fails with pagerduty.ErrNoUser when PagerDuty has no user id,
	// and with another *incident.Error for everything else.
	User(ctx context.Context, id string) (pagerduty.User, error)
	// UserByEmail fails with pagerduty.ErrNoUser when no user has the
	// address, and with another *incident.Error for everything else.
	UserByEmail(ctx context.Context, email string) (pagerduty.User, error)
}

var _ PagerDutyUsers = (*pagerduty.Client)(nil)

// EmailLookup finds the Slack user with an email address
// (users.lookupByEmail).
type EmailLookup interface {
	// LookupByEmail returns the Slack user id of email. It fails with
	// incident.ErrUserNotFound when Slack has no such user,
	// incident.ErrUserDeactivated when the user is deactivated (both may
	// be wrapped), a *incident.Error for rate limits, 5xx
	// answers and timeouts; any other error is permanent.
	LookupByEmail(ctx context.Context, email string) (slackUserID string, err error)
}

// Resolver finds the Slack users of PagerDuty users. It implements
// incident.Directory and is safe for concurrent use.
type Resolver struct {
	pd             PagerDutyUsers // nil: no PagerDuty look-ups
	slack          EmailLookup
	cache          Cache
	idOverrides    map[string]string
	emailOverrides map[string]string // by emailaddr.Key
	ttl, missTTL   time.Duration
	log            *slog.Logger
	now            func() time.Time
}

var _ incident.Directory = (*Resolver)(nil)

// New returns a Resolver configured by o.
func New(o Options) *Resolver {
	r := &Resolver{
		pd:             o.PagerDuty,
		slack:          o.Slack,
		cache:          o.Cache,
		idOverrides:    map[string]string{},
		emailOverrides: map[string]string{},
		ttl:            o.TTL,
		missTTL:        o.MissTTL,
		log:            o.Log,
		now:            o.Now,
	}
	if r.ttl <= 0 {
		r.ttl = DefaultTTL
	}
	if r.missTTL <= 0 {
		r.missTTL = DefaultMissTTL
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.now == nil {
		r.now = time.Now
	}
	for k, v := range o.Overrides {
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" || v == "" {
			continue
		}
		if strings.Contains(k, "@") {
			if key, ok := emailaddr.Key(k); ok {
				r.emailOverrides[key] = v
			}
		} else {
			r.idOverrides[k] = v
		}
	}
	return r
}

// outcome is what became of one user: found (slackID), missing (reason),
// or neither (not looked up).
type outcome struct {
	slackID string
	reason  string
	// cache is set for a look-up result worth caching.
	cache bool
}

// SlackUsers maps users to Slack user ids: found is keyed by PagerDuty user
// id, missing lists the users without a usable Slack account in the order
// given. Users are deduplicated by id; refs without an id are ignored.
// Without a PagerDuty client, users not settled by an id override or the
// cache are in neither. err is a retryable *incident.Error when PagerDuty
// or Slack was rate limited or unavailable, or a permanent error (a
// refused token, a wrong PAGERDUTY_API_URL); found and missing are then
// nil.
func (r *Resolver) SlackUsers(ctx context.Context, users []incident.Ref) (found map[string]string, missing []incident.Unmatched, err error) {
	var refs []incident.Ref // deduplicated, in order
	out := make(map[string]outcome, len(users))
	var todo []incident.Ref
	for _, u := range users {
		if u.ID == "" {
			continue
		}
		if _, dup := out[u.ID]; dup {
			continue
		}
		refs = append(refs, u)
		if s, ok := r.idOverrides[u.ID]; ok {
			out[u.ID] = outcome{slackID: s}
			continue
		}
		out[u.ID] = outcome{}
		todo = append(todo, u)
	}

	if r.cache != nil && len(todo) > 0 {
		todo = r.fromCache(ctx, todo, out)
	}

	if r.pd != nil && len(todo) > 0 {
		results, err := r.lookUpAll(ctx, todo)
		for i, u := range todo {
			if results[i] != nil {
				out[u.ID] = *results[i]
			}
		}
		r.toCache(ctx, todo, out)
		if err != nil {
			return nil, nil, err
		}
	}

	found = map[string]string{}
	for _, u := range refs {
		o := out[u.ID]
		switch {
		case o.slackID != "":
			found[u.ID] = o.slackID
		case o.reason != "":
			missing = append(missing, incident.Unmatched{User: u, Reason: o.reason})
		}
	}
	return found, missing, nil
}

// fromCache settles the users of todo the cache knows (in out) and
// returns the others. A cache failure only costs look-ups.
func (r *Resolver) fromCache(ctx context.Context, todo []incident.Ref, out map[string]outcome) []incident.Ref {
	ids := make([]string, len(todo))
	for i, u := range todo {
		ids[i] = u.ID
	}
	entries, err := r.cache.SlackUsers(ctx, ids)
	if err != nil {
		r.log.WarnContext(ctx, "people: cache read failed; looking the users up instead", "users", len(ids), "error", err.Error())
		return todo
	}
	now := r.now()
	var rest []incident.Ref
	for _, u := range todo {
		e, ok := entries[u.ID]
		if !ok || !now.Before(e.ExpireAt) || (e.SlackUserID == "" && e.Reason == "") {
			rest = append(rest, u)
			continue
		}
		if e.Reason != "" {
			out[u.ID] = outcome{reason: e.Reason}
		} else {
			out[u.ID] = outcome{slackID: e.SlackUserID}
		}
	}
	return rest
}

// toCache stores the look-up results of looked worth caching.
func (r *Resolver) toCache(ctx context.Context, looked []incident.Ref, out map[string]outcome) {
	if r.cache == nil || ctx.Err() != nil {
		return
	}
	now := r.now()
	entries := map[string]Entry{}
	for _, u := range looked {
		o := out[u.ID]
		switch {
		case !o.cache:
		case o.slackID != "":
			entries[u.ID] = Entry{SlackUserID: o.slackID, ExpireAt: now.Add(r.ttl)}
		case o.reason != "":
			entries[u.ID] = Entry{Reason: o.reason, ExpireAt: now.Add(r.missTTL)}
		}
	}
	if len(entries) == 0 {
		return
	}
	if err := r.cache.PutSlackUsers(ctx, entries); err != nil {
		r.log.WarnContext(ctx, "people: cache write failed; the users will be looked up again next time", "users", len(entries), "error", err.Error())
	}
}

// lookUpAll looks users up, maxConcurrent at a time. results[i] is nil for
// a user whose look-up failed or never started. err is the first failure;
// the look-ups still running are then cancelled.
func (r *Resolver) lookUpAll(ctx context.Context, users []incident.Ref) (results []*outcome, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results = make([]*outcome, len(users))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, maxConcurrent)
	)
	started := 0
start:
	for i, u := range users {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break start
		}
		started++
		wg.Go(func() {
			defer func() { <-sem }()
			o, err := r.lookUp(ctx, u)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				return
			}
			results[i] = &o
		})
	}
	wg.Wait()
	if firstErr == nil && started < len(users) {
		// The caller's context ended before every look-up could start.
		firstErr = &incident.Error{Kind: incident.KindTransient, Op: "pagerduty.user", Err: ctx.Err()}
	}
	return results, firstErr
}

// lookUp finds the Slack user of one PagerDuty user.
func (r *Resolver) lookUp(ctx context.Context, u incident.Ref) (outcome, error) {
	if !ValidID(u.ID) {
		return outcome{reason: "not a valid PagerDuty user id"}, nil
	}
	email, found, err := r.pagerDutyEmail(ctx, u.ID)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case !found:
		return outcome{reason: "not found in PagerDuty", cache: true}, nil
	case email == "":
		return outcome{reason: "no email address in PagerDuty", cache: true}, nil
	}
	key, ok := emailaddr.Key(email)
	if !ok {
		// Slack's own matching of such an address is unknown: a
		// look-alike could be someone else.
		return outcome{reason: "email address in PagerDuty is not plain ASCII", cache: true}, nil
	}
	if s, ok := r.emailOverrides[key]; ok {
		return outcome{slackID: s}, nil
	}
	if r.slack == nil {
		return outcome{}, errors.New("people: no Slack client to look users up by email (Options.Slack)")
	}
	id, err := r.slack.LookupByEmail(ctx, email)
	var re *incident.Error
	switch {
	case errors.Is(err, incident.ErrUserNotFound) || (err == nil && id == ""):
		// The reason is posted in the incident's channel and cached: it
		// must not hold the address.
		return outcome{reason: "no Slack account", cache: true}, nil
	case errors.Is(err, incident.ErrUserDeactivated):
		return outcome{reason: "deactivated in Slack", cache: true}, nil
	case errors.As(err, &re):
		return outcome{}, err
	case err != nil && ctx.Err() != nil:
		return outcome{}, &incident.Error{Kind: incident.KindTransient, Op: "slack users.lookupByEmail", Err: err}
	case err != nil:
		return outcome{}, fmt.Errorf("slack users.lookupByEmail for PagerDuty user %s: %w", u.ID, err)
	}
	return outcome{slackID: id, cache: true}, nil
}

// pagerDutyEmail returns the email address of the PagerDuty user id;
// found is false when PagerDuty has no such user.
func (r *Resolver) pagerDutyEmail(ctx context.Context, id string) (email string, found bool, err error) {
	u, err := r.pd.User(ctx, id)
	switch {
	case errors.Is(err, pagerduty.ErrNoUser):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return u.Email, true, nil
}
