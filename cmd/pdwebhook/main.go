// Command pdwebhook creates and shows the PagerDuty V3 webhook subscription
// that sends incident events to the function, through the PagerDuty REST
// API, and hands over the signing secret once, so nobody copies it by hand:
//
//	PAGERDUTY_API_TOKEN=… pdwebhook create -url https://REGION-PROJECT.cloudfunctions.net/incident-channels -scope service -id PSVC001
//	PAGERDUTY_API_TOKEN=… pdwebhook create … -secret-out secret.txt -print-secret=false
//	PAGERDUTY_API_TOKEN=… pdwebhook list
//	PAGERDUTY_API_TOKEN=… pdwebhook show PSUB001
//	PAGERDUTY_API_TOKEN=… pdwebhook ping PSUB001
//
// PagerDuty returns a subscription's signing secret only in the answer to
// its creation. create prints it once to stdout, or writes it to a new file
// of mode 0600 (-secret-out), never to stderr. A subscription with the same
// URL and scope that already exists is shown instead of duplicated, unless
// -force. list and show never print a secret. PAGERDUTY_API_URL points the
// command at EU accounts (https://api.eu.pagerduty.com) or at a fake.
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
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// DefaultEvents are the event types a new subscription receives.
var DefaultEvents = pagerduty.WebhookEvents

// scopes maps the -scope flag to PagerDuty's filter type.
var scopes = map[string]string{
	"service": "service_reference",
	"team":    "team_reference",
	"account": "account_reference",
}

