// Command perf measures Incident Channels reproducibly and prints one
// compact Markdown table, each number min / median / max over -runs runs:
// the critical path as a ratio to the fake Slack's latency, Slack calls and
// Firestore operations per event and per incident lifecycle (and what that
// costs), the duplicate fast path on one core, cold start, binary size and
// memory of cmd/local as a process, how an incident with hundreds of
// events compares with a fresh one, a storm of new incidents against
// Slack's rate limits, and (with the emulator) the Firestore round trips
// on the critical path.
//
//	go run ./cmd/perf -out cmd/perf/perf.md              # in-memory store; docs/development.md links this file
//	FIRESTORE_EMULATOR_HOST=127.0.0.1:8686 go run ./cmd/perf -out perf-firestore.md
//	go run ./cmd/perf -runs 1 -only calls,scale -big 0    # a quick look
//	go run ./cmd/perf -only storm                        # 60 incidents in 5 s, Slack's minute in 10 s
//	go run ./cmd/perf -only storm -storm-n 100 -storm-spread 10s -storm-window 20s
//	FIRESTORE_EMULATOR_HOST=127.0.0.1:8686 go run ./cmd/perf -only roundtrips   # Firestore round trips per event
//
// The storm section runs once whatever -runs says: N incidents (-storm-n)
// triggered evenly over -storm-spread, then each one's resolved event,
// delivered and redelivered as PagerDuty does (per-incident FIFO, its
// backoff compressed like Slack's minute), against a fake Slack enforcing
// its rate tiers per -storm-window. It stops by itself after ten
// compressed minutes at most.
//
// The store is the Firestore emulator when FIRESTORE_EMULATOR_HOST is set
// (-store firestore insists on it), the in-memory store otherwise; never a
// real project. Run it from inside the module: the process section builds
// cmd/local with `go build`.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/perf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	d := perf.DefaultOptions()
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", d.Runs, "runs per number (min / median / max over them)")
	latencies := fs.String("latencies", joinDurations(d.Latencies), "fake Slack per-call latencies L of the critical-path rows, comma-separated")
	storeKind := fs.String("store", "auto", "auto (Firestore emulator if FIRESTORE_EMULATOR_HOST is set, else memory), memory or firestore")
	dup := fs.Duration("dup", d.DupDuration, "duration of each duplicate fast-path run (sequential, then concurrent)")
	dupWorkers := fs.Int("dup-workers", d.DupWorkers, "concurrent requests in the duplicate fast-path load")
	concurrency := fs.Int("concurrency", d.Concurrency, "deliveries sent to cmd/local at once (half new incidents, half status events)")
	loadLatency := fs.Duration("load-latency", d.LoadLatency, "fake Slack latency while those deliveries run")
	prior := fs.Int("prior", d.PriorEvents, "earlier events of the scale section's long incident")
	big := fs.Int("big", d.BigEvents, "events of the incident whose document size is reported (0 skips it)")
	stormN := fs.Int("storm-n", d.Storm.Incidents, "storm: new incidents (N)")
	stormSpread := fs.Duration("storm-spread", d.Storm.Spread, "storm: the span the incidents are triggered in, evenly")
	stormWindow := fs.Duration("storm-window", d.Storm.Window, "storm: Slack's rate-limit minute compressed into this (10s: six times as fast); PagerDuty's backoff is compressed alike")
	stormLatency := fs.Duration("storm-latency", d.Storm.Latency, "storm: fake Slack per-call latency")
	storeDelay := fs.Duration("firestore-delay", d.StoreDelay, "roundtrips: latency F added to every Firestore round trip (the emulator only)")
	localBin := fs.String("local-bin", "", "a built cmd/local to start (default: go build it into a temporary directory)")
	only := fs.String("only", "", "comma-separated sections to run ("+strings.Join(perf.Sections, ", ")+"); default all")
	out := fs.String("out", "", "also write the Markdown to this file (e.g. perf.md)")
	priceRead := fs.Float64("price-read", d.Prices.Read, "Firestore USD per 100,000 document reads")
	priceWrite := fs.Float64("price-write", d.Prices.Write, "Firestore USD per 100,000 document writes")
	priceDelete := fs.Float64("price-delete", d.Prices.Delete, "Firestore USD per 100,000 document deletes")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	if done, err := cmdflag.Parse(fs, args, stdout); done || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	o := d
	o.Runs, o.DupDuration, o.DupWorkers = *runs, *dup, *dupWorkers
	o.Concurrency, o.LoadLatency, o.PriorEvents, o.BigEvents = *concurrency, *loadLatency, *prior, *big
	o.LocalBin, o.StoreDelay = *localBin, *storeDelay
	o.Storm = perf.StormOptions{Incidents: *stormN, Spread: *stormSpread, Window: *stormWindow, Latency: *stormLatency}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	if *storeDelay <= 0 {
		return errors.New("-firestore-delay must be positive")
	}
	if *stormN < 1 || *stormSpread <= 0 || *stormWindow < time.Second || *stormLatency <= 0 {
		return errors.New("-storm-n must be at least 1, -storm-spread and -storm-latency positive, -storm-window at least 1s")
	}
	ls, err := parseDurations(*latencies)
	if err != nil {
		return fmt.Errorf("-latencies: %w", err)
	}
	o.Latencies = ls
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if *priceRead != d.Prices.Read || *priceWrite != d.Prices.Write || *priceDelete != d.Prices.Delete {
		o.Prices = perf.Prices{Read: *priceRead, Write: *priceWrite, Delete: *priceDelete,
			Date: time.Now().Format("2006-01-02"), Source: "given on the command line"}
	}
	emulator := getenv("FIRESTORE_EMULATOR_HOST")
	switch *storeKind {
	case "auto":
		if emulator != "" {
			*storeKind = "firestore"
		}
	case "memory":
	case "firestore":
		if emulator == "" {
			return errors.New("-store firestore needs FIRESTORE_EMULATOR_HOST (a Firestore emulator; never a real project)")
		}
	default:
		return fmt.Errorf("-store %q: want auto, memory or firestore", *storeKind)
	}
	if *storeKind == "firestore" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		o.FirestoreProject, o.EmulatorHost = "perf-"+hex.EncodeToString(b), emulator
	}
	if !*quiet {
		o.Progress = stderr
	}

	rep, err := perf.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Command = strings.TrimSpace("go run ./cmd/perf " + strings.Join(args, " "))
	if err := rep.Markdown(stdout); err != nil {
		return err
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := rep.Markdown(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func parseDurations(s string) ([]time.Duration, error) {
	var ds []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			// A bare number is milliseconds.
			n, nerr := strconv.Atoi(part)
			if nerr != nil {
				return nil, err
			}
			d = time.Duration(n) * time.Millisecond
		}
		if d <= 0 {
			return nil, fmt.Errorf("latency %v: must be positive", d)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil, errors.New("no latency given")
	}
	return ds, nil
}

func joinDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}
