package setup

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The names setup gives what it creates; docs/deploy.md uses the same.
const (
	RuntimeAccount = "incident-channels-run"
	BuildAccount   = "incident-channels-build"
	DeployAccount  = "incident-channels-deploy"
	SweepAccount   = "incident-channels-sweep"
	// Pool and Provider are the Workload Identity pool and its GitHub
	// OIDC provider.
	Pool     = "github"
	Provider = "github"
	// Environment is the protected GitHub environment the deploy job runs in.
	Environment  = "production"
	githubIssuer = "https://token.actions.githubusercontent.com"
)

// Secret is a Secret Manager secret the function reads.
type Secret struct {
	// Name is the secret's name in Secret Manager.
	Name string
	// Env is the function's environment variable it becomes, and the
	// variable setup reads a first version from.
	Env string
	// What tells the user where the value comes from.
	What string
}

// Secrets are the function's secrets.
var Secrets = []Secret{
	{"slack-bot-token", "SLACK_BOT_TOKEN", "the Slack app's Bot User OAuth Token (xoxb-…), shown once the app is installed"},
	{"slack-signing-secret", "SLACK_SIGNING_SECRET", "the Slack app's Signing Secret (Basic Information); setup stores it itself when it creates the app (SLACK_CONFIG_TOKEN)"},
	{"pagerduty-webhook-secret", "PAGERDUTY_WEBHOOK_SECRET", "the webhook subscription's signing secret; setup stores it itself when it creates the subscription (PAGERDUTY_API_TOKEN)"},
	{"pagerduty-api-token", "PAGERDUTY_API_TOKEN", "a PagerDuty REST API key (Integrations → API Access Keys)"},
}

// Options describe the installation.
type Options struct {
	Project string
	// Number is the project's number.
	Number string
	Region string
	// Repo is the GitHub repository OWNER/NAME; RepoID and OwnerID its and
	// its owner's numeric ids (empty: unknown, the Workload Identity
	// provider waits for them).
	Repo, RepoID, OwnerID string
	// Function is the function's name.
	Function string
	// URL is the deployed function's URL; empty before the first deploy.
	URL string
	// ArchiveAfter is ARCHIVE_AFTER and UpdateReminders UPDATE_REMINDERS;
	// either set, the sweep's job and account are made.
	ArchiveAfter    string
	UpdateReminders string
	// MinInstances is MIN_INSTANCES, the deploy's --min-instances; empty:
	// the workflow's default.
	MinInstances string
	// SecretValues are first versions for the secrets, by Env; a missing
	// one leaves the secret empty with the command that fills it.
	SecretValues map[string]string
	// Ask, when set, asks the user at a terminal for a secret's value
	// (prompt names what it is); "" skips it.
	Ask func(env, what string) (string, error)
	// GitHub is true when gh can set the repository's variables; false:
	// they are printed for the user.
	GitHub bool
}

func (o Options) account(name string) string {
	return name + "@" + o.Project + ".iam.gserviceaccount.com"
}

// sweep reports whether the installation runs the sweep.
func (o Options) sweep() bool { return o.ArchiveAfter != "" || o.UpdateReminders != "" }

// APIs are the services the installation uses.
func (o Options) APIs() []string {
	apis := []string{
		"cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
		"artifactregistry.googleapis.com", "firestore.googleapis.com", "secretmanager.googleapis.com",
		"iamcredentials.googleapis.com", "sts.googleapis.com", "logging.googleapis.com",
	}
	if o.sweep() {
		apis = append(apis, "cloudscheduler.googleapis.com")
	}
	return apis
}

// TTLCollections are the collection groups whose documents Firestore
// deletes after their expire_at (docs/operations.md, What is stored in
// Firestore).
var TTLCollections = []string{"incidents", "events", "slack_claims", "people", "memory"}

// IndexField is one field of a composite index.
type IndexField struct {
	FieldPath string `json:"fieldPath"`
	Order     string `json:"order"`
}

