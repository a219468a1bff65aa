// Package fakecli is a stateful fake of the gcloud and gh command-line
// tools, for cmd/setup's tests: fakebin is the program, which the tests
// build and put on PATH under both names. Its World (what exists) is a
// JSON file next to the program, so each run sees the last one's changes:
// a describe fails with NOT_FOUND until the matching create ran.
package fakecli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// World is the fake cloud and repository: what exists, kept in a JSON file
// next to the fake programs so that each run of them sees the last one's
// changes.
type World struct {
	Account  string
	Projects map[string]string // id → number
	// Objects are resources by key, as JSON objects their describe prints.
	Objects map[string]map[string]any
	// Policies are IAM policies by resource key: role → members.
	Policies map[string]map[string][]string
	// Versions counts each secret's versions by key; Values keeps their
	// lengths only.
	Versions map[string]int
	// Values are the secrets' latest values, by key.
	Values  map[string]string
	Enabled []string
	Vars    map[string]string
	// GhLoggedOut makes gh auth status fail.
	GhLoggedOut bool
	// Denied makes every command fail with PERMISSION_DENIED.
	Denied bool
	// FailIn makes the FailIn-th mutating command from now fail; 0 never.
	FailIn int
	// Mutations counts the mutating commands run.
	Mutations int
}

func stateFile(dir string) string { return filepath.Join(dir, "World.json") }

// Load reads the world kept in dir.
func Load(dir string) (*World, error) {
	b, err := os.ReadFile(stateFile(dir))
	if err != nil {
		return nil, err
	}
	var w World
	return &w, json.Unmarshal(b, &w)
}

// Save writes the world to dir.
func (w *World) Save(dir string) error {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(stateFile(dir), b, 0o600)
}

// call is one invocation: its words (positional arguments) and --flags.
type call struct {
	args  []string
	words []string
	flags map[string]string
}

func parseCall(args []string) call {
	c := call{args: args, flags: map[string]string{}}
	for _, a := range args {
		if k, ok := strings.CutPrefix(a, "--"); ok {
			k, v, _ := strings.Cut(k, "=")
			c.flags[k] = v
			continue
		}
		c.words = append(c.words, a)
	}
	return c
}

// is reports whether the call's words start with prefix, returning the rest.
func (c call) is(prefix string) ([]string, bool) {
	p := strings.Fields(prefix)
	if len(c.words) < len(p) || !slices.Equal(c.words[:len(p)], p) {
		return nil, false
	}
	return c.words[len(p):], true
}

// fakeError is what the fake prints on stderr, worded as
// gcloud and gh word them.
type fakeError struct {
	text string
}

func (e fakeError) Error() string { return e.text }

func notFoundErr(what string) error {
	return fakeError{"ERROR: (gcloud) NOT_FOUND: " + what + " was not found."}
}

