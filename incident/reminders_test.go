package incident_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

func TestParseReminders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    incident.Reminders
		wantErr []string
	}{
		{"", nil, nil},
		{" P1=30m , high=2h,*=4h ,", incident.Reminders{{"P1", 30 * time.Minute}, {"high", 2 * time.Hour}, {"*", 4 * time.Hour}}, nil},
		{"P1=1m", incident.Reminders{{"P1", time.Minute}}, nil},
		{"P1=59s,low,=1h,high=soon,*=4h", incident.Reminders{{"*", 4 * time.Hour}},
			[]string{"entry 1: the interval is shorter than the minimum of 1m0s", "entry 2 is not key=interval", "entry 3 is not key=interval", "entry 4: the interval is not a Go duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := incident.ParseReminders(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseReminders(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("ParseReminders(%q) error = %v, want it to say %q", tt.in, err, w)
				}
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("ParseReminders(%q) error = %v", tt.in, err)
			}
		})
	}
}

// TestNextReminder: the first matching rule sets the interval, counted
// from the latest of the start, the last update and the last reminder; a
// snooze holds it; a resolved incident, or one without a channel of its
// own, is never due.
func TestNextReminder(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	rules, err := incident.ParseReminders("P1=30m,high=1h,*=4h")
	if err != nil {
		t.Fatal(err)
	}
	open := func(f func(*incident.State)) incident.State {
		st := incident.State{Exists: true, ChannelID: "C1", RootTS: "1.1",
			Snapshot: incident.Snapshot{ID: "Q1", Complete: true, Status: incident.StatusTriggered, Urgency: incident.UrgencyHigh, Priority: "P2", CreatedAt: start}}
		if f != nil {
			f(&st)
		}
		return st
	}
	tests := []struct {
		name     string
		st       incident.State
		now      time.Time
		wantNext time.Time
		wantDue  bool
	}{
		{"not yet", open(nil), start.Add(59 * time.Minute), start.Add(time.Hour), false},
		{"due at its interval", open(nil), start.Add(time.Hour), start.Add(time.Hour), true},
		{"priority before urgency", open(func(st *incident.State) { st.Snapshot.Priority = "p1" }), start.Add(31 * time.Minute), start.Add(30 * time.Minute), true},
		{"the catch-all", open(func(st *incident.State) { st.Snapshot.Urgency = incident.UrgencyLow }), start.Add(3 * time.Hour), start.Add(4 * time.Hour), false},
		{"from the last update", open(func(st *incident.State) { st.Update.At = start.Add(50 * time.Minute) }), start.Add(time.Hour), start.Add(110 * time.Minute), false},
		{"from the last reminder", open(func(st *incident.State) { st.RemindedAt = start.Add(70 * time.Minute) }), start.Add(2 * time.Hour), start.Add(130 * time.Minute), false},
		{"snoozed", open(func(st *incident.State) { st.SnoozedUntil = start.Add(3 * time.Hour) }), start.Add(2 * time.Hour), start.Add(3 * time.Hour), false},
		{"a snooze that ended", open(func(st *incident.State) { st.SnoozedUntil = start.Add(10 * time.Minute) }), start.Add(time.Hour), start.Add(time.Hour), true},
		{"resolved", open(func(st *incident.State) { st.Snapshot.Status = incident.StatusResolved }), start.Add(9 * time.Hour), time.Time{}, false},
		{"no channel of its own", open(func(st *incident.State) { st.ChannelID = "" }), start.Add(9 * time.Hour), time.Time{}, false},
		{"archived channel", open(func(st *incident.State) { st.ChannelArchived = true }), start.Add(9 * time.Hour), time.Time{}, false},
		{"no rule matches", open(nil), start.Add(9 * time.Hour), time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := rules
			if tt.name == "no rule matches" {
				rs = incident.Reminders{{"P1", time.Hour}}
			}
			next, due := incident.NextReminder(tt.st, rs, tt.now)
			if !next.Equal(tt.wantNext) || due != tt.wantDue {
				t.Errorf("NextReminder = %v, %v; want %v, %v", next, due, tt.wantNext, tt.wantDue)
			}
		})
	}
}

