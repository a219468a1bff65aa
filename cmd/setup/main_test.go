package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/setup/fakecli"
)

const (
	project = "acme-incidents"
	number  = "424242"
	region  = "europe-west1"
	repo    = "acme/incident-channels"
	fnURL   = "https://incident-channels-xyz-ew.a.run.app"
)

// secrets are first versions for every secret; none may be printed.
var secrets = map[string]string{
	"SLACK_BOT_TOKEN":          "xoxb-very-secret-bot-token",
	"SLACK_SIGNING_SECRET":     "signing-secret-value-42",
	"PAGERDUTY_WEBHOOK_SECRET": "pd-webhook-secret-value",
	"PAGERDUTY_API_TOKEN":      pdToken,
}

// fake is a directory holding a fake gcloud and gh and their world, and
// the fake PagerDuty setup talks to unless told otherwise.
type fake struct {
	t   *testing.T
	dir string
	pd  *pdfake.Server
}

// fakeBin is the fake gcloud and gh (fakecli's program), built once by
// TestMain: a small program starts fast, which matters when a test runs
// it a thousand times.
var fakeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "setup-fake")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fakeBin = filepath.Join(dir, "fakebin")
	build := exec.Command("go", "build", "-o", fakeBin, "github.com/incident-channels/incident-channels/internal/setup/fakecli/fakebin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 2
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the fake gcloud and gh:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// newFake puts fake programs and w in a new directory; programs lists
// which ("gcloud", "gh").
func newFake(t *testing.T, w fakecli.World, programs ...string) *fake {
	t.Helper()
	dir := t.TempDir()
	for _, p := range programs {
		if err := os.Symlink(fakeBin, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if w.Objects == nil {
		w.Objects = map[string]map[string]any{}
	}
	if err := w.Save(dir); err != nil {
		t.Fatal(err)
	}
	pd := pdfake.NewServer(pdToken)
	t.Cleanup(pd.Close)
	return &fake{t: t, dir: dir, pd: pd}
}

// emptyProject is a logged-in account's new project; deployed adds the
// function as the first deploy leaves it.
func emptyProject(deployed bool) fakecli.World {
	w := fakecli.World{Account: "owner@acme.example", Projects: map[string]string{project: number}, Objects: map[string]map[string]any{}}
	if deployed {
		w.Objects["function/"+project+"/"+region+"/incident-channels"] = map[string]any{"serviceConfig": map[string]any{"uri": fnURL}}
	}
	return w
}

func (f *fake) world() *fakecli.World {
	f.t.Helper()
	w, err := fakecli.Load(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

func (f *fake) setWorld(change func(*fakecli.World)) {
	f.t.Helper()
	w := f.world()
	change(w)
	if err := w.Save(f.dir); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) calls() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "calls.log"))
	return string(b)
}

// run runs setup with the fake first on PATH and env as the environment.
func (f *fake) run(env map[string]string, args ...string) (string, error) {
	f.t.Helper()
	getenv := func(k string) string {
		switch v, ok := env[k]; {
		case k == "PATH":
			return f.dir
		case k == "PAGERDUTY_API_URL" && !ok:
			return f.pd.URL()
		default:
			return v
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

var args = []string{"-project", project, "-region", region, "-repo", repo, "-manifest", "../../slack-app-manifest.yaml"}

func withSweep(env map[string]string) map[string]string {
	out := map[string]string{"ARCHIVE_AFTER": "72h"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// The first run creates every piece with exactly the documented roles; the
// second creates nothing and says everything is in place; no secret value
// is printed or put on a command line.
func TestSecondRunCreatesNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(true), "gcloud", "gh")
	out, err := f.run(withSweep(secrets), args...)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	w := f.world()
	runtime := "serviceAccount:incident-channels-run@" + project + ".iam.gserviceaccount.com"
	build := "serviceAccount:incident-channels-build@" + project + ".iam.gserviceaccount.com"
	deployer := "serviceAccount:incident-channels-deploy@" + project + ".iam.gserviceaccount.com"
	sweeper := "serviceAccount:incident-channels-sweep@" + project + ".iam.gserviceaccount.com"
	wantProject := map[string][]string{
		"roles/datastore.user":            {runtime},
		"roles/cloudbuild.builds.builder": {build},
		"roles/artifactregistry.writer":   {build},
		"roles/logging.logWriter":         {build},
		"roles/cloudfunctions.developer":  {deployer},
	}
	if diff := cmp.Diff(wantProject, w.Policies["project/"+project]); diff != "" {
		t.Errorf("project roles (-want +got):\n%s", diff)
	}
	accessor := map[string][]string{"roles/secretmanager.secretAccessor": {runtime}}
	for _, s := range []string{"slack-bot-token", "slack-signing-secret", "pagerduty-api-token"} {
		if diff := cmp.Diff(accessor, w.Policies["secret/"+project+"/"+s]); diff != "" {
			t.Errorf("roles on secret %s (-want +got):\n%s", s, diff)
		}
		if w.Versions["secret/"+project+"/"+s] != 1 {
			t.Errorf("secret %s has %d versions, want 1", s, w.Versions["secret/"+project+"/"+s])
		}
	}
	wantWebhook := map[string][]string{"roles/secretmanager.secretAccessor": {runtime, deployer}}
	if diff := cmp.Diff(wantWebhook, w.Policies["secret/"+project+"/pagerduty-webhook-secret"]); diff != "" {
		t.Errorf("roles on the webhook secret (-want +got):\n%s", diff)
	}
	actAs := map[string][]string{"roles/iam.serviceAccountUser": {deployer}}
	for _, sa := range []string{runtime, build} {
		if diff := cmp.Diff(actAs, w.Policies["sa/"+strings.TrimPrefix(sa, "serviceAccount:")]); diff != "" {
			t.Errorf("roles on %s (-want +got):\n%s", sa, diff)
		}
	}
	if got := w.Policies["sa/"+strings.TrimPrefix(sweeper, "serviceAccount:")]; len(got) != 0 {
		t.Errorf("roles on the sweeper = %v, want none: the deployer may not act as it", got)
	}
	principal := "principalSet://iam.googleapis.com/projects/" + number + "/locations/global/workloadIdentityPools/github/attribute.repository_id/123456789"
	if diff := cmp.Diff(map[string][]string{"roles/iam.workloadIdentityUser": {principal}}, w.Policies["sa/"+strings.TrimPrefix(deployer, "serviceAccount:")]); diff != "" {
		t.Errorf("roles on the deployer (-want +got):\n%s", diff)
	}
	cond, _ := w.Objects["provider/"+project+"/github/github"]["attributeCondition"].(string)
	for _, want := range []string{"assertion.repository_id=='123456789'", "assertion.repository_owner_id=='987654'", "assertion.ref=='refs/heads/main'", "assertion.event_name=='push'", "assertion.environment=='production'"} {
		if !strings.Contains(cond, want) {
			t.Errorf("provider condition %q lacks %s", cond, want)
		}
	}
	wantFunction := map[string][]string{"roles/run.invoker": {"allUsers", sweeper}, "roles/run.developer": {deployer}}
	if diff := cmp.Diff(wantFunction, w.Policies["function/"+project+"/"+region+"/incident-channels"]); diff != "" {
		t.Errorf("roles on the function (-want +got):\n%s", diff)
	}
	job := w.Objects["job/"+project+"/"+region+"/incident-channels-sweep"]
	if diff := cmp.Diff(map[string]any{"uri": fnURL + "/tasks/sweep", "httpMethod": "POST",
		"oidcToken": map[string]any{"serviceAccountEmail": strings.TrimPrefix(sweeper, "serviceAccount:"), "audience": fnURL}}, job["httpTarget"]); diff != "" {
		t.Errorf("sweep job target (-want +got):\n%s", diff)
	}
	for _, cg := range []string{"incidents", "events", "slack_claims", "people", "memory"} {
		if _, ok := w.Objects["field/"+project+"/"+cg+"/expire_at"]; !ok {
			t.Errorf("no TTL policy on %s", cg)
		}
	}
	wantVars := map[string]string{
		"GCP_PROJECT": project, "GCP_REGION": region,
		"GCP_WIF_PROVIDER": "projects/" + number + "/locations/global/workloadIdentityPools/github/providers/github",
		"GCP_DEPLOY_SA":    strings.TrimPrefix(deployer, "serviceAccount:"),
		"GCP_RUNTIME_SA":   strings.TrimPrefix(runtime, "serviceAccount:"),
		"GCP_BUILD_SA":     strings.TrimPrefix(build, "serviceAccount:"),
		"SWEEP_AUDIENCE":   fnURL, "SWEEP_INVOKER": strings.TrimPrefix(sweeper, "serviceAccount:"), "ARCHIVE_AFTER": "72h",
	}
	if diff := cmp.Diff(wantVars, w.Vars); diff != "" {
		t.Errorf("GitHub variables (-want +got):\n%s", diff)
	}
	if _, ok := w.Objects["gh/repos/"+repo+"/environments/production"]; !ok {
		t.Error("no production environment")
	}
	for env, v := range secrets {
		if strings.Contains(out, v) || strings.Contains(f.calls(), v) {
			t.Errorf("the value of %s was printed or passed as an argument", env)
		}
	}

	mutations := w.Mutations
	out, err = f.run(withSweep(secrets), args...)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if got := f.world().Mutations; got != mutations {
		t.Errorf("second run ran %d mutating commands, want 0:\n%s", got-mutations, out)
	}
	if !strings.Contains(out, "Everything is in place") {
		t.Errorf("second run did not say everything is in place:\n%s", out)
	}
}

// A dry run on an empty project runs no mutating command and prints the
// commands it would run.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(true), "gcloud", "gh")
	out, err := f.run(withSweep(secrets), append(args, "-dry-run")...)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if got := f.world().Mutations; got != 0 {
		t.Errorf("dry run ran %d mutating commands, want 0", got)
	}
	for _, want := range []string{
		"Dry run: nothing was changed",
		"gcloud services enable firestore.googleapis.com --project=" + project,
		"gcloud iam service-accounts create incident-channels-deploy --project=" + project,
		`printf %s "$SLACK_BOT_TOKEN" | gcloud secrets versions add slack-bot-token --project=` + project + " --data-file=-",
		"gh variable set GCP_PROJECT --repo=" + repo + " --body=" + project,
		"gcloud scheduler jobs create http incident-channels-sweep",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
}

// A run whose n-th mutating command fails names what failed and exits
// non-zero; the next run completes the installation, which ends the same
// as one made in a single run.
func TestNextRunCompletesStoppedRun(t *testing.T) {
	t.Parallel()
	whole := newFake(t, emptyProject(true), "gcloud", "gh")
	if out, err := whole.run(withSweep(secrets), args...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := whole.world()
	// The last mutation stores a new PagerDuty subscription's signing
	// secret, which PagerDuty never shows again: that failure says to
	// delete the subscription instead.
	for _, n := range []int{1, 12, 30, 45, want.Mutations - 1} {
		f := newFake(t, emptyProject(true), "gcloud", "gh")
		f.setWorld(func(w *fakecli.World) { w.FailIn = n })
		out, err := f.run(withSweep(secrets), args...)
		if err == nil {
			t.Fatalf("run failing at mutation %d succeeded:\n%s", n, out)
		}
		if !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "run setup again") {
			t.Errorf("failing at mutation %d: error %q does not name the failure and what to do", n, err)
		}
		if out, err := f.run(withSweep(secrets), args...); err != nil {
			t.Fatalf("run after failing at mutation %d: %v\n%s", n, err, out)
		}
		ignore := cmpopts.IgnoreFields(fakecli.World{}, "Mutations", "FailIn")
		if diff := cmp.Diff(want, f.world(), ignore, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("after failing at mutation %d and running again (-whole +resumed):\n%s", n, diff)
		}
	}
}

// Before the first deploy there is no URL: who may invoke the function,
// the sweep's job and the variables that need the URL wait, and say so;
// so do secrets without a value, with the command that fills them.
func TestBeforeFirstDeployWaits(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(false), "gcloud", "gh")
	out, err := f.run(map[string]string{"ARCHIVE_AFTER": "72h"}, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Left to do:",
		"# roles/run.invoker for allUsers on function incident-channels: after the first deploy",
		"# GitHub variable ARCHIVE_AFTER: after the first deploy",
		"# a version of secret slack-bot-token: set SLACK_BOT_TOKEN",
		`printf %s "$SLACK_BOT_TOKEN" | gcloud secrets versions add slack-bot-token --project=` + project + " --data-file=-",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, ok := f.world().Vars["ARCHIVE_AFTER"]; ok {
		t.Error("ARCHIVE_AFTER was set before SWEEP_AUDIENCE could be: the workflow would refuse to deploy")
	}
	// After the deploy, the next run does what waited.
	f.setWorld(func(w *fakecli.World) {
		w.Objects["function/"+project+"/"+region+"/incident-channels"] = map[string]any{"serviceConfig": map[string]any{"uri": fnURL}}
	})
	if out, err := f.run(withSweep(secrets), args...); err != nil {
		t.Fatalf("run after deploy: %v\n%s", err, out)
	}
	if got := f.world().Vars["SWEEP_AUDIENCE"]; got != fnURL {
		t.Errorf("SWEEP_AUDIENCE = %q after the deploy, want %q", got, fnURL)
	}
}

// Without gh, the repository ids come from flags and the GitHub
// variables are printed for the user instead of set.
func TestWithoutGhPrintsVariables(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(true), "gcloud")
	out, err := f.run(secrets, append(args, "-repo-id", "111", "-owner-id", "222")...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "gh variable set GCP_DEPLOY_SA --repo="+repo+" --body=incident-channels-deploy@"+project+".iam.gserviceaccount.com") {
		t.Errorf("output lacks the variable to set:\n%s", out)
	}
	cond, _ := f.world().Objects["provider/"+project+"/github/github"]["attributeCondition"].(string)
	if !strings.Contains(cond, "assertion.repository_id=='111'") || !strings.Contains(cond, "assertion.repository_owner_id=='222'") {
		t.Errorf("provider condition %q does not use -repo-id and -owner-id", cond)
	}
}

// A resource that exists with other settings is reported with the command
// that fixes it, and left as it is.
func TestOtherSettingsAreReportedNotChanged(t *testing.T) {
	t.Parallel()
	w := emptyProject(true)
	w.Objects["pool/"+project+"/github"] = map[string]any{}
	w.Objects["provider/"+project+"/github/github"] = map[string]any{"attributeCondition": "assertion.repository=='acme/incident-channels'"}
	w.Vars = map[string]string{"GCP_REGION": "us-central1"}
	w.Objects["db/"+project] = map[string]any{"type": "DATASTORE_MODE"}
	f := newFake(t, w, "gcloud", "gh")
	out, err := f.run(secrets, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"These exist with other settings",
		"gcloud iam workload-identity-pools providers update-oidc github --project=" + project,
		"gh variable set GCP_REGION --repo=" + repo + " --body=" + region,
		"# the (default) database is in Datastore mode, which cannot change: use another project",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := f.world()
	if got.Vars["GCP_REGION"] != "us-central1" || got.Objects["provider/"+project+"/github/github"]["attributeCondition"] != "assertion.repository=='acme/incident-channels'" {
		t.Error("setup changed a resource that exists with other settings")
	}
}

// Failures a user meets name the problem and its fix, and change nothing.
func TestFailuresNameTheFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		programs []string
		change   func(*fakecli.World)
		args     []string
		want     string
	}{
		{"no gcloud", nil, nil, args, "gcloud is not on PATH: install the Google Cloud CLI"},
		{"not logged in", []string{"gcloud"}, func(w *fakecli.World) { w.Account = "" }, args, "run gcloud auth login"},
		{"no project", []string{"gcloud"}, nil, []string{"-project", "nope", "-region", region, "-repo", repo}, "project nope does not exist or owner@acme.example cannot see it"},
		{"permission denied", []string{"gcloud"}, func(w *fakecli.World) { w.Denied = true }, args, "Permission denied: run setup as a project owner"},
		{"bad repo", []string{"gcloud"}, nil, []string{"-project", project, "-region", region, "-repo", "acme"}, "want OWNER/NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, emptyProject(true), tc.programs...)
			if tc.change != nil {
				f.setWorld(tc.change)
			}
			out, err := f.run(secrets, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v, want an error containing %q\n%s", err, tc.want, out)
			}
			if tc.programs != nil && f.world().Mutations != 0 {
				t.Errorf("a failed run ran %d mutating commands", f.world().Mutations)
			}
		})
	}
}

// -version prints the module's version and -h the usage; both succeed.
func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	for _, a := range [][]string{{"-version"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), a, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Errorf("run(%q) = %v, want nil", a, err)
		}
	}
}