// Index is a composite index, as firestore.indexes.json writes it.
type Index struct {
	CollectionGroup string       `json:"collectionGroup"`
	QueryScope      string       `json:"queryScope"`
	Fields          []IndexField `json:"fields"`
}

// Indexes are the composite indexes the function's queries need: the
// sweep's query for archivable incidents by resolution time, and the
// look-up of a service's past incidents, newest resolution first. A test
// keeps firestore.indexes.json the same.
var Indexes = []Index{{
	CollectionGroup: "incidents",
	QueryScope:      "COLLECTION",
	Fields: []IndexField{
		{FieldPath: "archivable", Order: "ASCENDING"},
		{FieldPath: "snapshot.resolved_at", Order: "ASCENDING"},
	},
}, {
	CollectionGroup: "memory",
	QueryScope:      "COLLECTION",
	Fields: []IndexField{
		{FieldPath: "service.id", Order: "ASCENDING"},
		{FieldPath: "resolved_at", Order: "DESCENDING"},
	},
}}

// AttributeCondition is the Workload Identity provider's condition: only
// a push to main of this repository, by its and its owner's numeric ids
// (a deleted repository's name can be registered again by someone else),
// in the protected environment.
func (o Options) AttributeCondition() string {
	return fmt.Sprintf("assertion.repository_id=='%s' && assertion.repository_owner_id=='%s' && assertion.ref=='refs/heads/main' && assertion.event_name=='push' && assertion.environment=='%s'",
		o.RepoID, o.OwnerID, Environment)
}

// ProviderName is the provider's full name, the workflow's GCP_WIF_PROVIDER.
func (o Options) ProviderName() string {
	return fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s/providers/%s", o.Number, Pool, Provider)
}

// Variables are the GitHub Actions variables the deploy workflow reads, in
// the order they are set; Pending ones wait for the function's URL.
func (o Options) Variables() (now, later [][2]string) {
	now = [][2]string{
		{"GCP_PROJECT", o.Project},
		{"GCP_REGION", o.Region},
		{"GCP_WIF_PROVIDER", o.ProviderName()},
		{"GCP_DEPLOY_SA", o.account(DeployAccount)},
		{"GCP_RUNTIME_SA", o.account(RuntimeAccount)},
		{"GCP_BUILD_SA", o.account(BuildAccount)},
	}
	if o.MinInstances != "" {
		now = append(now, [2]string{"MIN_INSTANCES", o.MinInstances})
	}
	if o.sweep() {
		// The workflow refuses ARCHIVE_AFTER and UPDATE_REMINDERS without
		// the audience, which is the URL the first deploy gives.
		later = [][2]string{
			{"SWEEP_AUDIENCE", o.URL},
			{"SWEEP_INVOKER", o.account(SweepAccount)},
		}
		if o.ArchiveAfter != "" {
			later = append(later, [2]string{"ARCHIVE_AFTER", o.ArchiveAfter})
		}
		if o.UpdateReminders != "" {
			later = append(later, [2]string{"UPDATE_REMINDERS", o.UpdateReminders})
		}
	}
	return now, later
}