// reminderEnv is a service reminding high-urgency incidents after an hour
// without a status update, with incident Q1CHECKOUT (P2, high) triggered
// at 03:00 and updated at 03:12.
func reminderEnv(t *testing.T) *env {
	t.Helper()
	rules, err := incident.ParseReminders("P1=30m,high=1h,*=4h")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{slack: newFakeSlack(), store: store.NewMemory()}
	e.svc = incident.NewService(e.store, e.slack, incident.Config{ChannelPrefix: "inc", Reminders: rules}, nil)
	e.mustHandle(t, "triggered.json")
	e.mustHandle(t, "status_update_published.json")
	return e
}

// reminders are the reminders in the incident's channel.
func reminders(e *env) []incident.Reply {
	var out []incident.Reply
	for _, r := range e.slack.ownChannels()[0].replies {
		if strings.HasPrefix(r.Headline, "Time for a status update") {
			out = append(out, r)
		}
	}
	return out
}

// TestSweepRemindsOncePerInterval: on an injected clock, a channel gets
// one reminder once its interval passed without an update, naming the
// assignees (or the lead) with the buttons to update or snooze; none
// before, none again within the interval, none while snoozed, none after
// the incident resolved; and a sweep with nothing due makes no Slack call.
func TestSweepRemindsOncePerInterval(t *testing.T) {
	t.Parallel()
	e := reminderEnv(t)
	updated := loadEvent(t, "status_update_published.json").OccurredAt // 03:12
	quiet := func(what string, now time.Time) {
		t.Helper()
		e.slack.resetCalls()
		if rep := sweep(t, e.svc, now); rep.RemindersDue != 0 || rep.Reminded != 0 || e.slack.total() != 0 {
			t.Errorf("%s: %+v with %d Slack calls, want nothing due and no call", what, rep, e.slack.total())
		}
	}
	remind := func(what string, now time.Time) incident.Reply {
		t.Helper()
		before := len(reminders(e))
		if rep := sweep(t, e.svc, now); rep.RemindersDue != 1 || rep.Reminded != 1 {
			t.Fatalf("%s: %+v, want one reminded", what, rep)
		}
		rs := reminders(e)
		if len(rs) != before+1 {
			t.Fatalf("%s: %d reminders, want %d", what, len(rs), before+1)
		}
		return rs[len(rs)-1]
	}

	quiet("a minute before the interval", updated.Add(59*time.Minute))
	r := remind("just after the interval", updated.Add(61*time.Minute))
	if !r.Broadcast || r.IncidentID != "Q1CHECKOUT" || !slices.Equal(r.Buttons, []incident.Action{incident.ActionUpdate, incident.ActionSnooze30m, incident.ActionSnooze2h}) {
		t.Errorf("reminder = %+v, want it broadcast with the update and snooze buttons", r)
	}
	if len(r.Mention) != 0 || incident.Names(r.MentionPeople) == "" || !strings.Contains(r.Headline, "none for 1h") {
		t.Errorf("reminder = %+v, want it to name the assignees (no one leads) and say how long", r)
	}
	quiet("the next sweep", updated.Add(76*time.Minute))

	ctx := context.Background()
	if err := e.svc.Snooze(ctx, "Q1CHECKOUT", updated.Add(61*time.Minute+2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	quiet("an interval later, snoozed", updated.Add(122*time.Minute))
	remind("after the snooze", updated.Add(182*time.Minute))

	if err := e.svc.SetLead(ctx, "Q1CHECKOUT", incident.Lead{SlackUserID: "U0ADA", Name: "Ada", At: updated.Add(3 * time.Hour)}, ""); err != nil {
		t.Fatal(err)
	}
	if r := remind("with a lead", updated.Add(243*time.Minute)); !slices.Equal(r.Mention, []string{"U0ADA"}) || len(r.MentionPeople) != 0 {
		t.Errorf("reminder with a lead mentions %v and %v, want the lead alone", r.Mention, r.MentionPeople)
	}

	e.mustHandle(t, "resolved.json")
	quiet("after the incident resolved", updated.Add(10*time.Hour))
}

// TestSweepRemindsOnceUnderConcurrency: two sweeps at once post one
// reminder; one whose post failed leaves it to the next sweep, which posts
// it once.
func TestSweepRemindsOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := reminderEnv(t)
	due := loadEvent(t, "status_update_published.json").OccurredAt.Add(61 * time.Minute)
	e.slack.mu.Lock()
	e.slack.delay = 20 * time.Millisecond
	e.slack.mu.Unlock()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { sweep(t, e.svc, due) })
	}
	wg.Wait()
	sweep(t, e.svc, due.Add(time.Minute)) // whatever the busy one left
	if n := len(reminders(e)); n != 1 {
		t.Errorf("two sweeps at once posted %d reminders, want 1", n)
	}
}

