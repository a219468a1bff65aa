package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

func TestMain(m *testing.M) {
	os.Exit(firestoretest.Main(m))
}

// harness is one implementation under the conformance tests.
type harness struct {
	store incident.Store
	// instance returns another store on the same data, as a second
	// function instance would have.
	instance func(t *testing.T) incident.Store
	// eventIDs lists the ids of the event records stored for incidentID,
	// looking past the Store interface.
	eventIDs func(t *testing.T, incidentID string) []string
	// expireAt returns the expire_at of incidentID's document, and
	// whether it has one.
	expireAt func(t *testing.T, incidentID string) (time.Time, bool)
}

// testRetention is the stores' retention in the conformance tests: not
// the default, to show the one given is used.
const testRetention = 30 * 24 * time.Hour

func newMemoryHarness(t *testing.T) harness {
	m := NewMemory()
	m.Retention = testRetention
	return harness{
		store:    m,
		instance: func(t *testing.T) incident.Store { return m },
		expireAt: func(t *testing.T, incidentID string) (time.Time, bool) {
			m.mu.Lock()
			defer m.mu.Unlock()
			at, ok := m.expires[incidentID]
			return at, ok
		},
		eventIDs: func(t *testing.T, incidentID string) []string {
			m.mu.Lock()
			defer m.mu.Unlock()
			var ids []string
			for k := range m.events {
				if k.incidentID == incidentID {
					ids = append(ids, k.eventID)
				}
			}
			slices.Sort(ids)
			return ids
		},
	}
}

func newFirestoreHarness(t *testing.T) harness {
	project := firestoretest.Project(t)
	open := func(t *testing.T) *Firestore {
		t.Helper()
		s, err := OpenFirestore(context.Background(), project, "")
		if err != nil {
			t.Fatalf("OpenFirestore(%q) error = %v", project, err)
		}
		s.Retention = testRetention
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open(t)
	return harness{
		store:    s,
		instance: func(t *testing.T) incident.Store { return open(t) },
		expireAt: func(t *testing.T, incidentID string) (time.Time, bool) {
			t.Helper()
			snap, err := getDoc(context.Background(), s.client, s.client.Collection(incidentsCollection).Doc(incidentID))
			if err != nil || !snap.Exists() {
				t.Fatalf("read incident %s: exists %t, error %v", incidentID, snap != nil && snap.Exists(), err)
			}
			v, ok := snap.Data()["expire_at"]
			if !ok {
				return time.Time{}, false
			}
			at, isTime := v.(time.Time)
			if !isTime {
				t.Fatalf("incident %s: expire_at = %T %v, want a timestamp (the TTL policy ignores anything else)", incidentID, v, v)
			}
			return at, true
		},
		eventIDs: func(t *testing.T, incidentID string) []string {
			t.Helper()
			refs, err := s.client.Collection(incidentsCollection).Doc(incidentID).Collection(eventsCollection).
				DocumentRefs(context.Background()).GetAll()
			if err != nil {
				t.Fatalf("list events of %s: %v", incidentID, err)
			}
			var ids []string
			for _, r := range refs {
				ids = append(ids, r.ID)
			}
			slices.Sort(ids)
			return ids
		},
	}
}

// TestStore runs the same conformance tests against every implementation,
// each test on a fresh, empty store.
func TestStore(t *testing.T) {
	impls := []struct {
		name string
		new  func(t *testing.T) harness
	}{
		{"memory", newMemoryHarness},
		{"firestore", newFirestoreHarness},
	}
	tests := []struct {
		name string
		test func(t *testing.T, h harness)
	}{
		{"UnknownIncident", testUnknownIncident},
		{"RoundTrip", testRoundTrip},
		{"OverwriteClearsFields", testOverwriteClearsFields},
		{"NoEventID", testNoEventID},
		{"ChangeBits", testChangeBits},
		{"FnErrorAborts", testFnErrorAborts},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"OtherInstancesWrites", testOtherInstancesWrites},
		{"EventsIndependent", testEventsIndependent},
		{"InvalidIDs", testInvalidIDs},
		{"ValidIDsAtTheLimits", testValidIDs},
		{"NoAliasing", testNoAliasing},
		{"DueForArchiving", testDue},
		{"ExpiresOnceResolved", testExpiresOnceResolved},
		{"ByChannel", testByChannel},
		{"Memory", testMemory},
		{"MemoryOfReopenedAndMerged", testMemoryReopenedMerged},
	}
	// Each test gets a store of its own (on the emulator, a project of
	// its own), so they run in parallel.
	t.Parallel()
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.test(t, impl.new(t))
				})
			}
		})
	}
}

// read returns what the store holds for incidentID and eventID, writing
// nothing.
func read(t *testing.T, s incident.Store, incidentID, eventID string) (incident.State, incident.EventRecord) {
	t.Helper()
	var st incident.State
	var er incident.EventRecord
	err := s.Update(context.Background(), incidentID, eventID, func(s *incident.State, e *incident.EventRecord) (incident.Change, error) {
		st, er = *s, *e
		return 0, nil
	})
	if err != nil {
		t.Fatalf("Update(%q, %q) read error = %v", incidentID, eventID, err)
	}
	return st, er
}