// Resources returns everything the installation needs, in the order it
// is made: each resource after those it depends on.
func Resources(o Options) []Resource {
	p := "--project=" + o.Project
	var rs []Resource
	for _, api := range o.APIs() {
		rs = append(rs, Resource{
			Name:   "API " + api,
			Look:   gcloud("services", "list", "--enabled", p, "--filter=config.name="+api, "--format=value(config.name)"),
			Judge:  func(out string) State { return present(strings.TrimSpace(out) == api) },
			Create: []Command{gcloud("services", "enable", api, p)},
		})
	}

	rs = append(rs, Resource{
		Name: "Firestore database (default)",
		Look: gcloud("firestore", "databases", "describe", p, "--database=(default)", "--format=value(type)"),
		Judge: func(out string) State {
			if strings.TrimSpace(out) == "FIRESTORE_NATIVE" {
				return InPlace
			}
			return Differs
		},
		Create: []Command{gcloud("firestore", "databases", "create", p, "--location="+o.Region, "--type=firestore-native")},
		Fix:    []Command{{Args: []string{"#", "the (default) database is in Datastore mode, which cannot change: use another project"}}},
	})
	for _, cg := range TTLCollections {
		rs = append(rs, Resource{
			Name: "Firestore TTL policy on " + cg + ".expire_at",
			Look: gcloud("firestore", "fields", "describe", "expire_at", "--collection-group="+cg, p, "--format=value(ttlConfig.state)"),
			Judge: func(out string) State {
				return present(slices.Contains([]string{"ACTIVE", "CREATING"}, strings.TrimSpace(out)))
			},
			Create: []Command{gcloud("firestore", "fields", "ttls", "update", "expire_at", "--collection-group="+cg, "--enable-ttl", "--async", p)},
		})
	}
	for _, ix := range Indexes {
		create := gcloud("firestore", "indexes", "composite", "create", p, "--collection-group="+ix.CollectionGroup, "--query-scope="+ix.QueryScope, "--async")
		var names []string
		for _, f := range ix.Fields {
			create.Args = append(create.Args, "--field-config=field-path="+f.FieldPath+",order="+strings.ToLower(f.Order))
			names = append(names, f.FieldPath)
		}
		rs = append(rs, Resource{
			Name:   "Firestore index " + ix.CollectionGroup + " (" + strings.Join(names, ", ") + ")",
			Look:   gcloud("firestore", "indexes", "composite", "list", p, "--format=json"),
			Judge:  func(out string) State { return present(hasIndex(out, ix)) },
			Create: []Command{create},
		})
	}

	for _, s := range Secrets {
		rs = append(rs, Resource{
			Name:   "secret " + s.Name,
			Look:   gcloud("secrets", "describe", s.Name, p),
			Create: []Command{gcloud("secrets", "create", s.Name, p, "--replication-policy=automatic")},
		})
		version := Resource{
			Name:  "a version of secret " + s.Name,
			Look:  gcloud("secrets", "versions", "list", s.Name, p, "--filter=state:ENABLED", "--limit=1", "--format=value(name)"),
			Judge: func(out string) State { return present(strings.TrimSpace(out) != "") },
		}
		add := gcloud("secrets", "versions", "add", s.Name, p, "--data-file=-")
		add.StdinFrom = "$" + s.Env
		if v := o.SecretValues[s.Env]; v != "" {
			add.Stdin = v
			version.Create = []Command{add}
		} else {
			version.Pending = "set " + s.Env + " to " + s.What + ", then run setup again, or store it yourself"
			version.Create = []Command{{Args: []string{"read", "-rs", s.Env}}, add}
			if o.Ask != nil {
				version.Input = func() (string, error) { return o.Ask(s.Env, s.What) }
			}
		}
		rs = append(rs, version)
	}

	runtime, build, deployer := o.account(RuntimeAccount), o.account(BuildAccount), o.account(DeployAccount)
	for _, a := range []struct{ name, display string }{
		{RuntimeAccount, "Incident Channels function"},
		{BuildAccount, "Incident Channels build"},
		{DeployAccount, "Incident Channels deploy (GitHub Actions)"},
	} {
		rs = append(rs, serviceAccount(o, a.name, a.display))
	}
	rs = append(rs, projectBinding(o, runtime, "roles/datastore.user"))
	for _, s := range Secrets {
		rs = append(rs, secretBinding(o, s.Name, runtime))
	}
	for _, role := range []string{"roles/cloudbuild.builds.builder", "roles/artifactregistry.writer", "roles/logging.logWriter"} {
		rs = append(rs, projectBinding(o, build, role))
	}
	rs = append(rs, projectBinding(o, deployer, "roles/cloudfunctions.developer"))
	for _, sa := range []string{runtime, build} {
		rs = append(rs, accountBinding(o, sa, "serviceAccount:"+deployer, "roles/iam.serviceAccountUser"))
	}
	// The deploy job's smoke test signs a ping with the webhook secret.
	rs = append(rs, secretBinding(o, "pagerduty-webhook-secret", deployer))

	rs = append(rs, workloadIdentity(o, deployer)...)
	rs = append(rs, github(o)...)
	rs = append(rs, afterDeploy(o, deployer)...)
	return rs
}

