package perf

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

func TestMain(m *testing.M) {
	// The micro section runs testing.Benchmark, which takes benchtime per
	// run; a tiny run needs no second.
	flag.Parse()
	_ = flag.Set("test.benchtime", "50ms")
	os.Exit(firestoretest.Main(m))
}

// tiny returns options that run every section quickly. Numbers from it
// mean nothing; the tests check that rows are produced and counts add up.
func tiny() Options {
	return Options{
		Runs:        1,
		Latencies:   []time.Duration{5 * time.Millisecond},
		DupDuration: 20 * time.Millisecond,
		DupWorkers:  2,
		Concurrency: 6,
		LoadLatency: 5 * time.Millisecond,
		PriorEvents: 40,
		BigEvents:   60,
		Storm:       StormOptions{Incidents: 3, Spread: 30 * time.Millisecond, Window: time.Second, Latency: 5 * time.Millisecond},
	}
}

func TestCountingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs := NewCountingStore(store.NewMemory())
	set := func(ch incident.Change, err error) incident.UpdateFunc {
		return func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
			st.Topic = "t"
			er.Type = "x"
			return ch, err
		}
	}
	errNo := errors.New("no")
	steps := []struct {
		name           string
		incident, ev   string
		fn             incident.UpdateFunc
		wantErr        error
		want           Counts
		wantNewEventID bool
	}{
		{"new event, both written", "I1", "E1", set(incident.ChangeState|incident.ChangeEvent, nil), nil,
			Counts{Transactions: 1, Runs: 1, Reads: 2, Writes: 2, StateWrites: 1, EventWrites: 1, EventDocs: 1}, true},
		{"same event again, event written", "I1", "E1", set(incident.ChangeEvent, nil), nil,
			Counts{Transactions: 1, Runs: 1, Reads: 2, Writes: 1, EventWrites: 1}, false},
		{"incident only, nothing changed", "I1", "", set(0, nil), nil,
			Counts{Transactions: 1, Runs: 1, Reads: 1}, false},
		{"incident only, event bit ignored", "I1", "", set(incident.ChangeState|incident.ChangeEvent, nil), nil,
			Counts{Transactions: 1, Runs: 1, Reads: 1, Writes: 1, StateWrites: 1}, false},
		{"fn fails: read, nothing written", "I1", "E2", set(incident.ChangeState, errNo), errNo,
			Counts{Transactions: 1, Runs: 1, Reads: 2, Failed: 1}, false},
		{"invalid id: no read", "a/b", "", set(incident.ChangeState, nil), store.ErrInvalidID,
			Counts{Transactions: 1, Failed: 1}, false},
	}
	for _, s := range steps {
		before := cs.Counts()
		err := cs.Update(ctx, s.incident, s.ev, s.fn)
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: Update error = %v, want %v", s.name, err, s.wantErr)
		}
		if diff := cmp.Diff(s.want, cs.Counts().Sub(before)); diff != "" {
			t.Errorf("%s: counts (-want +got):\n%s", s.name, diff)
		}
	}
	st, err := cs.Peek(ctx, "I1")
	if err != nil || st.Topic != "t" {
		t.Errorf("Peek(I1) = %+v, %v; want the stored state", st, err)
	}
	if got := cs.Counts().Transactions; got != int64(len(steps)) {
		t.Errorf("after Peek, %d transactions counted, want %d: Peek is not counted", got, len(steps))
	}
}

func TestDocumentSize(t *testing.T) {
	t.Parallel()
	// The example of Firestore's storage size documentation: 147 bytes.
	got := DocumentSize("users/jeff/tasks/my_task_id", map[string]any{
		"type": "Personal", "done": false, "priority": int64(1), "description": "Learn Cloud Firestore",
	})
	if got != 147 {
		t.Errorf("DocumentSize(example) = %d, want 147", got)
	}
	nested := DocumentSize("a/b", map[string]any{"m": map[string]any{"k": "v"}, "l": []any{"x", int64(2)}, "n": nil, "t": time.Now()})
	// name 2+2+16; m: 2 + (2+2); l: 2 + 2 + 8; n: 2+1; t: 2+8; +32
	if want := 20 + 6 + 12 + 3 + 10 + 32; nested != want {
		t.Errorf("DocumentSize(nested) = %d, want %d", nested, want)
	}
	type ref struct{ ID string }
	type doc struct {
		Name  string
		N     int
		OK    bool
		At    time.Time
		Refs  []ref
		inner string
	}
	// name 20; Name 5+3; N 2+8; OK 3+1; At 3+8; Refs 5 + ID 3+2 + ID 3+3; +32
	got = StructSize("a/b", doc{Name: "ab", N: 7, OK: true, At: time.Now(), Refs: []ref{{"x"}, {"yz"}}, inner: "not counted"})
	if want := 20 + 8 + 10 + 4 + 11 + 5 + 5 + 6 + 32; got != want {
		t.Errorf("StructSize(doc) = %d, want %d", got, want)
	}
}