// write replaces the stored documents that ch names with st and er.
func write(t *testing.T, s incident.Store, incidentID, eventID string, ch incident.Change, st incident.State, er incident.EventRecord) {
	t.Helper()
	err := s.Update(context.Background(), incidentID, eventID, func(s *incident.State, e *incident.EventRecord) (incident.Change, error) {
		*s, *e = st, er
		return ch, nil
	})
	if err != nil {
		t.Fatalf("Update(%q, %q) write error = %v", incidentID, eventID, err)
	}
}

// testTime is a time as Firestore keeps it (microseconds), in a zone other
// than UTC to show the zone does not matter.
var testTime = time.Now().Truncate(time.Microsecond).In(time.FixedZone("UTC+5", 5*3600))

func fullState() incident.State {
	return incident.State{
		Snapshot: incident.Snapshot{
			ID:               "Q1ABCDEF",
			Number:           1234,
			Title:            "Checkout latency <!channel> & more",
			Status:           "acknowledged",
			Urgency:          "high",
			Priority:         "P1",
			HTMLURL:          "https://acme.pagerduty.com/incidents/Q1ABCDEF",
			Service:          incident.Ref{ID: "PSVC", Type: "service_reference", Summary: "Checkout API", HTMLURL: "https://acme.pagerduty.com/services/PSVC"},
			EscalationPolicy: incident.Ref{ID: "PEP", Type: "escalation_policy_reference", Summary: "Checkout on-call", HTMLURL: "https://acme.pagerduty.com/escalation_policies/PEP"},
			Assignees: []incident.Ref{
				{ID: "PADA", Type: "user_reference", Summary: "Ada Lovelace", HTMLURL: "https://acme.pagerduty.com/users/PADA"},
				{ID: "PGRACE", Type: "user_reference", Summary: "Grace Hopper", HTMLURL: "https://acme.pagerduty.com/users/PGRACE"},
			},
			Teams:            []incident.Ref{{ID: "PTEAM", Type: "team_reference", Summary: "Payments", HTMLURL: "https://acme.pagerduty.com/teams/PTEAM"}},
			IncidentType:     "major_incident",
			ConferenceURL:    "https://meet.example.com/abc",
			ConferenceNumber: "+1 555 0100,,123#",
			ConferenceAt:     testTime.Add(-30 * time.Minute),
			CreatedAt:        testTime.Add(-time.Hour),
			ResolvedAt:       testTime.Add(-time.Minute),
			MergedInto:       incident.Ref{ID: "Q9", Type: "incident_reference", Summary: "Checkout down", HTMLURL: "https://acme.pagerduty.com/incidents/Q9"},
			Complete:         true,
			UpdatedAt:        testTime,
		},
		Version:     7,
		ChannelID:   "C0123",
		ChannelName: "inc-1234-checkout-latency",
		LeaseOwner:  "attempt-1",
		LeaseUntil:  testTime.Add(30 * time.Second),
		Ledger: []incident.Entry{
			{Key: incident.KeyChannel, Owner: "attempt-1", Since: testTime.Add(-time.Second).UTC(), Names: []string{"inc-q1abcdef-checkout", "inc-1234-checkout-latency"}},
			{Key: incident.BoardKey("CPOSTING"), Owner: "attempt-1", Thread: true},
			{Key: incident.KeyTopic, PutOff: true, Event: "E7"},
		},
		RootTS:          "1700000000.000100",
		RootVersion:     6,
		Topic:           "Acknowledged · high · P1 · Checkout API",
		Bookmarks:       []string{"https://acme.pagerduty.com/incidents/Q1ABCDEF", "https://meet.example.com/abc"},
		Invitees:        []string{"U0LEAD", "@sre-oncall"},
		CannotInvite:    []string{"Alan Turing (no Slack account)"},
		ChannelArchived: true,
		Closed:          true,
		PastChannels:    []string{"C0OLD"},
		MergeNoted:      true,
		Backlinked:      "C0NEW",
		People:          []incident.Ref{{ID: "PADA", Type: "user_reference", Summary: "Ada Lovelace"}, {ID: "PBOB", Type: "user", Summary: "Bob"}},
		PeopleDone:      []string{"PADA"},
		Boards: []incident.Board{
			{ChannelID: "CANNOUNCE", TS: "1700000000.000200", Version: 7, HasChannel: true},
			{ChannelID: "CLOWPRIO", TS: "1700000000.000300", Version: 5, Thread: true},
			{ChannelID: "CGONE", GaveUp: true},
		},
		History: []incident.HistoryLine{
			{At: testTime.Add(-time.Hour).UTC(), Text: "Note from Ada: on it", Early: true},
			{At: testTime.Add(-10 * time.Minute).UTC(), Text: "Priority changed to P1 by Ada", EventID: "E7"},
		},
		Summarized:  true,
		LateChannel: true,
		Timeline: []incident.HistoryLine{
			{At: testTime.Add(-time.Hour).UTC(), Text: "Triggered (high urgency)", EventID: "E1"},
			{At: testTime.Add(-50 * time.Minute).UTC(), Text: "Acknowledged by Ada", EventID: "E2"},
		},
		TimelineCut:    3,
		AckedAt:        testTime.Add(-50 * time.Minute).UTC(),
		AckedBy:        "Ada Lovelace",
		Escalations:    2,
		Reassignments:  1,
		Notes:          4,
		Update:         incident.StatusUpdate{Text: "Rolled back; monitoring", By: "Ada Lovelace", At: testTime.Add(-5 * time.Minute).UTC()},
		Lead:           incident.Lead{SlackUserID: "UADA", Name: "Ada Lovelace", At: testTime.Add(-40 * time.Minute).UTC()},
		Roles:          []incident.Role{{Name: "Incident Commander", Assignee: incident.Ref{ID: "PGRACE", Type: "user_reference", Summary: "Grace Hopper"}, At: testTime.Add(-30 * time.Minute).UTC()}},
		RemindedAt:     testTime.Add(-20 * time.Minute).UTC(),
		SnoozedUntil:   testTime.Add(time.Hour).UTC(),
		ResolvedBy:     "Grace Hopper",
		LastResolvedAt: testTime.Add(-2 * 24 * time.Hour).UTC(),
		LastNote:       "Restarted the pool",
		LastNoteAt:     testTime.Add(-2*24*time.Hour - time.Minute).UTC(),
		Recalled:       true,
		FollowUps:      []string{"Alert on pool size", "Runbook for failover"},
		Canvas:         "F0CANVAS1",
		NoCanvas:       true,
		Retro:          testTime.Add(-2 * 24 * time.Hour).UTC(),
		CanvasShows:    "3f2a9c0d1b7e4a5c6d8e9f01",
		Past: []incident.PastIncident{{
			ID: "QOLD", Number: 3, Title: "Checkout 5xx", Words: []string{"checkout", "<num>"},
			Service: incident.Ref{ID: "PSVC", Type: "service_reference", Summary: "Checkout"}, HTMLURL: "https://acme.pagerduty.com/incidents/QOLD",
			Status: incident.StatusResolved, TriggeredAt: testTime.Add(-30 * 24 * time.Hour).UTC(), ResolvedAt: testTime.Add(-29 * 24 * time.Hour).UTC(),
			ResolvedBy: "Ada", ChannelID: "COLD", ChannelName: "inc-3-checkout-5xx", Note: "Rolled back", FollowUps: []string{"alert on pool size"},
		}},
	}
}