func present(ok bool) State {
	if ok {
		return InPlace
	}
	return Missing
}

func serviceAccount(o Options, name, display string) Resource {
	return Resource{
		Name:   "service account " + name,
		Look:   gcloud("iam", "service-accounts", "describe", o.account(name), "--project="+o.Project),
		Create: []Command{gcloud("iam", "service-accounts", "create", name, "--project="+o.Project, "--display-name="+display)},
	}
}

// binding is a role for member in the IAM policy that look prints as JSON.
func binding(name string, look, add Command, member, role string) Resource {
	return Resource{
		Name:   name,
		Look:   look,
		Judge:  func(out string) State { return present(hasBinding(out, member, role)) },
		Create: []Command{add},
	}
}

func projectBinding(o Options, account, role string) Resource {
	m := "serviceAccount:" + account
	return binding(role+" for "+account+" on the project",
		gcloud("projects", "get-iam-policy", o.Project, "--format=json"),
		gcloud("projects", "add-iam-policy-binding", o.Project, "--member="+m, "--role="+role, "--condition=None"),
		m, role)
}

func secretBinding(o Options, secret, account string) Resource {
	m, role := "serviceAccount:"+account, "roles/secretmanager.secretAccessor"
	return binding(role+" for "+account+" on secret "+secret,
		gcloud("secrets", "get-iam-policy", secret, "--project="+o.Project, "--format=json"),
		gcloud("secrets", "add-iam-policy-binding", secret, "--project="+o.Project, "--member="+m, "--role="+role),
		m, role)
}

func accountBinding(o Options, account, member, role string) Resource {
	return binding(role+" for "+member+" on "+account,
		gcloud("iam", "service-accounts", "get-iam-policy", account, "--project="+o.Project, "--format=json"),
		gcloud("iam", "service-accounts", "add-iam-policy-binding", account, "--project="+o.Project, "--member="+member, "--role="+role),
		member, role)
}

func workloadIdentity(o Options, deployer string) []Resource {
	p := "--project=" + o.Project
	pool := Resource{
		Name:   "Workload Identity pool " + Pool,
		Look:   gcloud("iam", "workload-identity-pools", "describe", Pool, p, "--location=global"),
		Create: []Command{gcloud("iam", "workload-identity-pools", "create", Pool, p, "--location=global", "--display-name=GitHub Actions")},
	}
	settings := []string{p, "--location=global", "--workload-identity-pool=" + Pool,
		"--attribute-mapping=google.subject=assertion.sub,attribute.repository_id=assertion.repository_id,attribute.ref=assertion.ref",
		"--attribute-condition=" + o.AttributeCondition()}
	cond := o.AttributeCondition()
	provider := Resource{
		Name:   "Workload Identity provider " + Provider + " for " + o.Repo,
		Look:   gcloud("iam", "workload-identity-pools", "providers", "describe", Provider, p, "--location=global", "--workload-identity-pool="+Pool, "--format=value(attributeCondition)"),
		Judge:  func(out string) State { return stateOf(strings.TrimSpace(out) == cond) },
		Create: []Command{gcloud(append([]string{"iam", "workload-identity-pools", "providers", "create-oidc", Provider, "--issuer-uri=" + githubIssuer}, settings...)...)},
		Fix:    []Command{gcloud(append([]string{"iam", "workload-identity-pools", "providers", "update-oidc", Provider}, settings...)...)},
	}
	member := fmt.Sprintf("principalSet://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/attribute.repository_id/%s", o.Number, Pool, o.RepoID)
	bind := accountBinding(o, deployer, member, "roles/iam.workloadIdentityUser")
	bind.Name = "roles/iam.workloadIdentityUser for " + o.Repo + " on " + deployer
	if o.RepoID == "" || o.OwnerID == "" {
		why := "needs the repository's and its owner's numeric ids: log gh in (gh auth login) or pass -repo-id and -owner-id (gh api repos/" + o.Repo + " --jq .id,.owner.id)"
		provider.Pending, bind.Pending = why, why
	}
	return []Resource{pool, provider, bind}
}

