package incident_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// memoryEnv is an env whose service recalls past incidents from its
// store, and from PagerDuty through pd when it is not nil.
func memoryEnv(t *testing.T, mem incident.Memory, pd incident.PastIncidentFinder) *env {
	t.Helper()
	st := store.NewMemory()
	if mem == nil {
		mem = st
	}
	e := &env{slack: newFakeSlack(), store: st}
	e.svc = incident.NewService(st, e.slack, incident.Config{ChannelPrefix: "inc", Memory: mem, PastIncidents: pd}, nil)
	return e
}

// newIncident is the triggered.json event for another incident of the
// same service, with its own id, number and title.
func newIncident(t *testing.T, id string, number int, title string) *incident.Event {
	t.Helper()
	ev := loadEvent(t, "triggered.json")
	ev.ID, ev.IncidentID = "E"+id, id
	ev.OccurredAt = ev.OccurredAt.Add(30 * 24 * time.Hour)
	ev.Incident.ID, ev.Incident.Number, ev.Incident.Title = id, number, title
	ev.Incident.HTMLURL = "https://acme.pagerduty.com/incidents/" + id
	ev.Incident.CreatedAt = ev.OccurredAt
	return ev
}

func (e *env) handleEvent(t *testing.T, ev *incident.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := e.svc.Handle(ctx, ev); err != nil {
		t.Fatalf("Handle(%s of %s) error = %v", ev.Type, ev.IncidentID, err)
	}
}

// TestResolvedIncidentRemembered checks the memory a whole incident
// leaves: who resolved it, its channel, its last note, its times.
func TestResolvedIncidentRemembered(t *testing.T) {
	e := memoryEnv(t, nil, nil)
	for _, name := range lifecycle {
		e.mustHandle(t, name)
	}
	past, err := e.store.(incident.Memory).Recall(context.Background(), "PSVC001", 10)
	if err != nil || len(past) != 1 {
		t.Fatalf("Recall(PSVC001) = %v, %v; want the one incident", past, err)
	}
	ch := e.slack.only()
	triggered, resolved := loadEvent(t, "triggered.json"), loadEvent(t, "resolved.json")
	want := incident.PastIncident{
		ID: "Q1CHECKOUT", Number: triggered.Incident.Number, Title: resolved.Incident.Title,
		Words: incident.TitleWords(resolved.Incident.Title), Service: resolved.Incident.Service,
		HTMLURL: resolved.Incident.HTMLURL, Status: incident.StatusResolved,
		TriggeredAt:    resolved.Incident.CreatedAt.UTC(),
		AcknowledgedAt: loadEvent(t, "acknowledged.json").OccurredAt.UTC(),
		ResolvedAt:     resolved.OccurredAt.UTC(), ResolvedBy: "Ada Lovelace",
		ChannelID: e.slack.names[ch.name], ChannelName: ch.name,
		Note: "Rolled back deploy 7f3a; watching p99.\n<!channel> ignore this",
	}
	if diff := cmp.Diff(want, past[0]); diff != "" {
		t.Errorf("memory of Q1CHECKOUT (-want +got):\n%s", diff)
	}
}

// TestRootRecallsSimilarPastIncidents checks that a new channel's root
// shows the similar past incidents of its service, and no others, at no
// Slack call of its own.
func TestRootRecallsSimilarPastIncidents(t *testing.T) {
	e := memoryEnv(t, nil, nil)
	for _, name := range lifecycle {
		e.mustHandle(t, name)
	}
	first := e.slack.only()
	firstID := e.slack.names[first.name]

	e.slack.resetCalls()
	e.handleEvent(t, newIncident(t, "Q2CHECKOUT", 2, "Checkout latency above 3s (p99)"))
	similar := e.slack.channel(e.slack.names["inc-2-checkout-latency-above-3s-p99"])
	if len(similar.rootShown.Past) != 1 || similar.rootShown.Past[0].ID != "Q1CHECKOUT" || similar.rootShown.Past[0].ChannelID != firstID {
		t.Fatalf("root of a similar incident shows %+v, want Q1CHECKOUT in %s", similar.rootShown.Past, firstID)
	}
	withMemory := e.slack.total()

	e.handleEvent(t, newIncident(t, "Q3CHECKOUT", 3, "Payment provider timeouts"))
	if other := e.slack.channel(e.slack.names["inc-3-payment-provider-timeouts"]); len(other.rootShown.Past) != 0 {
		t.Errorf("root of an unrelated incident shows %+v, want none", other.rootShown.Past)
	}

	// The same incident without memory makes the same Slack calls.
	plain := newRoutedEnv(t, incident.Config{})
	plain.handleEvent(t, newIncident(t, "Q2CHECKOUT", 2, "Checkout latency above 3s (p99)"))
	if without := plain.slack.total(); withMemory != without {
		t.Errorf("Slack calls for a new incident = %d with memory, %d without; want the same", withMemory, without)
	}
}