func fullEvent() incident.EventRecord {
	return incident.EventRecord{
		Type:       "incident.acknowledged",
		OccurredAt: testTime.Add(-2 * time.Minute),
		Done:       true,
		ReplyTS:    "1700000000.000200",
		ExpireAt:   testTime.Add(7 * 24 * time.Hour),
		Owner:      "attempt-2",
		Until:      testTime.Add(time.Minute),
	}
}

// storedState and storedEvent give what reading back st or er returns.
func storedState(st incident.State) incident.State             { st.Exists = true; return st }
func storedEvent(er incident.EventRecord) incident.EventRecord { er.Exists = true; return er }

func testUnknownIncident(t *testing.T, h harness) {
	st, er := read(t, h.store, "QUNKNOWN", "EUNKNOWN")
	if diff := cmp.Diff(incident.State{}, st); diff != "" {
		t.Errorf("State of unknown incident (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(incident.EventRecord{}, er); diff != "" {
		t.Errorf("EventRecord of unknown event (-want +got):\n%s", diff)
	}
}

func testRoundTrip(t *testing.T, h harness) {
	tests := []struct {
		name string
		st   incident.State
		er   incident.EventRecord
	}{
		{"full", fullState(), fullEvent()},
		{"zero", incident.State{}, incident.EventRecord{}},
		{"sparse", incident.State{
			Snapshot: incident.Snapshot{
				ID:        "Q2",
				Number:    2,
				Title:     "Disk full",
				Status:    "triggered",
				Assignees: []incident.Ref{{ID: "PADA"}},
				CreatedAt: testTime.UTC(),
			},
			Version:    1,
			LeaseOwner: "attempt-1",
			LeaseUntil: testTime,
		}, incident.EventRecord{Exists: true, Type: "incident.triggered", ExpireAt: testTime}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			incidentID, eventID := "Q"+tt.name, "E"+tt.name
			write(t, h.store, incidentID, eventID, incident.ChangeState|incident.ChangeEvent, tt.st, tt.er)
			st, er := read(t, h.store, incidentID, eventID)
			if diff := cmp.Diff(storedState(tt.st), st); diff != "" {
				t.Errorf("State read back (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(storedEvent(tt.er), er); diff != "" {
				t.Errorf("EventRecord read back (-want +got):\n%s", diff)
			}
		})
	}
}

// testExpiresOnceResolved: an incident document gets an expire_at, the
// store's retention after the incident resolved, for the TTL policy to
// delete it by; an open incident's document has none, and a reopen (here
// written by another instance) removes it.
func testExpiresOnceResolved(t *testing.T, h harness) {
	const id = "QEXPIRE"
	resolvedAt := testTime.Add(-time.Hour)
	setStatus := func(s incident.Store, status incident.Status, at time.Time) {
		t.Helper()
		err := s.Update(context.Background(), id, "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
			st.Snapshot.ID, st.Snapshot.Status, st.Snapshot.ResolvedAt = id, status, at
			st.Version++
			return incident.ChangeState, nil
		})
		if err != nil {
			t.Fatalf("Update(%s) to %s error = %v", id, status, err)
		}
	}
	wantExpiry := func(step string, want time.Time) {
		t.Helper()
		got, ok := h.expireAt(t, id)
		switch {
		case want.IsZero() && ok:
			t.Errorf("%s: expire_at = %v, want none", step, got)
		case !want.IsZero() && (!ok || !got.Equal(want)):
			t.Errorf("%s: expire_at = %v (set %t), want %v", step, got, ok, want)
		}
	}
	setStatus(h.store, incident.StatusTriggered, time.Time{})
	wantExpiry("triggered", time.Time{})
	setStatus(h.store, incident.StatusResolved, resolvedAt)
	wantExpiry("resolved", resolvedAt.Add(testRetention))
	setStatus(h.instance(t), incident.StatusAcknowledged, time.Time{})
	wantExpiry("reopened", time.Time{})
	setStatus(h.store, incident.StatusResolved, testTime)
	wantExpiry("resolved again", testTime.Add(testRetention))

	// A document first written resolved (its earlier events lost) gets
	// one at once.
	write(t, h.store, "QLATE", "", incident.ChangeState, incident.State{
		Snapshot: incident.Snapshot{ID: "QLATE", Status: incident.StatusResolved, ResolvedAt: resolvedAt},
	}, incident.EventRecord{})
	if got, ok := h.expireAt(t, "QLATE"); !ok || !got.Equal(resolvedAt.Add(testRetention)) {
		t.Errorf("created resolved: expire_at = %v (set %t), want %v", got, ok, resolvedAt.Add(testRetention))
	}
}

