// Command setup provisions an installation of Incident Channels in a
// Google Cloud project and its GitHub repository, through the gcloud (and
// gh) found on PATH:
//
//	go run ./cmd/setup -project P -region R -repo OWNER/NAME [-dry-run]
//
// It enables the APIs, creates the Firestore database with its TTL
// policies and index, the secrets, the runtime, build and deployer
// service accounts with only their roles, the Workload Identity pool and
// provider that only this repository's pushes to main can use, the GitHub
// environment and variables the deploy workflow reads, and — once the
// first deploy gave the function its URL — who may invoke it and the
// sweep's Scheduler job (with ARCHIVE_AFTER). It looks before it creates:
// a second run creates nothing, a resource with other settings is reported
// with the command that fixes it, and -dry-run runs only the looks and
// prints the commands it would run. Every command is printed as it runs.
//
// Secrets get a first version from the environment variable of the same
// name (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, PAGERDUTY_WEBHOOK_SECRET,
// PAGERDUTY_API_TOKEN), or are asked for when stdin is a terminal;
// otherwise setup prints the command that fills them. No value is printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	"github.com/incident-channels/incident-channels/internal/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// options are the command's flags.
type options struct {
	project, region, repo string
	repoID, ownerID       string
	function              string
	dryRun, check         bool
	checkConfig           bool
	fromSecrets           string
	slackConfigToken      string
	slackAppID            string
	manifest              string
	pdScope, pdID         string
}

func parse(args []string, stdout, stderr io.Writer) (options, bool, error) {
	var o options
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.project, "project", "", "the Google Cloud project id (required)")
	fs.StringVar(&o.region, "region", "", "the region of the function, Firestore and the Scheduler job, e.g. europe-west1 (required)")
	fs.StringVar(&o.repo, "repo", "", "the GitHub repository OWNER/NAME that deploys (required)")
	fs.StringVar(&o.repoID, "repo-id", "", "the repository's numeric id (default: from gh api)")
	fs.StringVar(&o.ownerID, "owner-id", "", "the repository owner's numeric id (default: from gh api)")
	fs.StringVar(&o.function, "function", "incident-channels", "the function's name (the workflow's FUNCTION_NAME)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "run only read-only commands and print the plan")
	fs.BoolVar(&o.check, "check", false, "verify the deployed installation (read-only) and print each problem with its fix")
	fs.BoolVar(&o.checkConfig, "check-config", false, "only check the function's configuration in this environment, as the deploy sets it, and the rules file (no other flag needed)")
	fs.StringVar(&o.fromSecrets, "from-secrets", "", "with -check-config: comma-separated variables the deploy sets from Secret Manager, taken as set")
	fs.StringVar(&o.slackConfigToken, "slack-config-token", "", "a Slack app configuration token, to create or update the Slack app from the manifest (default $SLACK_CONFIG_TOKEN)")
	fs.StringVar(&o.slackAppID, "slack-app-id", "", "the Slack app to update (default $SLACK_APP_ID, or the repository variable SLACK_APP_ID setup sets)")
	fs.StringVar(&o.manifest, "manifest", "slack-app-manifest.yaml", "the Slack app manifest")
	fs.StringVar(&o.pdScope, "pagerduty-scope", "account", "what the PagerDuty webhook subscription covers: service, team or account")
	fs.StringVar(&o.pdID, "pagerduty-id", "", "the service or team id (PXXXXXX) of -pagerduty-scope service or team")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: setup -project P -region R -repo OWNER/NAME [-dry-run] [-check]")
		fs.PrintDefaults()
	}
	done, err := cmdflag.Parse(fs, args, stdout)
	if done || err != nil || o.checkConfig {
		return o, done, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if o.project == "" {
		errs = append(errs, errors.New("-project is required (gcloud projects list shows yours)"))
	}
	if o.region == "" {
		errs = append(errs, errors.New("-region is required (e.g. europe-west1, us-central1)"))
	}
	if !repoName.MatchString(o.repo) {
		errs = append(errs, fmt.Errorf("-repo %q: want OWNER/NAME, the GitHub repository that deploys", o.repo))
	}
	if _, ok := pdScopes[o.pdScope]; !ok {
		errs = append(errs, fmt.Errorf("-pagerduty-scope %q is not one of service, team, account", o.pdScope))
	} else if (o.pdScope == "account") != (o.pdID == "") {
		errs = append(errs, errors.New("-pagerduty-id goes with -pagerduty-scope service or team, and only with them"))
	}
	return o, false, errors.Join(errs...)
}