// lifecycleCounts runs the calls section and returns its lifecycle.
func lifecycleCounts(t *testing.T, o Options) []Step {
	t.Helper()
	o.Only = []string{"calls"}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run(calls) error = %v", err)
	}
	if len(rep.Lifecycle) != 7 {
		t.Fatalf("lifecycle has %d steps, want the 7 events of soak.Lifecycle", len(rep.Lifecycle))
	}
	return rep.Lifecycle
}

// TestLifecycleCounts checks what the counters report for a known
// lifecycle: every event is recorded in a transaction of its own (an event
// document each, later deleted by TTL), a new incident makes the six Slack
// calls of the README and a status change three, and a redelivered finished
// event is one transaction reading two documents and writing none.
func TestLifecycleCounts(t *testing.T) {
	t.Parallel()
	steps := lifecycleCounts(t, tiny())
	var tot Counts
	for _, s := range steps {
		tot = addCounts(tot, s.Store)
		if s.Store.EventDocs != 1 {
			t.Errorf("%s created %d event documents, want 1", s.EventType, s.Store.EventDocs)
		}
		if s.Store.Failed != 0 || s.Store.Runs != s.Store.Transactions {
			t.Errorf("%s: %+v, want no failed or retried transaction", s.EventType, s.Store)
		}
		// Every Update reads the incident and, with an event id, the event.
		if s.Store.Reads < s.Store.Transactions || s.Store.Reads > 2*s.Store.Transactions {
			t.Errorf("%s: %d reads for %d transactions, want 1 or 2 each", s.EventType, s.Store.Reads, s.Store.Transactions)
		}
		if s.Store.Writes != s.Store.StateWrites+s.Store.EventWrites || s.Store.EventWrites < 1 {
			t.Errorf("%s: writes %+v do not add up", s.EventType, s.Store)
		}
		if s.SlackCalls != len(s.Methods) {
			t.Errorf("%s: %d Slack calls but %d methods logged", s.EventType, s.SlackCalls, len(s.Methods))
		}
	}
	want := map[string]int{incident.EventTriggered: 6, incident.EventAcknowledged: 3, incident.EventAnnotated: 1}
	for _, s := range steps {
		if n, ok := want[s.EventType]; ok && s.SlackCalls != n {
			t.Errorf("%s made %d Slack calls (%v), want %d", s.EventType, s.SlackCalls, s.Methods, n)
		}
	}
	if tot.EventDocs != 7 {
		t.Errorf("lifecycle created %d event documents, want 7", tot.EventDocs)
	}
	if tot.Transactions < 7 {
		t.Errorf("lifecycle used %d transactions, want at least one per event", tot.Transactions)
	}
}

// TestLifecycleCountsFirestore checks that the counts do not depend on the
// store: the lifecycle costs the same wrapped around the Firestore emulator
// as around the memory store.
func TestLifecycleCountsFirestore(t *testing.T) {
	t.Parallel()
	mem := lifecycleCounts(t, tiny())
	o := tiny()
	o.FirestoreProject, o.EmulatorHost = firestoretest.Project(t), os.Getenv("FIRESTORE_EMULATOR_HOST")
	fs := lifecycleCounts(t, o)
	strip := func(steps []Step) []Step {
		var out []Step
		for _, s := range steps {
			// Slack's call order varies with timing; the counts do not.
			out = append(out, Step{EventType: s.EventType, SlackCalls: s.SlackCalls, Store: s.Store})
		}
		return out
	}
	if diff := cmp.Diff(strip(mem), strip(fs)); diff != "" {
		t.Errorf("lifecycle counts, memory (-) vs Firestore (+):\n%s", diff)
	}
}

// wantRows are the rows every full run reports but the process
// section's, by a prefix of their name.
var wantRows = []string{
	"triggered → answered, L=5 ms", "acknowledged → answered, L=5 ms",
	"Slack calls, triggered", "Slack calls, acknowledged",
	"store transactions, triggered", "document reads, triggered", "document writes, triggered",
	"store transactions, acknowledged", "document reads, acknowledged", "document writes, acknowledged",
	"new Slack connections per event", "Slack calls, redelivered finished event",
	"document reads + writes, redelivered finished event",
	"Firestore operations per lifecycle", "Firestore cost per 1,000 incidents",
	"latency p50", "latency p99", "requests/s, one at a time", "requests/s, 2 concurrent",
	"allocations per request", "Slack calls during the runs",
	"verify + parse + decide, time", "verify + parse + decide, allocations", "verify + parse + decide, memory",
	"acknowledged, incident with 1 earlier event", "acknowledged, incident with 40 earlier events",
	"document reads + writes, 1 earlier event", "document reads + writes, 40 earlier events",
	"incident document after 2 events", "incident document after 41 events", "incident document after 62 events",
	"time until every channel has its root", "time until every triggered delivery is accepted",
	"then until every resolved delivery is accepted", "Slack calls per incident", "Slack calls refused with 429",
	"longest answer", "deliveries answered 503, 429 or not in time", "effects left undone after the resolved events",
	"duplicates: channels per incident",
}

