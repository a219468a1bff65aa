package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// notDeployed are the variables the deploy workflow leaves out on
// purpose: local runs and tests only, or set by the platform.
var notDeployed = map[string]string{
	"SLACK_API_URL":           "Slack's own URL is the default",
	"FIRESTORE_DATABASE":      "the (default) database",
	"FIRESTORE_EMULATOR_HOST": "tests and local runs",
	"PORT":                    "cmd/local only",
}

// TestWorkflowDeploysEveryVariable: every variable of the table reaches
// the deployed function — as an environment variable of the deploy
// command, or, for a secret, through Secret Manager — so a variable added
// to the table cannot be forgotten by the deploy.
func TestWorkflowDeploysEveryVariable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wf := string(b)
	envVars := regexp.MustCompile(`--set-env-vars="\^;\^([^"]*)"`).FindStringSubmatch(wf)
	if envVars == nil {
		t.Fatal("ci.yml has no gcloud functions deploy --set-env-vars=\"^;^…\"")
	}
	deployed := map[string]bool{}
	for _, kv := range strings.Split(envVars[1], ";") {
		name, _, _ := strings.Cut(kv, "=")
		deployed[name] = true
	}
	for _, v := range Vars {
		switch {
		case notDeployed[v.Name] != "":
			if deployed[v.Name] {
				t.Errorf("%s is deployed, but notDeployed says %s", v.Name, notDeployed[v.Name])
			}
		case v.Secret:
			if !strings.Contains(wf, v.Name+"=") || !strings.Contains(wf, "--set-secrets") {
				t.Errorf("secret %s is not passed to the function from Secret Manager (--set-secrets) in ci.yml", v.Name)
			}
		case !deployed[v.Name]:
			t.Errorf("%s is in the configuration table but not in ci.yml's --set-env-vars: a repository variable could not set it", v.Name)
		}
	}
}
