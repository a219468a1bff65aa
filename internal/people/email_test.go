package people

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// foldingPagerDuty answers UserByEmail with the first user whose address
// strings.EqualFold matches, as a search folding Unicode case might: the
// Kelvin sign K (U+212A) then finds kate@.
type foldingPagerDuty struct{ users []pagerduty.User }

func (p foldingPagerDuty) User(context.Context, string) (pagerduty.User, error) {
	return pagerduty.User{}, pagerduty.ErrNoUser
}

func (p foldingPagerDuty) UserByEmail(_ context.Context, email string) (pagerduty.User, error) {
	for _, u := range p.users {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return pagerduty.User{}, pagerduty.ErrNoUser
}

// TestActorsMatchOnlyTheSameAddress: whatever PagerDuty's search answers,
// a Slack user acts as a PagerDuty user only with the same address, ASCII
// case aside.
func TestActorsMatchOnlyTheSameAddress(t *testing.T) {
	t.Parallel()
	pd := foldingPagerDuty{users: []pagerduty.User{
		{ID: "PKATE", Name: "Kate", Email: "kate@example.com", Role: "user"},
		{ID: "PADA", Name: "Ada", Email: "ada@example.com", Role: "user"},
		{ID: "PJOSE", Name: "José", Email: "jos\u00e9@example.com", Role: "user"},
	}}
	slack := &fakeSlackUsers{emails: map[string]string{
		"UKELVIN": "\u212Aate@example.com",
		"UADA":    "ADA@Example.com",
		"UJOSE":   "jos\u00e9@example.com",
	}}
	a := NewActors(ActorOptions{PagerDuty: pd, Slack: slack})
	tests := []struct {
		slackUser string
		wantID    string
		wantErr   error
	}{
		{"UKELVIN", "", ErrNoPagerDutyUser},
		{"UADA", "PADA", nil},
		{"UJOSE", "", ErrNoPagerDutyUser},
	}
	for _, tt := range tests {
		got, err := a.Lookup(context.Background(), tt.slackUser)
		if got.PagerDutyID != tt.wantID || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("Lookup(%s) = %+v, %v; want %q, %v", tt.slackUser, got, err, tt.wantID, tt.wantErr)
		}
	}
	// The error keeps the address for the answer only its owner sees.
	_, err := a.Lookup(context.Background(), "UKELVIN")
	var noUser *NoPagerDutyUserError
	if !errors.As(err, &noUser) || noUser.Email != "\u212Aate@example.com" {
		t.Errorf("Lookup(UKELVIN) error = %#v, want a *NoPagerDutyUserError with the Slack address", err)
	}
}

// TestResolverMatchesASCIIOnly: a PagerDuty user whose address is not
// plain ASCII is never looked up in Slack (whose matching may fold a
// look-alike onto someone else), and override addresses match by ASCII
// case only.
func TestResolverMatchesASCIIOnly(t *testing.T) {
	e := newEnv(t)
	e.pd.AddUser("PKELVIN", "Not Kate", "\u212Aate@example.com")
	e.pd.AddUser("PKATE", "Kate", "kate@example.com")
	e.pd.AddUser("PADAUP", "Ada", "ADA@Example.com")
	e.slack.users["kate@example.com"] = "UKATE"
	o := e.options()
	o.Overrides = map[string]string{
		"\u212Aate@example.com": "UWRONG", // can never match, not even PKELVIN
		"ada@example.com":       "UADA2",
	}
	found, missing := resolve(t, New(o), "PKELVIN", "PKATE", "PADAUP")
	if diff := cmp.Diff(map[string]string{"PKATE": "UKATE", "PADAUP": "UADA2"}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if got, want := missing["PKELVIN"], "email address in PagerDuty is not plain ASCII"; got != want {
		t.Errorf("missing[PKELVIN] = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"kate@example.com"}, e.slack.calls); diff != "" {
		t.Errorf("Slack look-ups (-want +got):\n%s", diff)
	}
}

// failingActorCache fails every call.
type failingActorCache struct{}

func (failingActorCache) Actor(context.Context, string) (ActorEntry, bool, error) {
	return ActorEntry{}, false, errors.New("cache down")
}

func (failingActorCache) PutActor(context.Context, string, ActorEntry) error {
	return errors.New("cache down")
}

// TestLookUpsLogNoAddress: what the look-ups log, the errors their
// callers log and the reasons posted in incident channels name people by
// their ids (or an address's hash), never by their address.
func TestLookUpsLogNoAddress(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	ctx := context.Background()

	e := newEnv(t)
	o := e.options()
	o.Cache, o.Log = failingCache{}, log
	_, missing, err := New(o).SlackUsers(ctx, refs("PADA", "PDORA", "PCARL"))
	if err != nil {
		t.Fatalf("SlackUsers error = %v", err)
	}
	for _, m := range missing {
		// The reasons are posted in the incident's channel.
		if strings.Contains(m.Reason, "@") {
			t.Errorf("reason for %s = %q, names an address", m.User.ID, m.Reason)
		}
	}
	e.slack.errs = []error{errors.New("missing_scope")}
	if _, _, err := New(o).SlackUsers(ctx, refs("PBOB")); err != nil {
		log.Error("cannot look up PagerDuty users", "error", err.Error())
	} else {
		t.Error("SlackUsers with Slack failing: no error")
	}

	ae := newActorEnv(t)
	ae.opts.Cache, ae.opts.Log = failingActorCache{}, log
	a := NewActors(ae.opts)
	for _, id := range []string{"UADA", "UANN"} {
		if _, err := a.Lookup(ctx, id); err != nil {
			log.Warn("Slack user not mapped to PagerDuty", "slack_user_id", id, "error", err.Error())
		}
	}
	ae.pd.Fail(pdfake.Fault{Status: 429, RetryAfter: "3"})
	_, err = a.Lookup(ctx, "UADA")
	if incident.KindOf(err) != incident.KindTransient {
		t.Errorf("Lookup(UADA) with PagerDuty rate limited = %v, want transient", err)
	}
	log.Warn("Slack user not mapped to PagerDuty", "slack_user_id", "UADA", "error", err.Error())

	out := buf.String()
	if !strings.Contains(out, "cache down") || !strings.Contains(out, "missing_scope") || !strings.Contains(out, "UANN") {
		t.Fatalf("log lacks the lines this test makes:\n%s", out)
	}
	if strings.Contains(out, "@") {
		t.Errorf("log names an email address:\n%s", out)
	}
}