// testOverwriteClearsFields checks that a write replaces the document:
// fields set before and zero now read back zero, and empty slices nil.
func testOverwriteClearsFields(t *testing.T, h harness) {
	write(t, h.store, "Q1", "E1", incident.ChangeState|incident.ChangeEvent, fullState(), fullEvent())

	st := incident.State{Version: 8, Bookmarks: []string{}}
	st.Snapshot.Assignees = []incident.Ref{}
	er := incident.EventRecord{Type: "incident.resolved"}
	write(t, h.store, "Q1", "E1", incident.ChangeState|incident.ChangeEvent, st, er)

	gotSt, gotEr := read(t, h.store, "Q1", "E1")
	if diff := cmp.Diff(incident.State{Exists: true, Version: 8}, gotSt); diff != "" {
		t.Errorf("State after overwrite (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(incident.EventRecord{Exists: true, Type: "incident.resolved"}, gotEr); diff != "" {
		t.Errorf("EventRecord after overwrite (-want +got):\n%s", diff)
	}
}

func testNoEventID(t *testing.T, h harness) {
	for i := range 2 {
		calls := 0
		err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
			calls++
			if diff := cmp.Diff(incident.EventRecord{}, *er); diff != "" {
				t.Errorf("call %d: EventRecord given for no event (-want +got):\n%s", i, diff)
			}
			// Try to write an event anyway: it must go nowhere.
			*er = fullEvent()
			st.Version++
			return incident.ChangeState | incident.ChangeEvent, nil
		})
		if err != nil {
			t.Fatalf(`Update("Q1", "") error = %v`, err)
		}
		if calls == 0 {
			t.Fatalf(`Update("Q1", "") did not call fn`)
		}
	}
	if got := h.eventIDs(t, "Q1"); len(got) != 0 {
		t.Errorf("event records stored = %q, want none", got)
	}
	if st, _ := read(t, h.store, "Q1", ""); !st.Exists || st.Version != 2 {
		t.Errorf("State = {Exists:%v Version:%d}, want {Exists:true Version:2}", st.Exists, st.Version)
	}
}