// fakeChanges records the state changes a Responder asks for.
type fakeChanges struct {
	mu     sync.Mutex
	snooze []time.Time
	leads  []incident.Lead
	delay  time.Duration
}

func (f *fakeChanges) SetLead(ctx context.Context, incidentID string, l incident.Lead, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leads = append(f.leads, l)
	return nil
}

func (f *fakeChanges) Snooze(ctx context.Context, incidentID string, until time.Time) error {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snooze = append(f.snooze, until)
	return nil
}

// TestSnoozeActsOnce: a snooze button snoozes the reminders for its
// time; two clicks at once snooze once and the second hears who did; an
// observer, or a resolved incident, snoozes nothing.
func TestSnoozeActsOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 4, 13, 0, 0, time.UTC)
	setup := func(t *testing.T, status incident.Status) (*incident.Responder, *fakeChanges) {
		h := newResponderHarness(t, status)
		ch := &fakeChanges{delay: 50 * time.Millisecond}
		r := incident.NewResponder(incident.ResponderOptions{
			Incidents: h.store, Claims: &store.MemoryClaims{}, Slack: h.slack, PagerDuty: h.pd, Changes: ch,
			Actors: fakeActors{"UADA": {PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "user"},
				"UBOB": {PagerDutyID: "PBOB", Name: "Bob", Email: "bob@example.com", Role: "admin"},
				"UOBS": {PagerDutyID: "POBS", Name: "Olga", Email: "olga@example.com", Role: "observer"}},
			Now: func() time.Time { return now },
		})
		return r, ch
	}
	do := func(r *incident.Responder, user string) incident.Answer {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return r.Do(ctx, incident.Request{Kind: incident.RequestSnooze, IncidentID: "Q1", UserID: user, Snooze: incident.Snoozes[incident.ActionSnooze2h]})
	}

	r, ch := setup(t, incident.StatusTriggered)
	answers := make([]incident.Answer, 2)
	var wg sync.WaitGroup
	for i, u := range []string{"UADA", "UBOB"} {
		wg.Go(func() { answers[i] = do(r, u) })
	}
	wg.Wait()
	if !slices.Equal(ch.snooze, []time.Time{now.Add(2 * time.Hour)}) {
		t.Errorf("snoozes = %v, want one until %v", ch.snooze, now.Add(2*time.Hour))
	}
	texts := answers[0].Text + "\n" + answers[1].Text
	if !strings.Contains(texts, "snoozed for 2h") || !strings.Contains(texts, "just snoozed this reminder; it is not done twice") {
		t.Errorf("answers = %q, want one snooze and one saying who did it", texts)
	}

	r, ch = setup(t, incident.StatusTriggered)
	if a := do(r, "UOBS"); !strings.Contains(a.Text, "may not change incidents") || len(ch.snooze) != 0 {
		t.Errorf("an observer's snooze answered %q and snoozed %v, want a refusal and nothing", a.Text, ch.snooze)
	}
	r, ch = setup(t, incident.StatusResolved)
	if a := do(r, "UADA"); !strings.Contains(a.Text, "is resolved") || len(ch.snooze) != 0 {
		t.Errorf("a snooze of a resolved incident answered %q and snoozed %v, want nothing", a.Text, ch.snooze)
	}
}