// stateOf is InPlace when the existing resource has setup's settings,
// else Differs.
func stateOf(same bool) State {
	if same {
		return InPlace
	}
	return Differs
}

func github(o Options) []Resource {
	repo := "--repo=" + o.Repo
	env := Resource{
		Name:   "GitHub environment " + Environment + " (protected branches only)",
		Look:   gh("api", "repos/"+o.Repo+"/environments/"+Environment),
		Create: []Command{{Args: []string{"gh", "api", "--method=PUT", "repos/" + o.Repo + "/environments/" + Environment, "--input=-"}, Stdin: `{"deployment_branch_policy":{"protected_branches":true,"custom_branch_policies":false}}`}},
	}
	rs := []Resource{env}
	now, later := o.Variables()
	for i, kv := range append(now, later...) {
		name, value := kv[0], kv[1]
		set := gh("variable", "set", name, repo, "--body="+value)
		r := Resource{
			Name:   "GitHub variable " + name,
			Look:   gh("variable", "list", repo, "--json=name,value"),
			Judge:  func(out string) State { return variableState(out, name, value) },
			Create: []Command{set},
			Fix:    []Command{set},
		}
		if i >= len(now) && o.URL == "" {
			r.Pending = "after the first deploy gives the function its URL: push to main, then run setup again"
		}
		rs = append(rs, r)
	}
	if !o.GitHub {
		for i := range rs {
			rs[i].Look = Command{}
			if rs[i].Pending == "" {
				rs[i].Pending = "gh is not on PATH or not logged in (gh auth login): run these, or set them under Settings → Secrets and variables → Actions"
			}
		}
	}
	return rs
}

// afterDeploy are the resources that need the function's URL: who may
// invoke it, and the sweep's schedule.
func afterDeploy(o Options, deployer string) []Resource {
	p, region := "--project="+o.Project, "--region="+o.Region
	invoker := func(member string) Resource {
		return binding("roles/run.invoker for "+member+" on function "+o.Function,
			gcloud("run", "services", "get-iam-policy", o.Function, p, region, "--format=json"),
			gcloud("functions", "add-invoker-policy-binding", o.Function, p, region, "--member="+member),
			member, "roles/run.invoker")
	}
	// PagerDuty and Slack send no Google credentials; the function checks
	// every request's signature itself. The deployer moves traffic between
	// revisions (run.developer: no say over who invokes).
	rs := []Resource{invoker("allUsers"), binding("roles/run.developer for "+deployer+" on function "+o.Function,
		gcloud("run", "services", "get-iam-policy", o.Function, p, region, "--format=json"),
		gcloud("run", "services", "add-iam-policy-binding", o.Function, p, region, "--member=serviceAccount:"+deployer, "--role=roles/run.developer"),
		"serviceAccount:"+deployer, "roles/run.developer")}
	if o.sweep() {
		sweeper := o.account(SweepAccount)
		rs = append(rs, invoker("serviceAccount:"+sweeper))
		job := o.Function + "-sweep"
		flags := []string{job, p, "--location=" + o.Region, "--schedule=*/15 * * * *", "--time-zone=Etc/UTC",
			"--uri=" + o.URL + "/tasks/sweep", "--http-method=POST", "--attempt-deadline=60s",
			"--oidc-service-account-email=" + sweeper, "--oidc-token-audience=" + o.URL}
		rs = append(rs, Resource{
			Name:   "Cloud Scheduler job " + job,
			Look:   gcloud("scheduler", "jobs", "describe", job, p, "--location="+o.Region, "--format=json"),
			Judge:  func(out string) State { return stateOf(jobTargets(out, o.URL, sweeper)) },
			Create: []Command{gcloud(append([]string{"scheduler", "jobs", "create", "http"}, flags...)...)},
			Fix:    []Command{gcloud(append([]string{"scheduler", "jobs", "update", "http"}, flags...)...)},
		})
		// The sweeper must exist before its invoker binding: put it first.
		// The job is setup's alone: Cloud Scheduler's roles can only be
		// granted on the whole project, so the deployer gets none, and
		// may not act as the sweeper either.
		pre := []Resource{
			serviceAccount(o, SweepAccount, "Incident Channels sweep (Cloud Scheduler)"),
		}
		rs = append(pre, rs...)
	}
	if o.URL == "" {
		for i := range rs {
			if strings.Contains(rs[i].Name, "function "+o.Function) || strings.HasPrefix(rs[i].Name, "Cloud Scheduler") {
				rs[i].Look = Command{}
				rs[i].Pending = "after the first deploy gives the function its URL: push to main, then run setup again"
			}
		}
	}
	return rs
}