func testChangeBits(t *testing.T, h harness) {
	tests := []struct {
		name      string
		ch        incident.Change
		wantState bool
		wantEvent bool
	}{
		{"none", 0, false, false},
		{"state", incident.ChangeState, true, false},
		{"event", incident.ChangeEvent, false, true},
		{"both", incident.ChangeState | incident.ChangeEvent, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			incidentID, eventID := "Q"+tt.name, "E"+tt.name
			write(t, h.store, incidentID, eventID, tt.ch, fullState(), fullEvent())
			st, er := read(t, h.store, incidentID, eventID)
			want := incident.State{}
			if tt.wantState {
				want = storedState(fullState())
			}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("State after Change %b (-want +got):\n%s", tt.ch, diff)
			}
			wantEr := incident.EventRecord{}
			if tt.wantEvent {
				wantEr = storedEvent(fullEvent())
			}
			if diff := cmp.Diff(wantEr, er); diff != "" {
				t.Errorf("EventRecord after Change %b (-want +got):\n%s", tt.ch, diff)
			}
		})
	}

	// ChangeEvent alone leaves an existing incident as it was.
	write(t, h.store, "Qexisting", "E1", incident.ChangeState, fullState(), incident.EventRecord{})
	err := h.store.Update(context.Background(), "Qexisting", "E1", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		st.Version = 99
		st.ChannelID = "CCHANGED"
		er.Type = "incident.resolved"
		return incident.ChangeEvent, nil
	})
	if err != nil {
		t.Fatalf("Update error = %v", err)
	}
	st, er := read(t, h.store, "Qexisting", "E1")
	if diff := cmp.Diff(storedState(fullState()), st); diff != "" {
		t.Errorf("State after a ChangeEvent-only update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(incident.EventRecord{Exists: true, Type: "incident.resolved"}, er); diff != "" {
		t.Errorf("EventRecord after a ChangeEvent-only update (-want +got):\n%s", diff)
	}
}

var errTest = errors.New("test error")

func testFnErrorAborts(t *testing.T, h harness) {
	write(t, h.store, "Qold", "E1", incident.ChangeState|incident.ChangeEvent, fullState(), fullEvent())

	for _, id := range []string{"Qold", "Qnew"} {
		fnErr := fmt.Errorf("decide: %w", errTest)
		err := h.store.Update(context.Background(), id, "E1", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
			st.Version = 99
			st.Bookmarks = append(st.Bookmarks, "https://changed.example.com")
			er.Done = false
			er.ReplyTS = "changed"
			return incident.ChangeState | incident.ChangeEvent, fnErr
		})
		if !errors.Is(err, errTest) {
			t.Errorf("Update(%q) error = %v, want one matching %v", id, err, errTest)
		}
		if err != fnErr {
			t.Errorf("Update(%q) error = %#v, want fn's error as is, %#v", id, err, fnErr)
		}
	}

	st, er := read(t, h.store, "Qold", "E1")
	if diff := cmp.Diff(storedState(fullState()), st); diff != "" {
		t.Errorf("State after failed update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(storedEvent(fullEvent()), er); diff != "" {
		t.Errorf("EventRecord after failed update (-want +got):\n%s", diff)
	}
	st, er = read(t, h.store, "Qnew", "E1")
	if st.Exists || er.Exists {
		t.Errorf("after failed update of a new incident: State.Exists = %v, EventRecord.Exists = %v, want false, false", st.Exists, er.Exists)
	}
}