// pdScopes maps -pagerduty-scope to PagerDuty's filter type.
var pdScopes = map[string]string{"service": "service_reference", "team": "team_reference", "account": "account_reference"}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, done, err := parse(args, stdout, stderr)
	if done || err != nil {
		return err
	}
	if o.checkConfig {
		return checkConfig(getenv, o.fromSecrets, stdout)
	}
	archiveAfter := strings.TrimSpace(getenv("ARCHIVE_AFTER"))
	if archiveAfter != "" {
		if _, err := time.ParseDuration(archiveAfter); err != nil {
			return fmt.Errorf("ARCHIVE_AFTER=%q is not a Go duration such as 72h", archiveAfter)
		}
	}

	path := getenv("PATH")
	programs := map[string]string{"gcloud": setup.LookPath("gcloud", path), "gh": setup.LookPath("gh", path)}
	if programs["gcloud"] == "" {
		return errors.New("gcloud is not on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), run gcloud auth login, then run setup again")
	}
	r := &printing{Runner: setup.Exec{Programs: programs}, out: stdout}

	account, err := r.Run(ctx, command("gcloud", "config", "get-value", "account"))
	if account = strings.TrimSpace(account); err != nil || account == "" || account == "(unset)" {
		return errors.New("gcloud is not logged in: run gcloud auth login (as a project owner), then run setup again")
	}
	number, err := r.Run(ctx, command("gcloud", "projects", "describe", o.project, "--format=value(projectNumber)"))
	if number = strings.TrimSpace(number); err != nil || number == "" {
		return fmt.Errorf("project %s does not exist or %s cannot see it: create it (gcloud projects create %s) and link a billing account (gcloud billing projects link %s --billing-account=ACCOUNT_ID), or pick another -project",
			o.project, account, o.project, o.project)
	}

	gitHub := false
	if programs["gh"] != "" {
		_, err := r.Run(ctx, command("gh", "auth", "status"))
		gitHub = err == nil
	}
	if gitHub && (o.repoID == "" || o.ownerID == "") {
		id, err1 := r.Run(ctx, command("gh", "api", "repos/"+o.repo, "--jq=.id"))
		owner, err2 := r.Run(ctx, command("gh", "api", "repos/"+o.repo, "--jq=.owner.id"))
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("read the ids of repository %s: %w (is -repo right, and may gh see it?)", o.repo, err)
		}
		o.repoID, o.ownerID = strings.TrimSpace(id), strings.TrimSpace(owner)
	}

	// Before the first deploy there is no URL (and maybe no API yet): the
	// resources that need it wait.
	url, err := r.Run(ctx, command("gcloud", "functions", "describe", o.function, "--project="+o.project, "--region="+o.region, "--gen2", "--format=value(serviceConfig.uri)"))
	if err != nil {
		url = ""
	}

	opts := setup.Options{
		Project: o.project, Number: number, Region: o.region,
		Repo: o.repo, RepoID: o.repoID, OwnerID: o.ownerID,
		Function: o.function, URL: strings.TrimSpace(url),
		ArchiveAfter: archiveAfter,
		MinInstances: strings.TrimSpace(getenv("MIN_INSTANCES")),
		SecretValues: map[string]string{},
		GitHub:       gitHub,
	}
	for _, s := range setup.Secrets {
		if v := strings.TrimSpace(getenv(s.Env)); v != "" {
			opts.SecretValues[s.Env] = v
		}
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		opts.Ask = func(env, what string) (string, error) { return askSecret(ctx, f, stderr, env, what) }
	}

	in := integrations{o: o, opts: opts, r: r, getenv: getenv, out: stdout}
	if o.check {
		return in.check(ctx)
	}
	fmt.Fprintf(stdout, "Setting up project %s (%s) in %s for %s, as %s.\n", o.project, number, o.region, o.repo, account)
	rep, err := setup.Apply(ctx, r.Runner, setup.Resources(opts), o.dryRun, o.project, stdout)
	rep.Print(stdout, o.dryRun)
	if err != nil {
		return fmt.Errorf("%w\nNothing after it was changed; run setup again once fixed: it finds what is already made", err)
	}
	return errors.Join(in.slackApp(ctx), in.pagerDuty(ctx))
}

// command is a Command without stdin.
func command(args ...string) setup.Command { return setup.Command{Args: args} }

// printing prints each command before it runs.
type printing struct {
	setup.Runner
	out io.Writer
}

func (p *printing) Run(ctx context.Context, c setup.Command) (string, error) {
	fmt.Fprintf(p.out, "$ %s\n", c)
	return p.Runner.Run(ctx, c)
}
