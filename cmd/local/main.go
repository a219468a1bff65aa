// Command local runs the PagerDutyWebhook function on this machine through
// the functions framework, exactly as Cloud Functions would call it.
//
//	PAGERDUTY_WEBHOOK_SECRET=… SLACK_BOT_TOKEN=… STORE=memory go run ./cmd/local
//
// It listens on 127.0.0.1:$PORT (default 8080) and serves the function at /.
// A bad configuration stops it at start, with every problem named. Without
// STORE, GOOGLE_CLOUD_PROJECT and FIRESTORE_EMULATOR_HOST it uses the
// in-memory store and says so. -h lists the flags and the environment
// variables; -version prints the version.
//
// With -sandbox it needs no configuration and no accounts: it serves the
// function with the in-memory store, a fake Slack Web API in the same
// process under /slack/api/, and a page under /sandbox/ that shows what
// Slack would show. It makes up a webhook secret and prints it with the
// URLs. The fake workspace has an #incidents announce channel, an
// #incidents-low channel where built-in routing rules post low-urgency
// incidents, and a fake PagerDuty REST API with the sample incidents'
// people, one of them without a Slack account and one Slack user without
// a PagerDuty user. CHANNEL_PREFIX, SLACK_INVITE_USERS and
// SLACK_USER_OVERRIDES still apply, and ROUTING_FILE replaces the
// built-in rules (its channel ids must be those printed).
//
// The sandbox runs the whole responder loop: press "Trigger an incident",
// pick who to act as, and press Acknowledge (or Resolve, Escalate, Add
// note, or type in the channel's /inc box). The page sends the function
// the signed request Slack would; the function calls the fake PagerDuty as
// that person and answers them only; the fake PagerDuty then sends the
// function the webhook PagerDuty would, and the root message turns
// orange with "Acknowledged by …" in its thread.
//
//	go run ./cmd/local -sandbox
//
// With -sweep DURATION it also runs the function's sweep every DURATION
// (and once at start) in this process, without a token, as Cloud
// Scheduler would over POST /tasks/sweep, and logs each report. The sweep
// needs ARCHIVE_AFTER or UPDATE_REMINDERS and the variables that come
// with them.
//
//	ARCHIVE_AFTER=2m SWEEP_AUDIENCE=… SWEEP_INVOKER=… … go run ./cmd/local -sweep 10s
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	// Registers the PagerDutyWebhook function in its init, which the
	// framework serves.
	incidentchannels "github.com/incident-channels/incident-channels"
	"github.com/incident-channels/incident-channels/internal/app"
	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/config"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/sandbox"
	"github.com/incident-channels/incident-channels/internal/sweep"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	sandbox bool
	// sweep is the interval of the in-process sweep; 0 runs none.
	sweep time.Duration
}

// minSweepInterval is the shortest -sweep.
const minSweepInterval = time.Second

// parseArgs reads the flags. done is true after -h (the usage, with the
// environment variables, on stderr) and -version (on stdout).
func parseArgs(args []string, stdout, stderr io.Writer) (opts options, done bool, err error) {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs) }
	fs.BoolVar(&opts.sandbox, "sandbox", false, "serve the function with the in-memory store, a fake Slack and a fake PagerDuty in this process, and a page showing what Slack would show, "+
		"where you act on incidents as a responder (buttons, note form, /inc) and watch PagerDuty's webhooks update the channel; needs no configuration")
	fs.DurationVar(&opts.sweep, "sweep", 0, "also run the function's sweep every `DURATION` (and at start) in this process, without a token; needs ARCHIVE_AFTER or UPDATE_REMINDERS")
	if done, err := cmdflag.Parse(fs, args, stdout); done || err != nil {
		return options{}, done, err
	}
	if fs.NArg() > 0 {
		return options{}, false, fmt.Errorf("unexpected arguments %q: configure with environment variables (see README)", fs.Args())
	}
	sweepSet := false
	fs.Visit(func(f *flag.Flag) { sweepSet = sweepSet || f.Name == "sweep" })
	switch {
	case sweepSet && opts.sweep < minSweepInterval:
		return options{}, false, fmt.Errorf("-sweep %s: the interval must be at least %s", opts.sweep, minSweepInterval)
	case sweepSet && opts.sandbox:
		return options{}, false, errors.New("-sweep runs the configured function's sweep; the sandbox has none")
	}
	return opts, false, nil
}

