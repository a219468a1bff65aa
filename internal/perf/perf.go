// Package perf measures Incident Channels reproducibly, for the README's
// performance table: the real function (the handler built by New in this
// process, or the cmd/local binary as a process), the fake Slack of
// internal/fake/slack with a fixed latency per call, and the store (in
// memory, or the Firestore emulator). Each number is taken Options.Runs
// times and reported as min / median / max.
//
// What it measures, section by section:
//
//   - critical: triggered → answered and acknowledged → answered, as a
//     ratio to the fake Slack's per-call latency L.
//   - calls: Slack calls and Firestore reads, writes and transactions per
//     event (a CountingStore around the store), and what one incident
//     lifecycle costs at Firestore's list prices.
//   - duplicate: a redelivered, finished event handled in process on one
//     core (GOMAXPROCS=1): latency, requests/s, allocations.
//   - micro: verify + parse + decide, as incident's BenchmarkVerifyParseDecide.
//   - process: cmd/local built and started as a process: exec → first 2xx,
//     binary size, no network call before the first webhook, RSS idle and
//     peak under concurrent deliveries, CPU per delivery.
//   - scale: an event of a fresh incident against one of an incident with
//     hundreds of earlier events: time, store operations, and the size of
//     the incident document (which must not grow).
//   - storm: dozens of new incidents within seconds against a fake Slack
//     that enforces its rate tiers in a compressed minute, delivered and
//     redelivered as PagerDuty does: how long until every channel has its
//     root and every delivery is accepted (as a ratio of what the creation
//     tier allows), the calls Slack refused, the longest answer, and
//     whether every effect was done, once.
//   - roundtrips (the Firestore emulator only): the Firestore round trips k
//     on the critical path of a triggered (2 L + k F) and an acknowledged
//     (L + k F) event, with F added to every round trip by a proxy.
//
// Times depend on the machine; counts do not. Tests check that every row
// is produced and that the counters count, never that a time meets a goal.
package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sections, in the order they run and are reported.
var Sections = []string{"critical", "calls", "duplicate", "micro", "process", "scale", "storm", "roundtrips"}

// Options configure a run. Zero values take the defaults of
// DefaultOptions, except LoadLatency and BigEvents, where 0 means none.
type Options struct {
	// Runs is how often each number is measured.
	Runs int
	// Latencies are the fake Slack per-call latencies of the critical
	// path section.
	Latencies []time.Duration
	// FirestoreProject selects the Firestore emulator at EmulatorHost as
	// the store, under projects named after it; empty means the in-memory
	// store. The emulator only: the caller checks FIRESTORE_EMULATOR_HOST
	// is set, which the Firestore client obeys.
	FirestoreProject string
	EmulatorHost     string
	// DupDuration is how long each duplicate fast-path run lasts (once
	// sequential, once with DupWorkers concurrent requests).
	DupDuration time.Duration
	DupWorkers  int
	// Concurrency is how many deliveries the process section sends at
	// once, half new incidents and half status events; LoadLatency is the
	// fake Slack's latency meanwhile, so they are all in flight together.
	Concurrency int
	LoadLatency time.Duration
	// PriorEvents is how many events the scale section's old incident has
	// had; BigEvents the size of the one incident whose document size is
	// reported for a long incident (0 skips it).
	PriorEvents int
	BigEvents   int
	// LocalBin is a built cmd/local; empty builds one with GoCmd (default:
	// go on PATH, then GOROOT's) into a temporary directory.
	LocalBin string
	GoCmd    string
	// StoreDelay is the latency F the roundtrips section adds to every
	// Firestore round trip.
	StoreDelay time.Duration
	// Storm shapes the storm section; zero fields take DefaultStorm's.
	Storm StormOptions
	// Only limits the run to these sections; empty runs them all.
	Only []string
	// Prices are Firestore's list prices the lifecycle cost uses.
	Prices Prices
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
}

// Prices are Firestore list prices in USD per 100,000 documents.
type Prices struct {
	Read, Write, Delete float64
	// Date is when the prices were taken; Source says where they are
	// from and for which location.
	Date, Source string
}

// DefaultPrices are Firestore (Standard edition) list prices assumed for a
// single-region US location such as us-central1, as of 2026-11-24; the
// Source says how sure they are.
var DefaultPrices = Prices{
	Read: 0.03, Write: 0.09, Delete: 0.01,
	Date: "2026-11-24",
	Source: "assumed list prices of Firestore (Standard edition) for a single-region US location such as us-central1: " +
		"reads and writes as quoted for US regions, deletes a third of the multi-region $0.02 (not read from Google's " +
		"per-location table); multi-region (nam5, eur3) is twice these. Before the free quota (50,000 reads, 20,000 writes, " +
		"20,000 deletes a day), which does not cover TTL deletes; storage (about 1 KB per incident, event records until " +
		"their TTL) is extra and negligible",
}

