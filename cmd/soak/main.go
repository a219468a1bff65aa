// Command soak runs many seeds of internal/soak: whole incident lifecycles
// through two function instances at once, shuffled, duplicated and
// concurrent, with Slack failing at random, redelivering every 503 as
// PagerDuty would, and checks the delivery guarantees after each.
//
//	go run ./cmd/soak -seeds 50                    # in-memory store
//	FIRESTORE_EMULATOR_HOST=127.0.0.1:8686 go run ./cmd/soak -store firestore -seeds 10
//	go run ./cmd/soak -routes -seeds 40              # routing rules, announce, people
//
// With -routes the instances run routing rules (a private channel for
// high-urgency P1 with a user group, a public one for P1, a post-only
// channel for the rest, nothing for P3), an announce channel, and invite
// the people PagerDuty involves through a fake PagerDuty REST API that
// fails at the -faults rate too, and write a back-link note on each
// PagerDuty incident with a channel, whose POST fails at that rate as
// well (refused, or saved with the answer lost); incidents start at P1,
// P2 or P3 and some are raised to P1 partway.
//
// It prints a line per seed and a summary, and exits 1 when any guarantee
// was broken.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(out)
	seeds := fs.Int("seeds", 20, "number of seeds to run")
	first := fs.Uint64("first-seed", 1, "first seed")
	incidents := fs.Int("incidents", 4, "incidents per seed")
	dups := fs.Float64("duplicates", 0.3, "chance that a delivery is sent twice")
	faults := fs.Float64("faults", 0.15, "chance, per delivery, that one Slack call fails")
	workers := fs.Int("workers", 6, "concurrent deliveries")
	latency := fs.Duration("latency", 0, "latency added to every fake Slack call")
	storeKind := fs.String("store", "memory", "memory, or firestore (needs FIRESTORE_EMULATOR_HOST)")
	lease := fs.Duration("lease", 0, "incident lease (0: the production 15s); shorter runs faster")
	margin := fs.Duration("lease-margin", 0, "how long a lease outlasts its holder's deadline (0: the production 1s); shorter runs faster")
	budget := fs.Duration("budget", 0, "each request's budget (0: the production 3.5s); a lease kept after a lost answer outlasts it")
	routes := fs.Bool("routes", false, "run with routing rules, an announce channel and people looked up in a fake PagerDuty API")
	if done, err := cmdflag.Parse(fs, args, out); done || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var project string
	switch *storeKind {
	case "memory":
	case "firestore":
		if getenv("FIRESTORE_EMULATOR_HOST") == "" {
			return errors.New("-store firestore needs FIRESTORE_EMULATOR_HOST (a Firestore emulator; never a real project)")
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		project = "soak-" + hex.EncodeToString(b)
	default:
		return fmt.Errorf("-store %q: want memory or firestore", *storeKind)
	}

	var (
		failed     int
		durations  []time.Duration
		deliveries int
		retries    int
		injected   int
		calls      int
		pdFaults   int
		pdCalls    int
		noteFaults int
		kinds      = map[soak.Kind]int{}
	)
	fmt.Fprintf(out, "%-6s %10s %10s %8s %11s %10s  %s\n", "seed", "deliveries", "redeliver", "faults", "slack_calls", "duration", "result")
	if *routes {
		fmt.Fprintf(out, "%-6s %10s %10s %8s %11s %10s  %s\n", "", "", "", "pd_fault", "pd_calls", "", "kinds")
	}
	for i := range *seeds {
		seed := *first + uint64(i)
		rep, err := soak.Run(ctx, soak.Options{
			Seed: seed, Incidents: *incidents, Duplicates: *dups, Faults: *faults,
			Workers: *workers, Latency: *latency, FirestoreProject: project, LeaseTTL: *lease,
			LeaseMargin: *margin, Budget: *budget, Routes: *routes,
		})
		if err != nil {
			return err
		}
		result := "ok"
		if len(rep.Violations) > 0 {
			failed++
			result = fmt.Sprintf("FAIL (%d)", len(rep.Violations))
		}
		fmt.Fprintf(out, "%-6d %10d %10d %8d %11d %10s  %s\n", seed, rep.Deliveries, rep.Retries, rep.FaultsInjected, rep.SlackCalls, rep.Duration.Round(time.Millisecond), result)
		if *routes {
			fmt.Fprintf(out, "%-6s %10s %10s %8d %11d %10s  %s\n", "", "", "", rep.PagerDutyFaults, rep.PagerDutyCalls, "", kindList(rep.Kinds))
			for k, c := range rep.Kinds {
				kinds[k] += c
			}
		}
		for _, v := range rep.Violations {
			fmt.Fprintf(out, "       %s\n", v)
		}
		durations = append(durations, rep.Duration)
		deliveries += rep.Deliveries
		retries += rep.Retries
		injected += rep.FaultsInjected
		calls += rep.SlackCalls
		pdFaults += rep.PagerDutyFaults
		pdCalls += rep.PagerDutyCalls
		noteFaults += rep.NoteFaults
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	slices.Sort(durations)
	fmt.Fprintf(out, "\n%d seeds (%s store, %d incidents each): %d failed; %d deliveries, %d redelivered, %d Slack faults, %d Slack calls; duration min/median/max %s/%s/%s\n",
		*seeds, *storeKind, *incidents, failed, deliveries, retries, injected, calls,
		durations[0].Round(time.Millisecond), durations[len(durations)/2].Round(time.Millisecond), durations[len(durations)-1].Round(time.Millisecond))
	if *routes {
		fmt.Fprintf(out, "routed: %d PagerDuty faults (%d on back-link notes), %d PagerDuty calls; incidents %s\n", pdFaults, noteFaults, pdCalls, kindList(kinds))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d seeds broke a delivery guarantee", failed, *seeds)
	}
	return nil
}

// kindList is "late=2 channel=1 …" in the order of the kinds.
func kindList(kinds map[soak.Kind]int) string {
	var parts []string
	for k := soak.KindChannel; k <= soak.KindQuietThenChannel; k++ {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, kinds[k]))
		}
	}
	return strings.Join(parts, " ")
}