// processRows are the rows of the process section.
var processRows = []string{
	"exec → listening", "exec → first 2xx", "binary size", "Slack calls + open outbound sockets",
	"RSS after start", "RSS idle", "peak RSS (VmHWM), 6 concurrent", "CPU per delivery", "Slack connections opened under that load",
}

// TestRunEveryRow runs every section but the process one in a tiny
// configuration and checks that each row is there with a sample, and the
// Markdown shows it. It asserts no time against a goal: the machine is
// shared. It is not parallel: its sections measure allocations
// (testing.AllocsPerRun), which no parallel test may run beside.
func TestRunEveryRow(t *testing.T) {
	o := tiny()
	o.Only = slices.DeleteFunc(slices.Clone(Sections), func(s string) bool { return s == "process" })
	rep, md := runTiny(t, o, wantRows)
	for _, name := range []string{"Slack calls, redelivered finished event", "Slack calls during the runs"} {
		if r, ok := rowPrefix(rep, name); ok && r.Max() != 0 {
			t.Errorf("%s = %v, want 0", r.Name, r.Samples)
		}
	}
	// The incident document must not grow with events: past the
	// resolution summary's timeline (30 lines), equal sizes for incidents
	// of equal-length titles and ids.
	small, _ := rowPrefix(rep, "incident document after 2 events")
	long, _ := rowPrefix(rep, "incident document after 41 events")
	big, _ := rowPrefix(rep, "incident document after 62 events")
	if small.Max() > long.Max() || long.Max() != big.Max() {
		t.Errorf("incident document sizes %v, %v, %v bytes: want them no larger after 41 events than after 62", small.Samples, long.Samples, big.Samples)
	}
	for _, want := range []string{"| **lifecycle** |", "Prices (as of 2026-11-24)"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestRunProcessSection runs the process section in a tiny configuration:
// it builds and starts cmd/local, so it runs beside the other tests.
func TestRunProcessSection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts cmd/local")
	}
	t.Parallel()
	o := tiny()
	o.Only = []string{"process"}
	rep, md := runTiny(t, o, processRows)
	if r, ok := rowPrefix(rep, "Slack calls + open outbound sockets"); ok && r.Max() != 0 {
		t.Errorf("%s = %v, want 0", r.Name, r.Samples)
	}
	if want := "Recommended Cloud Functions (gen2) settings"; !strings.Contains(md, want) {
		t.Errorf("Markdown lacks %q:\n%s", want, md)
	}
}

// runTiny runs o and checks that its report has exactly the rows want,
// each with a sample and shown in the Markdown, which it returns.
func runTiny(t *testing.T, o Options, want []string) (*Report, string) {
	t.Helper()
	var progress bytes.Buffer
	o.Progress = &progress
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run error = %v\nprogress:\n%s", err, progress.String())
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		var found *Row
		for i, r := range rep.Rows {
			if strings.HasPrefix(r.Name, name) {
				found = &rep.Rows[i]
				break
			}
		}
		if found == nil {
			t.Errorf("no row %q", name)
			continue
		}
		if len(found.Samples) == 0 {
			t.Errorf("row %q has no samples", found.Name)
		}
		if !strings.Contains(md.String(), "| "+found.Name) {
			t.Errorf("Markdown lacks row %q", found.Name)
		}
	}
	if len(rep.Rows) != len(want) {
		var names []string
		for _, r := range rep.Rows {
			names = append(names, r.Name)
		}
		t.Errorf("%d rows, want %d: %q", len(rep.Rows), len(want), names)
	}
	return rep, md.String()
}

func rowPrefix(rep *Report, prefix string) (Row, bool) {
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Name, prefix) {
			return r, true
		}
	}
	return Row{}, false
}

func TestRunRejects(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{Only: []string{"nope"}},
		{FirestoreProject: "p"}, // no emulator host: never a real project
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) error = nil, want one", o)
		}
	}
}

func TestRowStats(t *testing.T) {
	t.Parallel()
	r := Row{Samples: []float64{3, 1, 2, 10}}
	if r.Min() != 1 || r.Max() != 10 || r.Median() != 2.5 {
		t.Errorf("min/median/max of %v = %v/%v/%v, want 1/2.5/10", r.Samples, r.Min(), r.Median(), r.Max())
	}
	for _, c := range []struct {
		v      float64
		digits int
		want   string
	}{{1234567, 0, "1,234,567"}, {9999, 0, "9999"}, {2.345, 2, "2.35"}, {-12345, 0, "-12,345"}} {
		if got := format(c.v, c.digits); got != c.want {
			t.Errorf("format(%v, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}