// DefaultOptions returns the options of a full run: about a minute with
// the in-memory store on two cores (longer with the emulator).
func DefaultOptions() Options {
	return Options{
		Runs:        5,
		Latencies:   []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
		DupDuration: time.Second,
		DupWorkers:  16,
		Concurrency: 200,
		LoadLatency: 100 * time.Millisecond,
		PriorEvents: 500,
		BigEvents:   10000,
		StoreDelay:  20 * time.Millisecond,
		Storm:       DefaultStorm,
		Prices:      DefaultPrices,
	}
}

func (o *Options) defaults() {
	d := DefaultOptions()
	if o.Runs <= 0 {
		o.Runs = d.Runs
	}
	if len(o.Latencies) == 0 {
		o.Latencies = d.Latencies
	}
	if o.DupDuration <= 0 {
		o.DupDuration = d.DupDuration
	}
	if o.DupWorkers <= 0 {
		o.DupWorkers = d.DupWorkers
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Concurrency < 2 {
		o.Concurrency = 2
	}
	if o.LoadLatency < 0 {
		o.LoadLatency = 0
	}
	if o.PriorEvents <= 0 {
		o.PriorEvents = d.PriorEvents
	}
	if o.BigEvents < 0 {
		o.BigEvents = 0
	}
	if o.StoreDelay <= 0 {
		o.StoreDelay = d.StoreDelay
	}
	if o.Storm.Incidents <= 0 {
		o.Storm.Incidents = d.Storm.Incidents
	}
	if o.Storm.Spread <= 0 {
		o.Storm.Spread = d.Storm.Spread
	}
	if o.Storm.Window <= 0 {
		o.Storm.Window = d.Storm.Window
	}
	if o.Storm.Latency <= 0 {
		o.Storm.Latency = d.Storm.Latency
	}
	if o.Prices == (Prices{}) {
		o.Prices = d.Prices
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Row is one measured number: its samples over the runs.
type Row struct {
	Section string
	Name    string
	// Where says what ran: "New" (the handler New builds, in this
	// process), "composed" (the same parts composed here around a
	// CountingStore), "cmd/local" (the built binary as a process),
	// "in-process" (functions of package incident).
	Where   string
	Unit    string
	Samples []float64
	// Digits is how many decimals to print.
	Digits int
	// Goal describes the target ("≤ 2.6"); Met tells whether the median
	// meets it. Both empty for numbers without a goal.
	Goal string
	Met  func(median float64) bool
}

// Min, Median and Max summarise the samples.
func (r Row) Min() float64 { return slices.Min(r.Samples) }

// Max returns the largest sample.
func (r Row) Max() float64 { return slices.Max(r.Samples) }

// Median returns the median sample (the mean of the middle two for an
// even count).
func (r Row) Median() float64 {
	s := slices.Sorted(slices.Values(r.Samples))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Step is the cost of one event type of the lifecycle.
type Step struct {
	EventType  string
	SlackCalls int
	// Methods lists the Slack methods called, in order.
	Methods []string
	Store   Counts
	// SlackConns counts connections the function opened to Slack.
	SlackConns int
}

// Report is a run's result.
type Report struct {
	Options Options
	Started time.Time
	Elapsed time.Duration
	// Platform describes the machine and Go version.
	Platform string
	Rows     []Row
	// Lifecycle is one lifecycle's cost event by event.
	Lifecycle []Step
	// Notes are sentences the numbers lead to (recommended settings).
	Notes []string
	// Command, when set, is shown as the command that made the report.
	Command string
}

func (r *Report) add(row Row) { r.Rows = append(r.Rows, row) }

// Row returns the row named name, for tests.
func (r *Report) Row(name string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Name == name {
			return row, true
		}
	}
	return Row{}, false
}

// runner carries one run's state.
type runner struct {
	o        Options
	rep      *Report
	projects int
	// logMu serialises progress lines: the storm's watcher logs from its
	// own goroutine.
	logMu sync.Mutex
}

func (rn *runner) logf(format string, args ...any) {
	rn.logMu.Lock()
	defer rn.logMu.Unlock()
	fmt.Fprintf(rn.o.Progress, "perf: "+format+"\n", args...)
}

// project returns a Firestore project of its own for one instance, so no
// two instances see each other's incidents; "" with the memory store.
func (rn *runner) project() string {
	if rn.o.FirestoreProject == "" {
		return ""
	}
	rn.projects++
	return fmt.Sprintf("%s-%d", rn.o.FirestoreProject, rn.projects)
}

// Run measures what o selects and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	for _, s := range o.Only {
		if !slices.Contains(Sections, s) {
			return nil, fmt.Errorf("unknown section %q (want one of %s)", s, strings.Join(Sections, ", "))
		}
	}
	if o.FirestoreProject != "" && o.EmulatorHost == "" {
		return nil, errors.New("the Firestore store needs the emulator's host (FIRESTORE_EMULATOR_HOST); never a real project")
	}
	rep := &Report{
		Options:  o,
		Started:  time.Now(),
		Platform: fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
	}
	rn := &runner{o: o, rep: rep}
	steps := map[string]func(context.Context) error{
		"critical":   rn.critical,
		"calls":      rn.calls,
		"duplicate":  rn.duplicate,
		"micro":      rn.micro,
		"process":    rn.process,
		"scale":      rn.scale,
		"storm":      rn.storm,
		"roundtrips": rn.roundTrips,
	}
	for _, s := range Sections {
		if len(o.Only) > 0 && !slices.Contains(o.Only, s) {
			continue
		}
		rn.logf("%s …", s)
		if err := steps[s](ctx); err != nil {
			return rep, fmt.Errorf("%s: %w", s, err)
		}
	}
	rep.Elapsed = time.Since(rep.Started)
	return rep, nil
}

// Markdown writes the report as the Markdown the README embeds.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	o := r.Options
	store := "in-memory store"
	if o.FirestoreProject != "" {
		store = "Firestore emulator (" + o.EmulatorHost + ")"
	}
	fmt.Fprintf(&b, "Measured %s on %s with the %s; runs per number: %d (min / median / max over them); %s in all.\n\n",
		r.Started.Format("2006-01-02"), r.Platform, store, o.Runs, r.Elapsed.Round(time.Second))
	if r.Command != "" {
		fmt.Fprintf(&b, "Made by `%s`.\n\n", r.Command)
	}
	b.WriteString("| section | measure | ran | min | median | max | goal |\n|---|---|---|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		goal := row.Goal
		if row.Met != nil {
			if row.Met(row.Median()) {
				goal += " ✓"
			} else {
				goal += " ✗"
			}
		}
		name := row.Name
		if row.Unit != "" {
			name += " (" + row.Unit + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Section, name, row.Where,
			format(row.Min(), row.Digits), format(row.Median(), row.Digits), format(row.Max(), row.Digits), goal)
	}
	b.WriteString("\nRan: *New* = the handler `app.New` builds from `config.Load(…)`, in the tool's process, over loopback HTTP unless said; " +
		"*composed* = the same parts New composes (`incident.NewService`, `slackops.New`, `pagerduty.NewHandler`) around a " +
		"store decorator that counts Firestore operations; *cmd/local* = the built binary as its own process (`STORE=memory`); " +
		"*in-process* = package incident's functions. The fake Slack answers every call after L.\n")
	if len(r.Lifecycle) > 0 {
		b.WriteString("\nOne incident lifecycle (`soak.Lifecycle`), event by event: Slack calls, and store transactions / document reads / writes " +
			"(Firestore bills reads and writes per document; a transaction is one Update).\n\n")
		b.WriteString("| event | Slack calls | store tx | reads | writes (incident + event docs) |\n|---|---:|---:|---:|---|\n")
		var tot Step
		for _, s := range r.Lifecycle {
			fmt.Fprintf(&b, "| `%s` | %d: %s | %d | %d | %d (%d + %d) |\n", strings.TrimPrefix(s.EventType, "incident."),
				s.SlackCalls, strings.Join(s.Methods, ", "), s.Store.Transactions, s.Store.Reads, s.Store.Writes, s.Store.StateWrites, s.Store.EventWrites)
			tot.SlackCalls += s.SlackCalls
			tot.Store = addCounts(tot.Store, s.Store)
		}
		fmt.Fprintf(&b, "| **lifecycle** | %d | %d | %d | %d (%d + %d); then %d TTL deletes |\n", tot.SlackCalls,
			tot.Store.Transactions, tot.Store.Reads, tot.Store.Writes, tot.Store.StateWrites, tot.Store.EventWrites, tot.Store.EventDocs)
		p := o.Prices
		fmt.Fprintf(&b, "\nPrices (as of %s): reads $%.2f, writes $%.2f, deletes $%.2f per 100,000 documents — %s.\n",
			p.Date, p.Read, p.Write, p.Delete, p.Source)
	}
	for _, n := range r.Notes {
		b.WriteString("\n" + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func addCounts(a, b Counts) Counts {
	return Counts{
		Transactions: a.Transactions + b.Transactions, Runs: a.Runs + b.Runs, Reads: a.Reads + b.Reads,
		Writes: a.Writes + b.Writes, StateWrites: a.StateWrites + b.StateWrites, EventWrites: a.EventWrites + b.EventWrites,
		EventDocs: a.EventDocs + b.EventDocs, Failed: a.Failed + b.Failed,
	}
}

func format(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := fmt.Sprintf("%.*f", digits, v)
	// Thousands separators for big integers read better in a table.
	if digits == 0 && math.Abs(v) >= 10000 {
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var out []byte
		for i := range len(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		s = string(out)
		if neg {
			s = "-" + s
		}
	}
	return s
}

// atMost and below build Met functions.
func atMost(limit float64) func(float64) bool { return func(v float64) bool { return v <= limit } }
func below(limit float64) func(float64) bool  { return func(v float64) bool { return v < limit } }
func equal(want float64) func(float64) bool   { return func(v float64) bool { return v == want } }
