// Command replay sends a realistic PagerDuty V3 incident lifecycle —
// triggered, acknowledged, a note, escalated, priority raised, resolved —
// to the function, signed as PagerDuty signs it, one event per POST:
//
//	replay -url http://127.0.0.1:8080/ -secret dev-secret
//	PAGERDUTY_WEBHOOK_SECRET=… replay -url https://…/incident-channels -incidents 3 -interleave -delay 1s
//	replay -secret dev-secret -dir ./my-webhooks    # your own payload files, sent by occurred_at
//
// Every incident gets its own id, number, event ids and times, so a replay
// opens new channels and never repeats an earlier one. A 429, 5xx, timeout
// or connection error is retried with backoff, as PagerDuty does; any other
// 4xx is final. It prints one line per delivery and exits non-zero when a
// delivery finally failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/replay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: replay [flags]\n\nSends signed PagerDuty V3 incident lifecycles to the function.\n\nflags:")
		fs.PrintDefaults()
	}
	target := fs.String("url", "http://127.0.0.1:8080/", "the function's `URL`")
	secret := fs.String("secret", "", "signing `secret` (default $PAGERDUTY_WEBHOOK_SECRET; its first entry when comma-separated)")
	incidents := fs.Int("incidents", 1, "how many incidents, each with its own id, number, event ids and times")
	interleave := fs.Bool("interleave", false, "mix the incidents' events (each incident's own events stay in order)")
	dir := fs.String("dir", "", "send the *.json payload files of `directory`, by event.occurred_at, instead of the built-in lifecycle")
	delay := fs.Duration("delay", 0, "pause between deliveries, e.g. 500ms")
	retries := fs.Int("retries", replay.DefaultRetries, "retries of a 429, 5xx, timeout or connection error, with doubling backoff from 500ms")
	number := fs.Int("number", 0, "the first incident's `number` (default random four digits)")
	title := fs.String("title", "", "replace the incident title (try emoji, Japanese, or <!channel>)")
	if done, err := cmdflag.Parse(fs, args, stdout); done || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if u, err := url.Parse(*target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q must be an http(s) URL", *target)
	}
	if *secret == "" {
		*secret = getenv("PAGERDUTY_WEBHOOK_SECRET")
	}
	// During a rotation the function accepts every listed secret; sign
	// with the first (the new one), as PagerDuty would.
	key, _, _ := strings.Cut(*secret, ",")
	key = strings.TrimSpace(key)
	if key == "" {
		return errors.New("no signing secret: pass -secret or set PAGERDUTY_WEBHOOK_SECRET")
	}
	if *incidents < 1 || *incidents > 100 {
		return fmt.Errorf("-incidents %d must be 1-100", *incidents)
	}
	if *retries < 0 || *delay < 0 || *number < 0 {
		return errors.New("-retries, -delay and -number must not be negative")
	}

	tmpls := replay.Builtin()
	if *dir != "" {
		var err error
		if tmpls, err = replay.ReadDir(*dir); err != nil {
			return err
		}
	}
	ds, err := replay.Build(tmpls, replay.Options{
		Incidents: *incidents, Interleave: *interleave, FirstNumber: *number, Title: *title,
	})
	if err != nil {
		return err
	}
	s := &replay.Sender{URL: *target, Secret: []byte(key), Retries: *retries, Delay: *delay}
	if *retries == 0 {
		s.Retries = -1 // none; the Sender reads 0 as its default
	}
	fmt.Fprintf(stderr, "replaying %d deliveries to %s\n", len(ds), *target)
	start := time.Now()
	failed := s.SendAll(ctx, ds, func(r replay.Result) {
		mark := "ok  "
		if !r.OK() {
			mark = "FAIL"
		}
		fmt.Fprintln(stdout, mark, r)
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d deliveries failed", failed, len(ds))
	}
	fmt.Fprintf(stderr, "all %d deliveries accepted in %v\n", len(ds), time.Since(start).Round(time.Millisecond))
	return nil
}
