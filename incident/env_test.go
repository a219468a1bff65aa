package incident_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

func TestMain(m *testing.M) { os.Exit(firestoretest.Main(m)) }

// lifecycle is one whole incident, in PagerDuty's order.
var lifecycle = []string{
	"triggered.json", "acknowledged.json", "annotated.json", "escalated.json", "reassigned.json",
	"priority_updated.json", "responder_added.json", "status_update_published.json", "resolved.json",
}

// fixture returns a PagerDuty-shaped webhook body from the wire
// package's testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "pagerduty", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadEvent parses the testdata body name.
func loadEvent(t testing.TB, name string) *incident.Event {
	t.Helper()
	ev, _, err := pagerduty.Parse(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// env is a service on a memory store and the in-process fake Slack.
type env struct {
	slack *fakeSlack
	store incident.Store
	svc   *incident.Service
}

// newEnv returns an env without routing rules that invites U0LEAD.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{slack: newFakeSlack(), store: store.NewMemory()}
	e.svc = incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"U0LEAD"}}, nil)
	return e
}

// newRoutedEnv returns an env with cfg (prefix "inc" unless it says).
func newRoutedEnv(t *testing.T, cfg incident.Config) *env {
	t.Helper()
	e := &env{slack: newFakeSlack(), store: store.NewMemory()}
	if cfg.ChannelPrefix == "" {
		cfg.ChannelPrefix = "inc"
	}
	e.svc = incident.NewService(e.store, e.slack, cfg, nil)
	return e
}

// handle handles the testdata event name with a 3 s budget.
func (e *env) handle(t *testing.T, name string) (incident.Result, error) {
	t.Helper()
	return handleResult(t, e.svc, name, 3*time.Second)
}

// handleResult delivers the testdata event name to svc, as PagerDuty
// does, with a request budget.
func handleResult(t testing.TB, svc *incident.Service, name string, budget time.Duration) (incident.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	return svc.Handle(ctx, loadEvent(t, name))
}

// handleWithin is handleResult without the result: nil is PagerDuty's 2xx.
func handleWithin(t testing.TB, svc *incident.Service, name string, budget time.Duration) error {
	t.Helper()
	_, err := handleResult(t, svc, name, budget)
	return err
}

func (e *env) mustHandle(t *testing.T, name string) incident.Result {
	t.Helper()
	res, err := e.handle(t, name)
	if err != nil {
		t.Fatalf("Handle(%s) error = %v", name, err)
	}
	return res
}

// The tests of timing on the memory store (leases that must run out,
// Slack calls slowed so that attempts overlap, pauses between
// redeliveries) run in a testing/synctest bubble: its clock moves only
// when every goroutine in the bubble waits, so they take no real time,
// and a busy machine cannot push an attempt past its budget.

// redeliver calls try, as PagerDuty redelivers, until it succeeds or
// tries calls have failed, pausing between them; it returns the last
// error.
func redeliver(tries int, pause time.Duration, try func() error) error {
	var err error
	for range tries {
		if err = try(); err == nil {
			return nil
		}
		time.Sleep(pause)
	}
	return err
}