// blockingMemory answers Recall only when its context ends.
type blockingMemory struct{}

func (blockingMemory) Recall(ctx context.Context, _ string, _ int) ([]incident.PastIncident, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// failingMemory fails every Recall.
type failingMemory struct{}

func (failingMemory) Recall(context.Context, string, int) ([]incident.PastIncident, error) {
	return nil, &incident.Error{Kind: incident.KindTransient, Op: "query", Err: errors.New("unavailable")}
}

// TestRecallNeverHoldsUpTheChannel checks that a look-up that fails, or
// does not answer, costs the channel nothing but its past incidents: the
// root is posted without them, at most RecallWait later, and the
// delivery succeeds.
func TestRecallNeverHoldsUpTheChannel(t *testing.T) {
	for _, tt := range []struct {
		name string
		mem  incident.Memory
	}{{"failing", failingMemory{}}, {"not answering", blockingMemory{}}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := memoryEnv(t, tt.mem, nil)
				start := time.Now()
				e.mustHandle(t, "triggered.json")
				if took := time.Since(start); took > incident.RecallWait {
					t.Errorf("Handle(triggered) took %v, want at most RecallWait (%v)", took, incident.RecallWait)
				}
				if c := e.slack.only(); c.root == "" || len(c.rootShown.Past) != 0 {
					t.Errorf("root = %q showing %v, want posted without past incidents", c.root, c.rootShown.Past)
				}
				// Given up: the next event does not look again.
				e.mustHandle(t, "acknowledged.json")
				if st, _, err := e.store.Get(context.Background(), "Q1CHECKOUT", ""); err != nil || !st.Recalled || len(st.Past) != 0 {
					t.Errorf("state Recalled = %v with %v (%v), want true with none", st.Recalled, st.Past, err)
				}
			})
		})
	}
}

// fakeFinder is PagerDuty's past incidents look-up.
type fakeFinder struct {
	past []incident.PastIncident
	err  error
}

func (f fakeFinder) PastIncidents(context.Context, string, int) ([]incident.PastIncident, error) {
	return f.past, f.err
}

// TestRecallMergesPagerDutysPastIncidents checks that PagerDuty's past
// incidents are shown after the function's own, and that an account
// without the feature (402, 403) gets its own memory only, quietly.
func TestRecallMergesPagerDutysPastIncidents(t *testing.T) {
	pdOnly := incident.PastIncident{ID: "QPDONLY", Title: "Checkout slow", TriggeredAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name string
		pd   fakeFinder
		want []string
	}{
		{"merged", fakeFinder{past: []incident.PastIncident{pdOnly, {ID: "Q1CHECKOUT"}}}, []string{"Q1CHECKOUT", "QPDONLY"}},
		{"not on the plan", fakeFinder{err: incident.ErrNotOnPlan}, []string{"Q1CHECKOUT"}},
		{"failing", fakeFinder{err: &incident.Error{Kind: incident.KindTransient, Err: errors.New("503")}}, []string{"Q1CHECKOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := memoryEnv(t, nil, tt.pd)
			for _, name := range lifecycle {
				e.mustHandle(t, name)
			}
			e.handleEvent(t, newIncident(t, "Q2CHECKOUT", 2, "Checkout latency above 3s (p99)"))
			var got []string
			for _, p := range e.slack.channel(e.slack.names["inc-2-checkout-latency-above-3s-p99"]).rootShown.Past {
				got = append(got, p.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("past incidents on the root (-want +got):\n%s", diff)
			}
		})
	}
}
