package soak

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/people"
	"github.com/incident-channels/incident-channels/slackops"
)

func TestMain(m *testing.M) { os.Exit(firestoretest.Main(m)) }

func TestLifecycleParses(t *testing.T) {
	t.Parallel()
	for i, body := range Lifecycle(7, 3) {
		ev, ignored, err := pagerduty.Parse(body)
		if err != nil {
			t.Fatalf("event %d: Parse error = %v", i, err)
		}
		if len(ignored) > 0 {
			t.Errorf("event %d: Parse ignored %q, want every field read", i, ignored)
		}
		if ev.Type != lifecycle[i] || !ev.Handled() || ev.IncidentID != "QSOAK70003" {
			t.Errorf("event %d = %s for %q handled %v, want %s for QSOAK70003", i, ev.Type, ev.IncidentID, ev.Handled(), lifecycle[i])
		}
	}
}

// TestCheckFindsViolations makes sure the checker is not blind: a run
// whose Slack state breaks each guarantee must be reported.
func TestCheckFindsViolations(t *testing.T) {
	t.Parallel()
	chs := []slackfake.Channel{
		{Name: "soak-1", Topic: "Acknowledged", Messages: []slackfake.Message{{TS: "1"}, {TS: "2"}}},
	}
	v := Check(chs, 2)
	for _, want := range []string{"1 channels, want 2", "2 top-level messages"} {
		if !strings.Contains(strings.Join(v, "\n"), want) {
			t.Errorf("Check = %q, want it to report %q", v, want)
		}
	}
}

// TestSoak runs a few fixed seeds in CI; cmd/soak runs many. The runs are
// independent (each has its own fake Slack, instances and store) and run
// in parallel. Every seed must pass. The runs on the memory store run in a
// testing/synctest bubble, with production's leases and budgets passing on
// the bubble's clock; the run on the Firestore emulator waits in real time,
// so it shortens what it waits for: a lease kept after an unclear Slack
// failure ends 2.4 s after its attempt began (a 2 s budget and a 100 ms
// margin), not 4.8 s.
func TestSoak(t *testing.T) {
	t.Parallel()
	// A routed delivery that has not succeeded after redeliveries for
	// this long is a violation (a bug keeping an incident busy).
	const routedDeadline = 20 * time.Second
	runs := []struct {
		name      string
		o         Options
		firestore bool
	}{
		{"memory-seed1", Options{Seed: 1, Incidents: 3, Duplicates: 0.3, Faults: 0.15}, false},
		{"memory-seed2", Options{Seed: 2, Incidents: 3, Duplicates: 0.3, Faults: 0.15}, false},
		{"memory-seed3", Options{Seed: 3, Incidents: 2, Duplicates: 0.5, Faults: 0.3}, false},
		{"firestore-seed4", Options{Seed: 4, Incidents: 2, Duplicates: 0.3, Faults: 0.15}, true},
		// Routed: rules, announce channel, people. Seeds 6 and 10 give
		// every kind of incident (late, P1, post-only, neither,
		// quiet-then-channel).
		{"routed-seed6", Options{Seed: 6, Incidents: 4, Duplicates: 0.3, Faults: 0.15, Routes: true, Deadline: routedDeadline}, false},
		{"routed-seed10", Options{Seed: 10, Incidents: 4, Duplicates: 0.3, Faults: 0.15, Routes: true, Deadline: routedDeadline}, false},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			o := r.o
			if !r.firestore {
				synctest.Test(t, func(t *testing.T) { check(t, o) })
				return
			}
			o.LeaseTTL, o.LeaseMargin, o.Budget = 2*time.Second, 100*time.Millisecond, 2*time.Second
			o.FirestoreProject = firestoretest.Project(t)
			if os.Getenv("SOAK_DEBUG") != "" {
				o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
			}
			check(t, o)
		})
	}
}

// TestRoutedNoteFirst delivers, one at a time and without faults, a P3
// incident's note before its other events: the rules route P3 to
// neither, so nothing may be posted.
func TestRoutedNoteFirst(t *testing.T) {
	t.Parallel()
	seed := uint64(4) // kindCycle[4] is KindNeither
	v := runInOrder(t, seed, func(types []string) []int {
		order := []int{slices.Index(types, "incident.annotated")}
		for k := range types {
			if k != order[0] {
				order = append(order, k)
			}
		}
		return order
	})
	for _, s := range v {
		t.Error(s)
	}
}

// check runs o and fails for every violation.
func check(t *testing.T, o Options) {
	t.Helper()
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d deliveries, %d redelivered, %d Slack faults, %d PagerDuty faults, %d Slack calls, %v",
		rep.Seed, rep.Deliveries, rep.Retries, rep.FaultsInjected, rep.PagerDutyFaults, rep.SlackCalls, rep.Duration.Round(1e6))
	for _, v := range rep.Violations {
		t.Errorf("seed %d: %s", o.Seed, v)
	}
}

