package perf

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/replay"
	"github.com/incident-channels/incident-channels/internal/soak"
)

// duplicate measures the fast path of a redelivered, finished event on
// one core (GOMAXPROCS=1): the handler New builds, called in this process
// without HTTP, so the numbers are the function's own work (with the
// memory store; with the emulator they include its round trip).
func (rn *runner) duplicate(ctx context.Context) error {
	in, err := rn.newFunction(ctx, nil)
	if err != nil {
		return err
	}
	defer in.Close()
	body := soak.Lifecycle(seedDup, 0)[0]
	if _, err := in.send(ctx, body); err != nil {
		return err
	}
	sig := pagerduty.Sign(body, []byte(secret))
	newReq := func() *http.Request {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(pagerduty.HeaderSignature, sig)
		return req
	}
	serve := func() error {
		rec := httptest.NewRecorder()
		in.handler.ServeHTTP(rec, newReq())
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != string(incident.OutcomeDuplicate) {
			return fmt.Errorf("redelivery answered %d %q, want 200 duplicate", rec.Code, rec.Body.String())
		}
		return nil
	}

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)

	row := func(name, unit string, digits int) Row {
		return Row{Section: "duplicate fast path", Name: name, Where: "New", Unit: unit, Digits: digits}
	}
	var (
		p50    = row("latency p50, GOMAXPROCS=1, in-process", "µs", 0)
		p99    = row("latency p99, GOMAXPROCS=1, in-process", "µs", 0)
		seqRPS = row("requests/s, one at a time, 1 core", "req/s", 0)
		conRPS = row(fmt.Sprintf("requests/s, %d concurrent, 1 core", rn.o.DupWorkers), "req/s", 0)
		allocs = row("allocations per request (handler only)", "allocs", 0)
		slack  = row("Slack calls during the runs", "", 0)
	)
	slack.Goal, slack.Met = "0", equal(0)
	for range rn.o.Runs {
		calls0 := in.fake.TotalCalls()
		// One at a time: the latency of each.
		var lat []time.Duration
		var busy time.Duration
		end := time.Now().Add(rn.o.DupDuration)
		for time.Now().Before(end) {
			rec, req := httptest.NewRecorder(), newReq()
			start := time.Now()
			in.handler.ServeHTTP(rec, req)
			d := time.Since(start)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("redelivery answered %d %q", rec.Code, rec.Body.String())
			}
			lat = append(lat, d)
			busy += d
		}
		slices.Sort(lat)
		p50.Samples = append(p50.Samples, micros(percentile(lat, 0.50)))
		p99.Samples = append(p99.Samples, micros(percentile(lat, 0.99)))
		seqRPS.Samples = append(seqRPS.Samples, float64(len(lat))/busy.Seconds())

		// Under load: DupWorkers requests in flight for the duration.
		var (
			n    atomic.Int64
			wg   sync.WaitGroup
			errs = make(chan error, rn.o.DupWorkers)
		)
		start := time.Now()
		end = start.Add(rn.o.DupDuration)
		for range rn.o.DupWorkers {
			wg.Go(func() {
				for time.Now().Before(end) {
					if err := serve(); err != nil {
						errs <- err
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		conRPS.Samples = append(conRPS.Samples, float64(n.Load())/elapsed.Seconds())

		// Allocations of the handler, less those of building the request.
		var served error
		all := testing.AllocsPerRun(200, func() {
			if err := serve(); err != nil {
				served = err
			}
		})
		if served != nil {
			return served
		}
		base := testing.AllocsPerRun(200, func() { _, _ = httptest.NewRecorder(), newReq() })
		allocs.Samples = append(allocs.Samples, all-base)
		slack.Samples = append(slack.Samples, float64(in.fake.TotalCalls()-calls0))
	}
	for _, r := range []Row{p50, p99, seqRPS, conRPS, allocs, slack} {
		rn.rep.add(r)
	}
	rn.logf("duplicate: p50 %.0f µs, %.0f req/s on one core", p50.Median(), seqRPS.Median())
	return nil
}

// micro repeats incident's BenchmarkVerifyParseDecide in this process:
// verify the signature, parse, record and decide an acknowledged event.
func (rn *runner) micro(context.Context) error {
	var body []byte
	for _, t := range replay.Builtin() {
		if t.Name == "acknowledged" {
			body = t.Body
		}
	}
	secrets := [][]byte{[]byte(secret)}
	sig := pagerduty.Sign(body, secrets[0])
	var failed error
	bench := func(b *testing.B) {
		var st incident.State
		b.ReportAllocs()
		for b.Loop() {
			if err := pagerduty.VerifySignature(body, sig, secrets); err != nil {
				failed = err
				return
			}
			ev, _, err := pagerduty.Parse(body)
			if err != nil {
				failed = err
				return
			}
			var er incident.EventRecord
			s := st
			incident.Record(&s, &er, ev)
			_ = incident.Decide(s, er, ev, incident.Config{})
		}
	}
	row := func(name, unit string, digits int) Row {
		return Row{Section: "micro", Name: "verify + parse + decide, " + name, Where: "in-process", Unit: unit, Digits: digits}
	}
	ns, allocs, bytes := row("time", "µs/op", 1), row("allocations", "allocs/op", 0), row("memory", "B/op", 0)
	for range rn.o.Runs {
		res := testing.Benchmark(bench)
		if failed != nil {
			return failed
		}
		ns.Samples = append(ns.Samples, float64(res.NsPerOp())/1000)
		allocs.Samples = append(allocs.Samples, float64(res.AllocsPerOp()))
		bytes.Samples = append(bytes.Samples, float64(res.AllocedBytesPerOp()))
	}
	rn.rep.add(ns)
	rn.rep.add(allocs)
	rn.rep.add(bytes)
	return nil
}

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