// usage prints the flags and the function's environment variables, from
// the configuration's table.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, "usage: local [-sandbox] [-sweep DURATION]\n\nRuns the PagerDutyWebhook function on 127.0.0.1:$PORT, configured by the environment.\n\nflags:\n")
	fs.PrintDefaults()
	fmt.Fprint(w, "\nenvironment (README, Configuration):\n")
	plain := strings.NewReplacer("`", "", "*", "")
	for _, v := range config.Vars {
		var notes []string
		switch v.Required {
		case "no":
		case "yes":
			notes = append(notes, "required")
		default:
			notes = append(notes, "required "+plain.Replace(v.Required))
		}
		if d := v.DefaultText(); d != "" {
			notes = append(notes, "default "+plain.Replace(d))
		}
		line := "  " + v.Name
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, plain.Replace(v.Description))
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	opts, done, err := parseArgs(args, os.Stdout, os.Stderr)
	if done || err != nil {
		return err
	}
	port := cmp.Or(getenv("PORT"), config.Default("PORT"))
	if opts.sandbox {
		return runSandbox(ctx, port, getenv, os.Stdout, os.Stderr)
	}
	// The function reads the same environment and would answer every
	// request 503 until it is fixed; a runner stops here instead, naming
	// every problem.
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration (see README, Configuration):\n%w", err)
	}
	if opts.sweep > 0 && !cfg.Sweeps() {
		return errors.New("-sweep needs ARCHIVE_AFTER or UPDATE_REMINDERS, with SWEEP_AUDIENCE and SWEEP_INVOKER (see README, Configuration): without them there is no sweep")
	}
	if getenv("STORE") == "" && cfg.Project == "" && cfg.EmulatorHost == "" {
		// Firestore would need a project to find: rather than answer
		// every request 503, run on this process's memory.
		fmt.Fprintln(os.Stderr, "neither GOOGLE_CLOUD_PROJECT nor FIRESTORE_EMULATOR_HOST is set: using the in-memory store (STORE=memory), lost when this process ends; set STORE=firestore to insist")
		if err := os.Setenv("STORE", "memory"); err != nil {
			return err
		}
	}
	if getenv("FUNCTION_TARGET") == "" {
		// The framework serves the target at / when it is set.
		if err := os.Setenv("FUNCTION_TARGET", "PagerDutyWebhook"); err != nil {
			return err
		}
	}
	// The start-up lines (problems, notices) come now, not at the first
	// request: the package's init ran before FUNCTION_TARGET was set.
	incidentchannels.Start()
	if opts.sweep > 0 {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		fmt.Fprintf(os.Stderr, "sweeping every %s in this process, without a token\n", opts.sweep)
		go sweepEvery(ctx, opts.sweep, sweep.Func(incidentchannels.Sweep), app.NewLogger(os.Stdout))
	}
	fmt.Fprintf(os.Stderr, "serving %s on http://127.0.0.1:%s/\n", "PagerDutyWebhook", port)
	return funcframework.StartHostPort("127.0.0.1", port)
}

// sweepEvery runs s at once and then every interval until ctx ends,
// logging each report in one line. A sweep that takes longer than the
// interval delays the next; runs never overlap.
func sweepEvery(ctx context.Context, every time.Duration, s sweep.Sweeper, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r, err := s.Sweep(ctx)
		attrs := r.LogAttrs()
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "local sweep not finished", append(attrs, slog.String("error", err.Error()))...)
		} else {
			log.LogAttrs(ctx, slog.LevelInfo, "local sweep done", attrs...)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// peopleLine names the sandbox's PagerDuty users and whether they have a
// Slack account.
func peopleLine() string {
	var names []string
	for _, p := range sandbox.People {
		switch {
		case p.SlackID == "":
			names = append(names, p.Name+" with no Slack account")
		case p.PagerDutyID == "":
			names = append(names, p.Name+" with no PagerDuty user")
		default:
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, ", ")
}

// routingLines tells which routing rules apply.
func routingLines(sb *sandbox.Sandbox) string {
	if sb.RoutingFile == "" {
		return fmt.Sprintf("  routing         built-in: low urgency posts in #%s %s, the rest get a channel (ROUTING_FILE for your own)",
			sandbox.LowChannel, sb.Low)
	}
	return fmt.Sprintf(`  routing         ROUTING_FILE %s
                  its post_to and announce ids must be channel ids shown on the page, such as
                  #%s %s and #%s %s; other ids are channels this fake Slack does not have`,
		sb.RoutingFile, sandbox.AnnounceChannel, sb.Announce, sandbox.LowChannel, sb.Low)
}

// runSandbox serves the sandbox on 127.0.0.1:port until ctx ends or the
// process gets SIGINT or SIGTERM. The function's JSON log lines go to
// stdout, the URLs and the secret to stderr.
func runSandbox(ctx context.Context, port string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	sb, err := sandbox.New(ctx, sandbox.Config{
		BaseURL: "http://" + l.Addr().String(),
		Getenv:  getenv,
		Log:     app.NewLogger(stdout),
	})
	if err != nil {
		l.Close()
		return err
	}
	defer sb.Close()
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, `Incident Channels sandbox: the function with the in-memory store and a fake Slack, in this process.
  page            %s
  function        POST %s
  fake Slack API  %s (token %s)
  webhook secret  %s (made up for this run)
  announce        #%s %s (SLACK_ANNOUNCE_CHANNEL)
  fake PagerDuty  %s (%s)
%s
  act from Slack  on the page: pick "Act as", press a root message's buttons or use /inc;
                  Slack requests are signed with %s (SLACK_SIGNING_SECRET, made up)
Replay a sample incident from another terminal, or press a button on the page:
  %s
`, sb.PageURL(), sb.FunctionURL(), sb.SlackAPIURL(), slackfake.DefaultToken, sb.Secret,
		sandbox.AnnounceChannel, sb.Announce, sb.PagerDuty.URL(), peopleLine(), routingLines(sb), sb.SlackSecret,
		sandbox.ReplayCommand(sb.FunctionURL(), sb.Secret))

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sb.Close() // replays started from the page end first
	// Let requests in flight finish. A connection a client opened but never
	// sent a request on counts as busy for 5 s; it is closed after a second.
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); errors.Is(err, context.DeadlineExceeded) {
		return srv.Close()
	} else if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