// testConcurrentUpdates shows that Update is a transaction: concurrent
// read-modify-write cycles, through several instances as in production,
// lose no update.
func testConcurrentUpdates(t *testing.T, h harness) {
	const n, instances = 20, 4
	stores := []incident.Store{h.store}
	for len(stores) < instances {
		stores = append(stores, h.instance(t))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		calls int
		errs  []error
	)
	for i := range n {
		wg.Go(func() {
			eventID := fmt.Sprintf("E%02d", i)
			err := stores[i%instances].Update(context.Background(), "Q1", eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				st.Version++
				st.Bookmarks = append(st.Bookmarks, eventID)
				er.Type = eventID
				return incident.ChangeState | incident.ChangeEvent, nil
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("Update(%q): %w", eventID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d updates called fn %d times", n, calls)

	st, _ := read(t, h.store, "Q1", "")
	if st.Version != n {
		t.Errorf("Version after %d concurrent increments = %d, want %d", n, st.Version, n)
	}
	if len(st.Bookmarks) != n {
		t.Errorf("len(Bookmarks) after %d concurrent appends = %d, want %d", n, len(st.Bookmarks), n)
	}
	if got := h.eventIDs(t, "Q1"); len(got) != n {
		t.Errorf("event records stored = %d %q, want %d", len(got), got, n)
	}
}

// testOtherInstancesWrites: an update sees what another instance wrote
// since this one last wrote the incident: the state, an event record it
// never saw, and in an update that writes nothing.
func testOtherInstancesWrites(t *testing.T, h harness) {
	ctx := context.Background()
	a, b := h.store, h.instance(t)
	incr := func(s incident.Store, eventID string) (seen incident.State, seenEvent incident.EventRecord) {
		t.Helper()
		err := s.Update(ctx, "Q1", eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
			seen, seenEvent = st.Clone(), *er
			st.Version++
			er.Type = "incident.annotated"
			return incident.ChangeState | incident.ChangeEvent, nil
		})
		if err != nil {
			t.Fatalf("Update(Q1, %s) error = %v", eventID, err)
		}
		return seen, seenEvent
	}
	incr(a, "E1")
	if seen, _ := incr(b, "E2"); seen.Version != 1 {
		t.Errorf("second instance saw Version %d, want 1", seen.Version)
	}
	if seen, _ := incr(a, "E3"); seen.Version != 2 {
		t.Errorf("first instance after the second wrote saw Version %d, want 2", seen.Version)
	}
	// E4 is recorded by b only: a, which never saw it, must find it.
	incr(b, "E4")
	if seen, seenEvent := incr(a, "E4"); seen.Version != 4 || !seenEvent.Exists || seenEvent.Type != "incident.annotated" {
		t.Errorf("first instance on an event the second recorded saw Version %d, event %+v; want 4 and the record", seen.Version, seenEvent)
	}
	incr(b, "E5")
	var last incident.State
	err := a.Update(ctx, "Q1", "E5", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		last = st.Clone()
		return 0, nil
	})
	if err != nil || last.Version != 6 {
		t.Errorf("an update writing nothing saw Version %d (error %v), want 6", last.Version, err)
	}
}

func testEventsIndependent(t *testing.T, h harness) {
	e1, e2 := fullEvent(), fullEvent()
	e2.Type, e2.ReplyTS, e2.Done = "incident.annotated", "", false
	write(t, h.store, "Q1", "E1", incident.ChangeEvent, fullState(), e1)
	write(t, h.store, "Q1", "E2", incident.ChangeEvent, fullState(), e2)

	if got, want := h.eventIDs(t, "Q1"), []string{"E1", "E2"}; !slices.Equal(got, want) {
		t.Errorf("event records stored = %q, want %q", got, want)
	}
	st, er := read(t, h.store, "Q1", "E1")
	if diff := cmp.Diff(storedEvent(e1), er); diff != "" {
		t.Errorf("EventRecord E1 (-want +got):\n%s", diff)
	}
	if st.Exists {
		t.Errorf("State.Exists = true after ChangeEvent-only updates, want false")
	}
	_, er = read(t, h.store, "Q1", "E2")
	if diff := cmp.Diff(storedEvent(e2), er); diff != "" {
		t.Errorf("EventRecord E2 (-want +got):\n%s", diff)
	}
	// An event id belongs to its incident.
	if _, er := read(t, h.store, "Q2", "E1"); er.Exists {
		t.Errorf("EventRecord E1 of another incident: Exists = true, want false")
	}
}

func testInvalidIDs(t *testing.T, h harness) {
	invalid := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"dot", "."},
		{"dotdot", ".."},
		{"slash", "a/b"},
		{"too long", strings.Repeat("x", 1501)},
		{"not utf-8", "a\xffb"},
		{"reserved", "__id__"},
	}
	// A cancelled context fails any I/O with context.Canceled, so
	// ErrInvalidID shows the id was rejected before any.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range invalid {
		for i, ids := range [][2]string{{tt.id, "E1"}, {"Q1", tt.id}} {
			if ids[1] == "" {
				continue // no event: valid
			}
			t.Run(fmt.Sprintf("%s/%s", []string{"incident", "event"}[i], tt.name), func(t *testing.T) {
				err := h.store.Update(ctx, ids[0], ids[1], func(*incident.State, *incident.EventRecord) (incident.Change, error) {
					t.Errorf("fn called for invalid id")
					return 0, nil
				})
				if !errors.Is(err, ErrInvalidID) {
					t.Errorf("Update(%.20q, %.20q) error = %v, want ErrInvalidID", ids[0], ids[1], err)
				}
			})
		}
	}
	// The cancelled context does fail valid ids, otherwise.
	err := h.store.Update(ctx, "Q1", "E1", func(*incident.State, *incident.EventRecord) (incident.Change, error) {
		return incident.ChangeState, nil
	})
	if err == nil || errors.Is(err, ErrInvalidID) {
		t.Errorf(`Update("Q1", "E1") with cancelled context error = %v, want a context error`, err)
	}
}

// testValidIDs checks ids that just pass validation are accepted by the
// store itself, so that Memory is no more lenient than Firestore.
func testValidIDs(t *testing.T, h harness) {
	for _, id := range []string{
		strings.Repeat("x", 1500),
		"___",
		"_id_",
		"...",
		"a.b",
		"ünïcödé-🔥",
		"PT4KHLK",
	} {
		er := incident.EventRecord{Type: "incident.triggered", ExpireAt: testTime}
		st := incident.State{Version: 1}
		write(t, h.store, id, id, incident.ChangeState|incident.ChangeEvent, st, er)
		gotSt, gotEr := read(t, h.store, id, id)
		if diff := cmp.Diff(storedState(st), gotSt); diff != "" {
			t.Errorf("State of %.20q (-want +got):\n%s", id, diff)
		}
		if diff := cmp.Diff(storedEvent(er), gotEr); diff != "" {
			t.Errorf("EventRecord of %.20q (-want +got):\n%s", id, diff)
		}
	}
}