const usage = `usage: pdwebhook COMMAND [flags]

commands:
  version        print the version
  create -url URL -scope service|team|account [-id ID] [flags]
                 create the V3 webhook subscription and hand over its signing secret once;
                 an existing one with the same URL and scope is shown instead (unless -force)
  list           list the account's webhook subscriptions (never their secrets)
  show ID        show one subscription (never its secret)
  ping ID        have PagerDuty send the subscription a pagey.ping test event

environment:
  PAGERDUTY_API_TOKEN  REST API key (required; creating needs a full-access key)
  PAGERDUTY_API_URL    REST API base URL (default ` + pagerduty.DefaultAPIURL + `;
                       EU accounts: https://api.eu.pagerduty.com)

run "pdwebhook create -h" for the flags of create.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pdwebhook:", err)
		os.Exit(1)
	}
}

// run carries out one command. The signing secret goes only to stdout or
// the -secret-out file; stderr gets flag usage, nothing else.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "create":
		return runCreate(ctx, args, getenv, stdout, stderr)
	case "list":
		return runList(ctx, args, getenv, stdout, stderr)
	case "show":
		return runShow(ctx, args, getenv, stdout, stderr)
	case "ping":
		return runPing(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, cmdflag.Version())
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// createOptions are the flags of create.
type createOptions struct {
	url         string
	scope       string
	id          string
	events      []string
	description string
	secretOut   string
	printSecret bool
	secretName  string
	force       bool
}

func parseCreate(args []string, stderr io.Writer) (createOptions, error) {
	var o createOptions
	fs := flag.NewFlagSet("pdwebhook create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "the function's HTTPS URL that PagerDuty posts to (required)")
	fs.StringVar(&o.scope, "scope", "", "what the subscription covers: service, team or account (required)")
	fs.StringVar(&o.id, "id", "", "the service or team id (PXXXXXX); none for -scope account")
	events := fs.String("events", "", "comma-separated event types (default: every incident event the function handles)")
	fs.StringVar(&o.description, "description", "Incident Channels: one Slack channel per incident", "the subscription's description")
	fs.StringVar(&o.secretOut, "secret-out", "", "write the signing secret to this new file (mode 0600) instead of the terminal")
	fs.BoolVar(&o.printSecret, "print-secret", true, "print the signing secret to stdout (set false with -secret-out)")
	fs.StringVar(&o.secretName, "secret-name", "pagerduty-webhook-secret", "the Secret Manager secret named in the command to store it")
	fs.BoolVar(&o.force, "force", false, "create a second subscription even if one with the same URL and scope exists")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("create: unexpected arguments %q", fs.Args())
	}
	var errs []error
	if o.url == "" {
		errs = append(errs, errors.New("-url is required (the function's URL)"))
	} else if u, err := url.Parse(o.url); err != nil || u.Scheme != "https" || u.Host == "" {
		// Deliveries carry incident data: never send them in the clear.
		errs = append(errs, fmt.Errorf("-url %q must be an absolute https URL", o.url))
	}
	switch _, ok := scopes[o.scope]; {
	case o.scope == "":
		errs = append(errs, errors.New("-scope is required: service, team or account"))
	case !ok:
		errs = append(errs, fmt.Errorf("-scope %q is not one of service, team, account", o.scope))
	case o.scope == "account" && o.id != "":
		errs = append(errs, errors.New("-id is not used with -scope account (the subscription covers the whole account)"))
	case o.scope != "account" && o.id == "":
		errs = append(errs, fmt.Errorf("-id is required with -scope %s (the %s's PagerDuty id, PXXXXXX)", o.scope, o.scope))
	}
	o.events = DefaultEvents
	if *events != "" {
		o.events = nil
		for e := range strings.SplitSeq(*events, ",") {
			if e = strings.TrimSpace(e); e != "" && !slices.Contains(o.events, e) {
				o.events = append(o.events, e)
			}
		}
		if len(o.events) == 0 {
			errs = append(errs, errors.New("-events lists no event type"))
		}
	}
	if !o.printSecret && o.secretOut == "" {
		errs = append(errs, errors.New("-print-secret=false needs -secret-out FILE, or the signing secret would be lost"))
	}
	return o, errors.Join(errs...)
}

func runCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseCreate(args, stderr)
	if err != nil {
		return err
	}
	c, err := client(getenv)
	if err != nil {
		return err
	}
	filter := pagerduty.SubscriptionFilter{Type: scopes[o.scope], ID: o.id}

	if !o.force {
		subs, err := c.WebhookSubscriptions(ctx)
		if err != nil {
			return failed("list webhook subscriptions", err)
		}
		for _, s := range subs {
			if s.Delivers(o.url, filter) {
				fmt.Fprintf(stdout, "A webhook subscription for %s → %s already exists; not creating another (-force would).\n", scopeText(s.Filter), s.DeliveryMethod.URL)
				fmt.Fprintln(stdout, "PagerDuty showed its signing secret only when it was created.")
				fmt.Fprintln(stdout)
				printDetails(stdout, s)
				if missing := missingEvents(s.Events, o.events); len(missing) > 0 {
					fmt.Fprintf(stdout, "\nIt does not receive: %s\n", strings.Join(missing, ", "))
				}
				return nil
			}
		}
	}

	// Open the secret file before creating, so a subscription is never
	// created whose secret has nowhere to go.
	var secretFile *os.File
	if o.secretOut != "" {
		secretFile, err = os.OpenFile(o.secretOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("-secret-out: %w (it must not exist yet)", err)
		}
		defer secretFile.Close()
	}
	discardFile := func() {
		if secretFile != nil {
			secretFile.Close()
			os.Remove(o.secretOut)
		}
	}

	sub := pagerduty.NewWebhookSubscription(o.url, filter, o.description)
	sub.Events = o.events
	created, err := c.CreateWebhookSubscription(ctx, sub)
	if err != nil {
		discardFile()
		return failed("create webhook subscription", err)
	}
	secret := created.DeliveryMethod.Secret

	fmt.Fprintf(stdout, "Created webhook subscription %s for %s → %s (%d events).\n", created.ID, scopeText(created.Filter), created.DeliveryMethod.URL, len(created.Events))
	if secret == "" {
		discardFile()
		return fmt.Errorf("PagerDuty returned no signing secret for subscription %s: delete it in PagerDuty and create it again", created.ID)
	}
	var writeErr error
	if secretFile != nil {
		_, writeErr = io.WriteString(secretFile, secret)
		if err := secretFile.Close(); writeErr == nil {
			writeErr = err
		}
		if writeErr != nil {
			discardFile()
		}
	}

	fmt.Fprintln(stdout)
	if o.printSecret {
		fmt.Fprintln(stdout, "Signing secret (PagerDuty shows it only this once; it is PAGERDUTY_WEBHOOK_SECRET):")
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "    %s\n", secret)
		fmt.Fprintln(stdout)
	}
	switch {
	case secretFile != nil && writeErr == nil:
		fmt.Fprintf(stdout, "The signing secret is in %s (mode 0600). Store it in Secret Manager, then delete the file:\n\n", o.secretOut)
		fmt.Fprintf(stdout, "    gcloud secrets versions add %s --data-file=%s && rm %s\n", o.secretName, shellQuote(o.secretOut), shellQuote(o.secretOut))
	case o.printSecret:
		fmt.Fprintln(stdout, "Store it in Secret Manager (paste it at the silent prompt, then press Enter):")
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "    read -rs SECRET && printf %%s \"$SECRET\" | gcloud secrets versions add %s --data-file=-; unset SECRET\n", o.secretName)
	}
	if writeErr != nil {
		if o.printSecret {
			return fmt.Errorf("write the signing secret to %s: %w (it is printed above)", o.secretOut, writeErr)
		}
		return fmt.Errorf("write the signing secret to %s: %w; the secret is lost: delete subscription %s in PagerDuty and create it again", o.secretOut, writeErr, created.ID)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "(Create the secret first if it does not exist: gcloud secrets create %s --replication-policy=automatic.)\n", o.secretName)
	fmt.Fprintf(stdout, "Once the function runs with it, send a test event: pdwebhook ping %s\n", created.ID)
	return nil
}

// missingEvents returns the events of want that are not in have.
func missingEvents(have, want []string) []string {
	var missing []string
	for _, e := range want {
		if !slices.Contains(have, e) {
			missing = append(missing, e)
		}
	}
	return missing
}

func runList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pdwebhook list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("list: unexpected arguments %q", fs.Args())
	}
	c, err := client(getenv)
	if err != nil {
		return err
	}
	subs, err := c.WebhookSubscriptions(ctx)
	if err != nil {
		return failed("list webhook subscriptions", err)
	}
	if len(subs) == 0 {
		fmt.Fprintln(stdout, "No webhook subscriptions.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tSTATE\tEVENTS\tURL\tDESCRIPTION")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, scopeText(s.Filter), state(s), len(s.Events), s.DeliveryMethod.URL, s.Description)
	}
	return tw.Flush()
}

func runShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	id, err := oneID("show", args, stderr)
	if err != nil {
		return err
	}
	c, err := client(getenv)
	if err != nil {
		return err
	}
	s, err := c.WebhookSubscription(ctx, id)
	if err != nil {
		return failed("get webhook subscription "+id, err)
	}
	printDetails(stdout, s)
	return nil
}

func runPing(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	id, err := oneID("ping", args, stderr)
	if err != nil {
		return err
	}
	c, err := client(getenv)
	if err != nil {
		return err
	}
	if err := c.PingWebhookSubscription(ctx, id); err != nil {
		return failed("ping webhook subscription "+id, err)
	}
	fmt.Fprintf(stdout, "PagerDuty is sending pagey.ping to subscription %s; the function answers it 200 once Slack took its token and the store answered, else 503 naming what failed (the subscription's delivery log shows it).\n", id)
	return nil
}

// oneID parses the subscription id of show and ping, given as an argument
// or as -id.
func oneID(cmd string, args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet("pdwebhook "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "the subscription id (or give it as the argument)")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	switch {
	case fs.NArg() == 1 && *id == "":
		return fs.Arg(0), nil
	case fs.NArg() == 0 && *id != "":
		return *id, nil
	default:
		return "", fmt.Errorf("usage: pdwebhook %s SUBSCRIPTION_ID", cmd)
	}
}

// printDetails shows a subscription. It never prints the secret, nor custom
// header values.
func printDetails(w io.Writer, s pagerduty.WebhookSubscription) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", s.ID)
	fmt.Fprintf(tw, "scope:\t%s\n", scopeText(s.Filter))
	fmt.Fprintf(tw, "url:\t%s\n", s.DeliveryMethod.URL)
	fmt.Fprintf(tw, "state:\t%s\n", state(s))
	fmt.Fprintf(tw, "description:\t%s\n", s.Description)
	if len(s.DeliveryMethod.CustomHeaders) > 0 {
		var names []string
		for _, h := range s.DeliveryMethod.CustomHeaders {
			names = append(names, h.Name)
		}
		fmt.Fprintf(tw, "custom headers:\t%s\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(tw, "events:\t%s\n", strings.Join(s.Events, "\n\t"))
	tw.Flush()
}

func scopeText(f pagerduty.SubscriptionFilter) string {
	for name, typ := range scopes {
		if typ == f.Type {
			if f.ID == "" {
				return name
			}
			return name + " " + f.ID
		}
	}
	return strings.TrimSpace(f.Type + " " + f.ID)
}

func state(s pagerduty.WebhookSubscription) string {
	switch {
	case !s.Active:
		return "inactive"
	case s.DeliveryMethod.TemporarilyDisabled:
		return "temporarily disabled"
	default:
		return "active"
	}
}

// shellQuote quotes a file name for the printed command.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