// Main runs program ("gcloud" or "gh") with args against the world kept
// next to the running executable, and returns the exit code.
func Main(program string, args []string) int {
	dir := filepath.Dir(os.Args[0])
	w, err := Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 2
	}
	f, _ := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	fmt.Fprintln(f, program+" "+strings.Join(args, " "))
	f.Close()

	stdin, _ := io.ReadAll(os.Stdin)
	c := parseCall(args)
	var out string
	if program == "gcloud" {
		out, err = w.gcloud(c, string(stdin))
	} else {
		out, err = w.gh(c, string(stdin))
	}
	if serr := w.Save(dir); serr != nil && err == nil {
		err = serr
	}
	fmt.Print(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// mutate counts a mutating command and fails it when FailIn says so.
func (w *World) mutate() error {
	w.Mutations++
	if w.FailIn > 0 {
		w.FailIn--
		if w.FailIn == 0 {
			return fakeError{"ERROR: (gcloud) UNAVAILABLE: injected failure"}
		}
	}
	return nil
}

// format prints obj as --format asks: json, or value(a.b).
func format(obj any, f string) string {
	if field, ok := strings.CutPrefix(f, "value("); ok {
		v := obj
		for _, k := range strings.Split(strings.TrimSuffix(field, ")"), ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v == nil {
			return "\n"
		}
		return fmt.Sprint(v) + "\n"
	}
	b, _ := json.Marshal(obj)
	return string(b) + "\n"
}

func (w *World) policy(key string) string {
	var p struct {
		Bindings []map[string]any `json:"bindings"`
	}
	roles := w.Policies[key]
	for _, role := range slices.Sorted(func(yield func(string) bool) {
		for r := range roles {
			if !yield(r) {
				return
			}
		}
	}) {
		p.Bindings = append(p.Bindings, map[string]any{"role": role, "members": roles[role]})
	}
	b, _ := json.Marshal(p)
	return string(b) + "\n"
}

func (w *World) bind(key string, c call) error {
	if err := w.mutate(); err != nil {
		return err
	}
	if w.Policies == nil {
		w.Policies = map[string]map[string][]string{}
	}
	if w.Policies[key] == nil {
		w.Policies[key] = map[string][]string{}
	}
	role, member := c.flags["role"], c.flags["member"]
	if !slices.Contains(w.Policies[key][role], member) {
		w.Policies[key][role] = append(w.Policies[key][role], member)
	}
	return nil
}

// create stores a new object under key, failing if it exists.
func (w *World) create(key string, obj map[string]any) error {
	if _, ok := w.Objects[key]; ok {
		return fakeError{"ERROR: (gcloud) ALREADY_EXISTS: " + key}
	}
	if err := w.mutate(); err != nil {
		return err
	}
	w.Objects[key] = obj
	return nil
}

func (w *World) describe(key string, c call) (string, error) {
	obj, ok := w.Objects[key]
	if !ok {
		return "", notFoundErr(key)
	}
	return format(obj, c.flags["format"]), nil
}

func (w *World) gcloud(c call, stdin string) (string, error) {
	if _, ok := c.is("config get-value account"); ok {
		return w.Account + "\n", nil
	}
	if w.Account == "" {
		return "", fakeError{"ERROR: (gcloud) You do not currently have an active account selected."}
	}
	p := c.flags["project"]
	if rest, ok := c.is("projects describe"); ok {
		n, ok := w.Projects[rest[0]]
		if !ok {
			return "", fakeError{"ERROR: (gcloud.projects.describe) PERMISSION_DENIED: the project " + rest[0] + " may not exist"}
		}
		return format(map[string]any{"projectNumber": n}, c.flags["format"]), nil
	}
	if w.Denied {
		return "", fakeError{"ERROR: (gcloud) PERMISSION_DENIED: The caller does not have permission"}
	}
	if _, ok := w.Projects[p]; !ok && c.words[0] != "projects" {
		return "", fakeError{"ERROR: (gcloud) PERMISSION_DENIED: project " + p + " not visible"}
	}
	switch {
	case has(c, "projects get-iam-policy"):
		return w.policy("project/" + c.words[2]), nil
	case has(c, "projects add-iam-policy-binding"):
		return "", w.bind("project/"+c.words[2], c)
	case has(c, "services list"):
		name := strings.TrimPrefix(c.flags["filter"], "config.name=")
		if slices.Contains(w.Enabled, name) {
			return name + "\n", nil
		}
		return "", nil
	case has(c, "services enable"):
		if err := w.mutate(); err != nil {
			return "", err
		}
		w.Enabled = append(w.Enabled, c.words[2:]...)
		return "", nil
	case has(c, "firestore databases describe"):
		return w.describe("db/"+p, c)
	case has(c, "firestore databases create"):
		return "", w.create("db/"+p, map[string]any{"type": "FIRESTORE_NATIVE", "locationId": c.flags["location"]})
	case has(c, "firestore fields describe"):
		// A field without settings of its own describes as the defaults.
		key := "field/" + p + "/" + c.flags["collection-group"] + "/" + c.words[3]
		if _, ok := w.Objects[key]; !ok {
			return format(map[string]any{}, c.flags["format"]), nil
		}
		return w.describe(key, c)
	case has(c, "firestore fields ttls update"):
		if err := w.mutate(); err != nil {
			return "", err
		}
		w.Objects["field/"+p+"/"+c.flags["collection-group"]+"/"+c.words[4]] = map[string]any{"ttlConfig": map[string]any{"state": "CREATING"}}
		return "", nil
	case has(c, "firestore indexes composite list"):
		var list []any
		for k, v := range w.Objects {
			if strings.HasPrefix(k, "index/"+p+"/") {
				list = append(list, v)
			}
		}
		if list == nil {
			list = []any{}
		}
		return format(list, "json"), nil
	case has(c, "firestore indexes composite create"):
		cg := c.flags["collection-group"]
		var fields []any
		for _, a := range c.args {
			if fc, ok := strings.CutPrefix(a, "--field-config="); ok {
				kv := map[string]string{}
				for part := range strings.SplitSeq(fc, ",") {
					k, v, _ := strings.Cut(part, "=")
					kv[k] = v
				}
				fields = append(fields, map[string]any{"fieldPath": kv["field-path"], "order": strings.ToUpper(kv["order"])})
			}
		}
		fields = append(fields, map[string]any{"fieldPath": "__name__", "order": "ASCENDING"})
		name := fmt.Sprintf("projects/%s/databases/(default)/collectionGroups/%s/indexes/CICAgI%d", p, cg, len(w.Objects))
		return "", w.create("index/"+p+"/"+name, map[string]any{"name": name, "queryScope": c.flags["query-scope"], "fields": fields, "state": "CREATING"})
	case has(c, "secrets describe"):
		return w.describe("secret/"+p+"/"+c.words[2], c)
	case has(c, "secrets create"):
		return "", w.create("secret/"+p+"/"+c.words[2], map[string]any{"name": c.words[2]})
	case has(c, "secrets versions list"):
		key := "secret/" + p + "/" + c.words[3]
		if _, ok := w.Objects[key]; !ok {
			return "", notFoundErr(key)
		}
		if w.Versions[key] > 0 {
			return fmt.Sprintf("%d\n", w.Versions[key]), nil
		}
		return "", nil
	case has(c, "secrets versions add"):
		key := "secret/" + p + "/" + c.words[3]
		if _, ok := w.Objects[key]; !ok {
			return "", notFoundErr(key)
		}
		if stdin == "" {
			return "", fakeError{"ERROR: (gcloud.secrets.versions.add) INVALID_ARGUMENT: empty payload"}
		}
		if err := w.mutate(); err != nil {
			return "", err
		}
		if w.Versions == nil {
			w.Versions = map[string]int{}
		}
		w.Versions[key]++
		if w.Values == nil {
			w.Values = map[string]string{}
		}
		w.Values[key] = stdin
		return "", nil
	case has(c, "secrets versions access"):
		v, ok := w.Values["secret/"+p+"/"+c.flags["secret"]]
		if !ok {
			return "", notFoundErr("a version of " + c.flags["secret"])
		}
		return v, nil
	case has(c, "secrets get-iam-policy"):
		return w.policyOf("secret/"+p+"/"+c.words[2], c)
	case has(c, "secrets add-iam-policy-binding"):
		return w.bindOn("secret/"+p+"/"+c.words[2], c)
	case has(c, "iam service-accounts describe"):
		return w.describe("sa/"+c.words[3], c)
	case has(c, "iam service-accounts create"):
		return "", w.create("sa/"+c.words[3]+"@"+p+".iam.gserviceaccount.com", map[string]any{"displayName": c.flags["display-name"]})
	case has(c, "iam service-accounts get-iam-policy"):
		return w.policyOf("sa/"+c.words[3], c)
	case has(c, "iam service-accounts add-iam-policy-binding"):
		return w.bindOn("sa/"+c.words[3], c)
	case has(c, "iam workload-identity-pools describe"):
		return w.describe("pool/"+p+"/"+c.words[3], c)
	case has(c, "iam workload-identity-pools create"):
		return "", w.create("pool/"+p+"/"+c.words[3], map[string]any{"state": "ACTIVE"})
	case has(c, "iam workload-identity-pools providers describe"):
		return w.describe("provider/"+p+"/"+c.flags["workload-identity-pool"]+"/"+c.words[4], c)
	case has(c, "iam workload-identity-pools providers create-oidc"):
		pool := "pool/" + p + "/" + c.flags["workload-identity-pool"]
		if _, ok := w.Objects[pool]; !ok {
			return "", notFoundErr(pool)
		}
		return "", w.create("provider/"+p+"/"+c.flags["workload-identity-pool"]+"/"+c.words[4],
			map[string]any{"attributeCondition": c.flags["attribute-condition"], "attributeMapping": c.flags["attribute-mapping"]})
	case has(c, "functions describe"):
		return w.describe("function/"+p+"/"+c.flags["region"]+"/"+c.words[2], c)
	case has(c, "run services get-iam-policy"):
		return w.policyOf("function/"+p+"/"+c.flags["region"]+"/"+c.words[3], c)
	case has(c, "run services add-iam-policy-binding"):
		return w.bindOn("function/"+p+"/"+c.flags["region"]+"/"+c.words[3], c)
	case has(c, "functions add-invoker-policy-binding"):
		c.flags["role"] = "roles/run.invoker"
		return w.bindOn("function/"+p+"/"+c.flags["region"]+"/"+c.words[2], c)
	case has(c, "scheduler jobs describe"):
		return w.describe("job/"+p+"/"+c.flags["location"]+"/"+c.words[3], c)
	case has(c, "scheduler jobs create http"):
		return "", w.create("job/"+p+"/"+c.flags["location"]+"/"+c.words[4], map[string]any{
			"schedule": c.flags["schedule"],
			"httpTarget": map[string]any{"uri": c.flags["uri"], "httpMethod": c.flags["http-method"],
				"oidcToken": map[string]any{"serviceAccountEmail": c.flags["oidc-service-account-email"], "audience": c.flags["oidc-token-audience"]}},
		})
	}
	return "", fakeError{"fake gcloud: unknown command " + strings.Join(c.words, " ")}
}

func has(c call, prefix string) bool {
	_, ok := c.is(prefix)
	return ok
}

// policyOf prints the policy of an existing resource.
func (w *World) policyOf(key string, c call) (string, error) {
	if _, ok := w.Objects[key]; !ok {
		return "", notFoundErr(key)
	}
	return w.policy(key), nil
}

func (w *World) bindOn(key string, c call) (string, error) {
	if _, ok := w.Objects[key]; !ok {
		return "", notFoundErr(key)
	}
	return "", w.bind(key, c)
}

func (w *World) gh(c call, stdin string) (string, error) {
	if _, ok := c.is("auth status"); ok {
		if w.GhLoggedOut {
			return "", fakeError{"You are not logged into any GitHub hosts. To log in, run: gh auth login"}
		}
		return "", nil
	}
	if rest, ok := c.is("api"); ok {
		path := rest[0]
		switch {
		case c.flags["method"] == "PUT":
			if err := w.mutate(); err != nil {
				return "", err
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(stdin), &body); err != nil {
				return "", fakeError{"gh: Problems parsing JSON (HTTP 400)"}
			}
			w.Objects["gh/"+path] = body
			return "{}\n", nil
		case c.flags["jq"] == ".id":
			return "123456789\n", nil
		case c.flags["jq"] == ".owner.id":
			return "987654\n", nil
		}
		if obj, ok := w.Objects["gh/"+path]; ok {
			return format(obj, "json"), nil
		}
		return "", fakeError{"gh: Not Found (HTTP 404)"}
	}
	if _, ok := c.is("variable list"); ok {
		list := []map[string]string{}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range w.Vars {
				if !yield(k) {
					return
				}
			}
		}) {
			list = append(list, map[string]string{"name": k, "value": w.Vars[k]})
		}
		b, _ := json.Marshal(list)
		return string(b) + "\n", nil
	}
	if rest, ok := c.is("variable set"); ok {
		if err := w.mutate(); err != nil {
			return "", err
		}
		if w.Vars == nil {
			w.Vars = map[string]string{}
		}
		w.Vars[rest[0]] = c.flags["body"]
		return "", nil
	}
	return "", fakeError{"fake gh: unknown command " + strings.Join(c.words, " ")}
}
