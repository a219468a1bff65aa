package incident_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// fakePagerDuty keeps each incident's notes; fail answers the next calls
// with errors, and lose adds the next note and then answers as if the
// answer were lost.
type fakePagerDuty struct {
	mu    sync.Mutex
	notes map[string][]string
	fail  []error
	lose  int
	calls int
}

func newFakePagerDuty() *fakePagerDuty { return &fakePagerDuty{notes: map[string][]string{}} }

func (f *fakePagerDuty) AddNote(ctx context.Context, incidentID, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return err
	}
	f.notes[incidentID] = append(f.notes[incidentID], content)
	if f.lose > 0 {
		f.lose--
		return &incident.Error{Kind: incident.KindMaybeDone, Op: "pagerduty notes.create", Err: context.DeadlineExceeded}
	}
	return nil
}

func (f *fakePagerDuty) HasNote(ctx context.Context, incidentID, marker string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return slices.ContainsFunc(f.notes[incidentID], func(n string) bool { return strings.Contains(n, marker) }), nil
}

func (f *fakePagerDuty) notesOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes[id])
}

// backlinkEnv is an env whose service writes back-links to pd.
func backlinkEnv(t *testing.T, pd *fakePagerDuty, ttl time.Duration) *env {
	t.Helper()
	return newRoutedEnv(t, incident.Config{PagerDuty: pd, LeaseTTL: ttl})
}

// TestBacklinkOncePerChannel: the channel's note is written when the
// channel opens, names it with a link, and is not written again by later
// events; its own incident.annotated webhook is not echoed into the
// thread nor counted as a note.
func TestBacklinkOncePerChannel(t *testing.T) {
	t.Parallel()
	pd := newFakePagerDuty()
	e := backlinkEnv(t, pd, 0)
	for _, f := range []string{"triggered.json", "acknowledged.json"} {
		e.mustHandle(t, f)
	}
	c := e.slack.only()
	id := loadEvent(t, "triggered.json").IncidentID
	notes := pd.notesOf(id)
	if len(notes) != 1 {
		t.Fatalf("notes on %s = %q, want one back-link", id, notes)
	}
	var chID string
	for k, v := range e.slack.names {
		if k == c.name {
			chID = v
		}
	}
	if !strings.Contains(notes[0], "#"+c.name) || !strings.Contains(notes[0], incident.BacklinkMarker(chID)) {
		t.Errorf("note = %q, want the channel's name #%s and link %s", notes[0], c.name, incident.BacklinkMarker(chID))
	}

	echo := loadEvent(t, "annotated.json")
	echo.ID, echo.Note = "echo-of-backlink", notes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	replies := len(e.slack.only().replies)
	if _, err := e.svc.Handle(ctx, echo); err != nil {
		t.Fatalf("Handle(echo of the back-link) = %v", err)
	}
	if got := len(e.slack.only().replies); got != replies {
		t.Errorf("replies after the back-link's own webhook = %d, want %d (not echoed)", got, replies)
	}
	st, _, err := e.store.Get(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Notes != 0 || st.Backlinked != chID {
		t.Errorf("state Notes = %d, Backlinked = %q; want 0 and %q", st.Notes, st.Backlinked, chID)
	}
	if got := len(pd.notesOf(id)); got != 1 {
		t.Errorf("notes after more events = %d, want still 1", got)
	}
}

// TestBacklinkFailures: PagerDuty slow or down, or its answer lost, puts
// the note off without failing the delivery, and the next event looks it
// up before writing it (after the lost call's Until), so it is written
// once; a refusal is given up.
func TestBacklinkFailures(t *testing.T) {
	t.Parallel()
	transient := &incident.Error{Kind: incident.KindTransient, Op: "pagerduty notes.create", Err: errors.New("HTTP 429")}
	refused := &incident.Error{Kind: incident.KindRefused, Op: "pagerduty notes.create", Err: errors.New("HTTP 400: Requester User Not Found")}
	tests := []struct {
		name      string
		setup     func(pd *fakePagerDuty)
		wantNotes int // after the second event
		wantCalls int
	}{
		{"down: put off, looked up and written by the next event", func(pd *fakePagerDuty) { pd.fail = []error{transient} }, 1, 3},
		{"refused: given up", func(pd *fakePagerDuty) { pd.fail = []error{refused} }, 0, 1},
		{"answer lost: found by the next event, not written twice", func(pd *fakePagerDuty) { pd.lose = 1 }, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				pd := newFakePagerDuty()
				tt.setup(pd)
				e := backlinkEnv(t, pd, 150*time.Millisecond)
				if err := handleWithin(t, e.svc, "triggered.json", 3*time.Second); err != nil {
					t.Fatalf("triggered.json: %v, want it answered whatever PagerDuty did", err)
				}
				// The next event may wait for a note whose answer was lost
				// (its entry's Until), answered busy meanwhile; PagerDuty
				// redelivers it.
				err := redeliver(20, time.Second, func() error { return handleWithin(t, e.svc, "acknowledged.json", 3*time.Second) })
				if err != nil {
					t.Fatalf("acknowledged.json never answered: %v", err)
				}
				id := loadEvent(t, "triggered.json").IncidentID
				if got := len(pd.notesOf(id)); got != tt.wantNotes {
					t.Errorf("notes = %d, want %d", got, tt.wantNotes)
				}
				if pd.calls != tt.wantCalls {
					t.Errorf("PagerDuty calls = %d, want %d", pd.calls, tt.wantCalls)
				}
				if c := e.slack.only(); c == nil || c.root == "" {
					t.Errorf("channel %v, want one with its root whatever PagerDuty did", c)
				}
			})
		})
	}
}