// testNoAliasing checks that neither the values fn is given nor those it
// stores share memory with the stored data.
func testNoAliasing(t *testing.T, h harness) {
	in := fullState()
	write(t, h.store, "Q1", "", incident.ChangeState, in, incident.EventRecord{})
	// Change the slices that were written.
	in.Snapshot.Assignees[0].Summary = "changed"
	in.Snapshot.Teams[0].ID = "changed"
	in.Bookmarks[0] = "changed"

	// Change the slices fn was given, after Update returned.
	st, _ := read(t, h.store, "Q1", "")
	st.Snapshot.Assignees[1].Summary = "changed"
	st.Snapshot.Teams[0].Summary = "changed"
	st.Bookmarks[1] = "changed"

	// Change them within fn without reporting a change.
	err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		st.Snapshot.Assignees[0].ID = "changed"
		st.Bookmarks[0] = "changed"
		return 0, nil
	})
	if err != nil {
		t.Fatalf("Update error = %v", err)
	}

	got, _ := read(t, h.store, "Q1", "")
	if diff := cmp.Diff(storedState(fullState()), got); diff != "" {
		t.Errorf("State after changing slices outside the store (-want +got):\n%s", diff)
	}
}

// TestFirestoreLayout checks the documents as other tools (the console,
// the TTL policy) see them.
func TestFirestoreLayout(t *testing.T) {
	client := firestoretest.Client(t)
	s := NewFirestore(client)
	ctx := context.Background()
	write(t, s, "Q1", "E1", incident.ChangeState|incident.ChangeEvent, fullState(), fullEvent())
	write(t, s, "Q1", "E2", incident.ChangeEvent, incident.State{}, incident.EventRecord{Type: "incident.annotated"})

	inc, err := client.Doc("incidents/Q1").Get(ctx)
	if err != nil {
		t.Fatalf("get incidents/Q1: %v", err)
	}
	data := inc.Data()
	if _, ok := data["written_at"].(time.Time); !ok {
		t.Errorf("incidents/Q1 written_at = %#v, want a timestamp", data["written_at"])
	}
	snap, _ := data["snapshot"].(map[string]any)
	ledger, _ := data["ledger"].([]any)
	var putOff map[string]any
	if len(ledger) == 3 {
		putOff, _ = ledger[2].(map[string]any)
	}
	for _, tt := range []struct {
		field string
		got   any
		want  any
	}{
		{"version", data["version"], int64(7)},
		{"channel_id", data["channel_id"], "C0123"},
		{"root_ts", data["root_ts"], "1700000000.000100"},
		{"snapshot.number", snap["number"], int64(1234)},
		{"snapshot.updated_at", snap["updated_at"], testTime.UTC()},
		// Status and urgency are PagerDuty's words; LateChannel and a
		// put-off ledger entry are "deferred", as documents already
		// stored have them.
		{"snapshot.status", snap["status"], "acknowledged"},
		{"snapshot.urgency", snap["urgency"], "high"},
		{"deferred", data["deferred"], true},
		{"ledger[2].deferred", putOff["deferred"], true},
		{"snapshot.service", snap["service"], map[string]any{
			"id": "PSVC", "type": "service_reference", "summary": "Checkout API", "html_url": "https://acme.pagerduty.com/services/PSVC",
		}},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("incidents/Q1 %s (-want +got):\n%s", tt.field, diff)
		}
	}

	for _, tt := range []struct {
		path string
		want map[string]any
	}{
		{"incidents/Q1/events/E1", map[string]any{
			"type":        "incident.acknowledged",
			"occurred_at": testTime.Add(-2 * time.Minute).UTC(),
			"done":        true,
			"reply_ts":    "1700000000.000200",
			"expire_at":   testTime.Add(7 * 24 * time.Hour).UTC(),
			"owner":       "attempt-2",
			"lease_until": testTime.Add(time.Minute).UTC(),
		}},
		// expire_at is a timestamp even when zero, so the TTL policy
		// covers every event document.
		{"incidents/Q1/events/E2", map[string]any{
			"type":      "incident.annotated",
			"done":      false,
			"reply_ts":  "",
			"expire_at": time.Time{},
			"owner":     "",
		}},
	} {
		doc, err := client.Doc(tt.path).Get(ctx)
		if err != nil {
			t.Fatalf("get %s: %v", tt.path, err)
		}
		if diff := cmp.Diff(tt.want, doc.Data()); diff != "" {
			t.Errorf("%s fields (-want +got):\n%s", tt.path, diff)
		}
	}
}

