// Command local runs the PagerDutyWebhook function on this machine through
// the functions framework, exactly as Cloud Functions would call it.
//
//	PAGERDUTY_WEBHOOK_SECRET=… SLACK_BOT_TOKEN=… STORE=memory go run ./cmd/local
//
// It listens on 127.0.0.1:$PORT (default 8080) and serves the function at /.
// A bad configuration stops it at start, with every problem named.
//
// With -sandbox it needs no configuration and no accounts: it serves the
// function with the in-memory store, a fake Slack Web API in the same
// process under /slack/api/, and a page under /sandbox/ that shows what
// Slack would show. It makes up a webhook secret and prints it with the
// URLs. The fake workspace has an #incidents announce channel, an
// #incidents-low channel where built-in routing rules post low-urgency
// incidents, and a fake PagerDuty REST API with the sample incidents'
// people, one of them without a Slack account. CHANNEL_PREFIX,
// SLACK_INVITE_USERS and SLACK_USER_OVERRIDES still apply, and ROUTING_FILE
// replaces the built-in rules (its channel ids must be those printed).
//
//	go run ./cmd/local -sandbox
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	// Registers the PagerDutyWebhook function in its init, which the
	// framework serves; run checks its configuration, the sandbox uses its
	// logger.
	incidentchannels "github.com/incident-channels/incident-channels"
	"github.com/incident-channels/incident-channels/internal/sandbox"
	"github.com/incident-channels/incident-channels/slackops/slackfake"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	sandboxMode := fs.Bool("sandbox", false, "serve the function with the in-memory store, a fake Slack in this process and a page showing what Slack would show; needs no configuration")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: configure with environment variables (see README)", fs.Args())
	}
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if *sandboxMode {
		return runSandbox(ctx, port, getenv, os.Stdout, os.Stderr)
	}
	// The function reads the same environment and would answer every
	// request 503 until it is fixed; a runner stops here instead, naming
	// every problem.
	if _, err := incidentchannels.LoadConfig(getenv); err != nil {
		return fmt.Errorf("configuration (see README, Configuration):\n%w", err)
	}
	if getenv("FUNCTION_TARGET") == "" {
		// The framework serves the target at / when it is set.
		if err := os.Setenv("FUNCTION_TARGET", "PagerDutyWebhook"); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "serving %s on http://127.0.0.1:%s/\n", "PagerDutyWebhook", port)
	return funcframework.StartHostPort("127.0.0.1", port)
}

// peopleLine names the sandbox's PagerDuty users and whether they have a
// Slack account.
func peopleLine() string {
	var names []string
	for _, p := range sandbox.People {
		if p.SlackID == "" {
			names = append(names, p.Name+" with no Slack account")
		} else {
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
		Log:     incidentchannels.NewLogger(stdout),
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
Replay a sample incident from another terminal, or press a button on the page:
  %s
`, sb.PageURL(), sb.FunctionURL(), sb.SlackAPIURL(), slackfake.DefaultToken, sb.Secret,
		sandbox.AnnounceChannel, sb.Announce, sb.PagerDuty.URL(), peopleLine(), routingLines(sb),
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
