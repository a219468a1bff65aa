package soak

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/slackops/slackfake"
)

func TestMain(m *testing.M) { os.Exit(firestoretest.Main(m)) }

func TestLifecycleParses(t *testing.T) {
	for i, body := range Lifecycle(7, 3) {
		ev, err := incident.Parse(body)
		if err != nil {
			t.Fatalf("event %d: Parse error = %v", i, err)
		}
		if ev.Type != lifecycle[i] || !ev.Handled() || ev.IncidentID != "QSOAK70003" {
			t.Errorf("event %d = %s for %q handled %v, want %s for QSOAK70003", i, ev.Type, ev.IncidentID, ev.Handled(), lifecycle[i])
		}
	}
}

// TestCheckFindsViolations makes sure the checker is not blind: a run
// whose Slack state breaks each guarantee must be reported.
func TestCheckFindsViolations(t *testing.T) {
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

// TestSoak runs a few fixed seeds in CI; cmd/soak runs many.
func TestSoak(t *testing.T) {
	runs := []Options{
		{Seed: 1, Incidents: 3, Duplicates: 0.3, Faults: 0.15, LeaseTTL: 2 * time.Second},
		{Seed: 2, Incidents: 3, Duplicates: 0.3, Faults: 0.15, LeaseTTL: 2 * time.Second},
		{Seed: 3, Incidents: 2, Duplicates: 0.5, Faults: 0.3, LeaseTTL: 2 * time.Second},
	}
	for _, o := range runs {
		t.Run("memory", func(t *testing.T) { check(t, o) })
	}
	o := Options{Seed: 4, Incidents: 2, Duplicates: 0.3, Faults: 0.15, LeaseTTL: 2 * time.Second}
	if os.Getenv("SOAK_DEBUG") != "" {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	t.Run("firestore", func(t *testing.T) {
		o.FirestoreProject = firestoretest.Project(t)
		check(t, o)
	})
}

func check(t *testing.T, o Options) {
	t.Helper()
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d deliveries, %d redelivered, %d Slack faults, %d Slack calls, %v",
		rep.Seed, rep.Deliveries, rep.Retries, rep.FaultsInjected, rep.SlackCalls, rep.Duration.Round(1e6))
	for _, v := range rep.Violations {
		t.Errorf("seed %d: %s", o.Seed, v)
	}
}