// TestOpenFirestore checks that OpenFirestore honours the database id.
func TestOpenFirestore(t *testing.T) {
	firestoretest.Client(t) // skips without an emulator
	ctx := context.Background()
	project := fmt.Sprintf("test-open-%d", time.Now().UnixNano())

	open := func(database string) *Firestore {
		t.Helper()
		s, err := OpenFirestore(ctx, project, database)
		if err != nil {
			t.Fatalf("OpenFirestore(%q, %q) error = %v", project, database, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close() error = %v", err)
			}
		})
		return s
	}
	def, other := open(""), open("other")
	write(t, def, "Q1", "", incident.ChangeState, incident.State{Version: 1}, incident.EventRecord{})
	write(t, other, "Q1", "", incident.ChangeState, incident.State{Version: 2}, incident.EventRecord{})

	for _, tt := range []struct {
		database string
		s        *Firestore
		want     int64
	}{
		{"", def, 1},
		{"other", other, 2},
		{firestore.DefaultDatabaseID, open(firestore.DefaultDatabaseID), 1},
	} {
		if st, _ := read(t, tt.s, "Q1", ""); st.Version != tt.want {
			t.Errorf("OpenFirestore(%q, %q): Version = %d, want %d", project, tt.database, st.Version, tt.want)
		}
	}
}

func TestValidateIDMessage(t *testing.T) {
	tests := []struct {
		name                string
		incidentID, eventID string
		want                string
	}{
		{"slash", "a/b", "", `invalid id: incident id "a/b" contains "/"`},
		{"dotdot event", "Q1", "..", `invalid id: event id ".." is . or ..`},
		{"empty incident", "", "E1", `invalid id: incident id "" is empty`},
		{"long", strings.Repeat("x", 1501), "", `invalid id: incident id "` + strings.Repeat("x", 32) + `"…"` + strings.Repeat("x", 32) + `" is 1501 bytes long, over Firestore's 1500`},
		{"valid", "Q1", "E1", ""},
		{"no event", "Q1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateIDs(tt.incidentID, tt.eventID)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("validateIDs(%.20q, %q) = %q, want %q", tt.incidentID, tt.eventID, got, tt.want)
			}
		})
	}
}

// TestFirestoreReadsPendingWorkOfOlderDocuments checks that a document
// written before the ledger, with a channel being created and a board
// being posted, reads back with both as pending ledger entries.
func TestFirestoreReadsPendingWorkOfOlderDocuments(t *testing.T) {
	client := firestoretest.Client(t)
	ctx := context.Background()
	ref := client.Collection("incidents").Doc("QOLD")
	_, err := ref.Set(ctx, map[string]any{
		"version":        int64(2),
		"lease_owner":    "old-attempt",
		"creating_since": testTime.UTC(),
		"creating_names": []string{"inc-7-db-down"},
		"boards": []map[string]any{
			{"channel_id": "CANNOUNCE", "ts": "1.2", "version": int64(2)},
			{"channel_id": "CLOW", "ts": "", "thread": true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := NewFirestore(client).Get(ctx, "QOLD", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.Entry{
		{Key: incident.KeyChannel, Owner: "old-attempt", Since: testTime.UTC(), Names: []string{"inc-7-db-down"}},
		{Key: incident.BoardKey("CLOW"), Owner: "old-attempt", Thread: true},
	}
	if diff := cmp.Diff(want, st.Ledger, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("Ledger (-want +got):\n%s", diff)
	}
	if len(st.Boards) != 1 || st.Boards[0].ChannelID != "CANNOUNCE" {
		t.Errorf("Boards = %+v, want only the posted CANNOUNCE message", st.Boards)
	}
}

// testDue: the incidents due for archiving are those resolved at or
// before the time given whose own channel is open, oldest first, at most
// the limit; one archived, reopened, without a channel or resolved later
// is not.
func testDue(t *testing.T, h harness) {
	ctx := context.Background()
	resolved := func(id string, ago time.Duration, mod func(*incident.State)) {
		st := incident.State{
			Snapshot:  incident.Snapshot{ID: id, Status: "resolved", ResolvedAt: testTime.Add(-ago).UTC(), Complete: true},
			Version:   3,
			ChannelID: "C" + id,
		}
		if mod != nil {
			mod(&st)
		}
		write(t, h.store, id, "", incident.ChangeState, st, incident.EventRecord{})
	}
	resolved("QOLD", 72*time.Hour, nil)
	resolved("QDAY", 30*time.Hour, nil)
	resolved("QEDGE", 24*time.Hour, nil)
	resolved("QRECENT", time.Hour, nil)
	resolved("QARCHIVED", 48*time.Hour, func(st *incident.State) { st.ChannelArchived = true })
	resolved("QNOCHANNEL", 48*time.Hour, func(st *incident.State) { st.ChannelID = "" })
	resolved("QREOPENED", 48*time.Hour, func(st *incident.State) { st.Snapshot.Status = "triggered" })
	got, err := h.store.Due(ctx, testTime.Add(-24*time.Hour), 10)
	if err != nil {
		t.Fatalf("Due error = %v", err)
	}
	if want := []string{"QOLD", "QDAY", "QEDGE"}; !slices.Equal(got, want) {
		t.Errorf("Due = %v, want %v", got, want)
	}
	if got, _ := h.store.Due(ctx, testTime.Add(-24*time.Hour), 2); len(got) != 2 || got[0] != "QOLD" {
		t.Errorf("Due(limit 2) = %v, want the two oldest", got)
	}
}