// TestBacklinkWithoutPagerDuty: without a PagerDuty writer (no
// PAGERDUTY_FROM_EMAIL) nothing is planned.
func TestBacklinkWithoutPagerDuty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustHandle(t, "triggered.json")
	st, _, err := e.store.Get(context.Background(), loadEvent(t, "triggered.json").IncidentID, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Backlinked != "" || st.Entry(incident.KeyBacklink) != nil {
		t.Errorf("Backlinked = %q, ledger %v; want nothing", st.Backlinked, st.Ledger)
	}
}

// TestRootButtonsFollowStatus: with responders acting from Slack, the
// root shows the buttons its status allows, edited with it.
func TestRootButtonsFollowStatus(t *testing.T) {
	t.Parallel()
	e := newRoutedEnv(t, incident.Config{Interactive: true})
	steps := []struct {
		file string
		want []incident.Action
	}{
		{"triggered.json", []incident.Action{incident.ActionAcknowledge, incident.ActionResolve, incident.ActionEscalate, incident.ActionNote}},
		{"acknowledged.json", []incident.Action{incident.ActionResolve, incident.ActionEscalate, incident.ActionNote}},
		{"resolved.json", []incident.Action{incident.ActionNote}},
	}
	for _, s := range steps {
		e.mustHandle(t, s.file)
		if got := e.slack.only().rootActions; !slices.Equal(got, s.want) {
			t.Errorf("after %s the root shows %v, want %v", s.file, got, s.want)
		}
	}
	plain := newEnv(t)
	plain.mustHandle(t, "triggered.json")
	if got := plain.slack.only().rootActions; got != nil {
		t.Errorf("without interactivity the root shows %v, want no buttons", got)
	}
}

// TestBacklinkOfResolvedIncidentNotPutOff: an event of a resolved
// incident may be its last, so a back-link it cannot write (PagerDuty
// down, or its answer lost) fails the delivery instead of waiting for a
// next event that may never come; the redelivery writes it, or finds the
// one whose answer was lost, so it is written exactly once.
func TestBacklinkOfResolvedIncidentNotPutOff(t *testing.T) {
	t.Parallel()
	transient := &incident.Error{Kind: incident.KindTransient, Op: "pagerduty notes.create", Err: errors.New("HTTP 429")}
	tests := []struct {
		name  string
		setup func(pd *fakePagerDuty)
	}{
		// The first failure puts the note off from triggered; the second
		// meets it at resolved.
		{"down at resolution", func(pd *fakePagerDuty) { pd.fail = []error{transient, transient} }},
		{"answer lost at resolution", func(pd *fakePagerDuty) { pd.fail, pd.lose = []error{transient}, 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				pd := newFakePagerDuty()
				tt.setup(pd)
				e := backlinkEnv(t, pd, 150*time.Millisecond)
				if err := handleWithin(t, e.svc, "triggered.json", 3*time.Second); err != nil {
					t.Fatalf("triggered.json: %v, want it answered with the note put off", err)
				}
				if err := handleWithin(t, e.svc, "resolved.json", 3*time.Second); err == nil {
					t.Errorf("resolved.json answered before its note was known written, want an error so PagerDuty redelivers it")
				}
				if err := redeliver(20, 50*time.Millisecond, func() error { return handleWithin(t, e.svc, "resolved.json", 3*time.Second) }); err != nil {
					t.Fatalf("redeliveries of resolved.json never succeeded: %v", err)
				}
				id := loadEvent(t, "triggered.json").IncidentID
				if got := len(pd.notesOf(id)); got != 1 {
					t.Errorf("notes after the incident's last event = %d, want 1", got)
				}
			})
		})
	}
}