// runInOrder delivers the events of the seed's first routed incident to
// one instance, one at a time, in the order order picks, without faults,
// and returns the violations of the Slack state.
func runInOrder(t *testing.T, seed uint64, order func(types []string) []int) []string {
	t.Helper()
	nw := netfake.New()
	fake := slackfake.NewServerOn(nw.Listen())
	defer fake.Close()
	w, err := newRoutedWorld(seed, 1, fake, nw)
	if err != nil {
		t.Fatal(err)
	}
	defer w.pd.Close()
	slack := slackops.New(slackfake.DefaultToken, fake.URL, slackops.WithTransport(nw.Transport()))
	svc := incident.NewService(store.NewMemory(), slack, incident.Config{
		ChannelPrefix: "soak", Router: w.table, Announce: w.announce, PagerDuty: w.annotator(),
		Directory: people.New(people.Options{PagerDuty: w.client(), Slack: slack, Cache: &store.MemoryPeople{}}),
	}, nil)
	srv := nw.Serve(pagerduty.NewHandler(pagerduty.HandlerConfig{Secrets: [][]byte{[]byte(secret)}, Service: svc}))
	defer srv.Close()
	inc := w.incidents[0]
	client := nw.Client()
	for _, k := range order(inc.types) {
		if code, err := deliver(context.Background(), client, srv.URL, inc.bodies[k]); err != nil || code != http.StatusOK {
			t.Fatalf("%s: %d %v", inc.types[k], code, err)
		}
	}
	return w.check(fake.Channels())
}

// TestRoutedInOrder delivers each kind's events in PagerDuty's order:
// the routed checks hold without concurrency or faults.
func TestRoutedInOrder(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < uint64(len(kindCycle)); seed++ {
		v := runInOrder(t, seed, func(types []string) []int {
			order := make([]int, len(types))
			for k := range order {
				order[k] = k
			}
			return order
		})
		for _, s := range v {
			t.Errorf("seed %d (%s): %s", seed, kindCycle[seed], s)
		}
	}
}

// TestRoutedCheckFindsViolations makes sure the routed checker is not
// blind: a post-only message for an incident routed to neither, a
// channel opened late without a summary and a duplicated reply.
func TestRoutedCheckFindsViolations(t *testing.T) {
	t.Parallel()
	fake := slackfake.NewUnstarted()
	w, err := newRoutedWorld(0, 6, fake, netfake.New()) // kinds in kindCycle order
	if err != nil {
		t.Fatal(err)
	}
	defer w.pd.Close()
	late, neither := w.incidents[0], w.incidents[4]
	board := func(inc *routedIncident) slackfake.Message {
		return slackfake.Message{Text: "Resolved", Metadata: json.RawMessage(`{"event_type":"incident_channels_board","event_payload":{"incident_id":"` + inc.id + `"}}`)}
	}
	reply := func(ev string) slackfake.Message {
		return slackfake.Message{Metadata: json.RawMessage(`{"event_type":"incident_channels_event","event_payload":{"event_id":"` + ev + `"}}`)}
	}
	fake.AddMessage(w.low, board(neither))
	lateBoard := fake.AddMessage(w.low, board(late))
	chs := fake.Channels()
	for i := range chs {
		if chs[i].ID == w.low {
			for _, ev := range []string{late.events[1], late.events[1]} {
				m := reply(ev)
				m.ThreadTS = lateBoard
				chs[i].Messages = append(chs[i].Messages, m)
			}
		}
	}
	chs = append(chs, slackfake.Channel{ID: "C0LATE", Name: "sev-10000-x", Messages: []slackfake.Message{{TS: "1"}}})
	v := strings.Join(w.check(chs), "\n")
	for _, want := range []string{"routed to neither, yet 1 messages", "with 0 summaries, want 1", late.types[1] + " (" + late.events[1] + ") replied 2 times"} {
		if !strings.Contains(v, want) {
			t.Errorf("check = %s\nwant it to report %q", v, want)
		}
	}
}

// TestBacklinkCheck makes sure the back-link check is not blind: one
// note per channel passes; none, two, one naming another channel, or one
// for an incident without a channel are reported. A person's note that
// quotes the link is no back-link.
func TestBacklinkCheck(t *testing.T) {
	t.Parallel()
	ch := slackfake.Channel{ID: "C0A", Name: "soak-10000-checkout"}
	link := func(id, channelID string) pdfake.Note {
		return pdfake.Note{ID: id, Content: incident.BacklinkNote(channelID, "soak-10000-checkout")}
	}
	person := pdfake.Note{ID: "PN9", Content: "see " + incident.BacklinkMarker("C0A")}
	tests := []struct {
		name  string
		chans []slackfake.Channel
		notes []pdfake.Note
		want  []string
	}{
		{"one", []slackfake.Channel{ch}, []pdfake.Note{person, link("PN1", "C0A")}, nil},
		{"none", []slackfake.Channel{ch}, []pdfake.Note{person}, []string{"soak-10000-checkout: 0 back-link notes on the PagerDuty incident, want 1"}},
		{"twice", []slackfake.Channel{ch}, []pdfake.Note{link("PN1", "C0A"), link("PN2", "C0A")}, []string{"soak-10000-checkout: 2 back-link notes on the PagerDuty incident, want 1"}},
		{"another channel", []slackfake.Channel{ch}, []pdfake.Note{link("PN1", "C0A"), link("PN2", "C0B")}, []string{"back-link note PN2 names no channel of the incident"}},
		{"no channel", nil, []pdfake.Note{link("PN1", "C0A")}, []string{"back-link note PN1 names no channel of the incident"}},
		{"no channel, no note", nil, []pdfake.Note{person}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backlinkViolations(tt.chans, tt.notes)
			if len(got) != len(tt.want) {
				t.Fatalf("backlinkViolations = %q, want %d violations %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("backlinkViolations[%d] = %q, want it to start %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