// hasBinding reports whether the IAM policy JSON grants role to member
// without a condition.
func hasBinding(policy, member, role string) bool {
	var p struct {
		Bindings []struct {
			Role      string          `json:"role"`
			Members   []string        `json:"members"`
			Condition json.RawMessage `json:"condition"`
		} `json:"bindings"`
	}
	if json.Unmarshal([]byte(policy), &p) != nil {
		return false
	}
	for _, b := range p.Bindings {
		if b.Role == role && b.Condition == nil && slices.Contains(b.Members, member) {
			return true
		}
	}
	return false
}

// hasIndex reports whether the index list JSON holds ix (Firestore appends
// __name__ to every composite index).
func hasIndex(list string, ix Index) bool {
	var got []struct {
		Name       string       `json:"name"`
		QueryScope string       `json:"queryScope"`
		Fields     []IndexField `json:"fields"`
	}
	if json.Unmarshal([]byte(list), &got) != nil {
		return false
	}
	for _, g := range got {
		fields := slices.DeleteFunc(g.Fields, func(f IndexField) bool { return f.FieldPath == "__name__" })
		if strings.Contains(g.Name, "/collectionGroups/"+ix.CollectionGroup+"/") && g.QueryScope == ix.QueryScope && slices.Equal(fields, ix.Fields) {
			return true
		}
	}
	return false
}

// variableState tells from gh variable list's JSON whether name is value.
func variableState(list, name, value string) State {
	var vars []struct{ Name, Value string }
	if json.Unmarshal([]byte(list), &vars) != nil {
		return Missing
	}
	for _, v := range vars {
		if strings.EqualFold(v.Name, name) {
			return stateOf(v.Value == value)
		}
	}
	return Missing
}

// jobTargets reports whether the Scheduler job JSON posts to the sweep
// with the sweeper's token for url.
func jobTargets(job, url, sweeper string) bool {
	var j struct {
		HTTPTarget struct {
			URI       string `json:"uri"`
			OIDCToken struct {
				ServiceAccountEmail string `json:"serviceAccountEmail"`
				Audience            string `json:"audience"`
			} `json:"oidcToken"`
		} `json:"httpTarget"`
	}
	if json.Unmarshal([]byte(job), &j) != nil {
		return false
	}
	t := j.HTTPTarget
	return t.URI == url+"/tasks/sweep" && t.OIDCToken.ServiceAccountEmail == sweeper && t.OIDCToken.Audience == url
}
