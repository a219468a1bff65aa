package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/incident-channels/incident-channels/internal/config"
)

// checkConfig loads the function's configuration from the environment the
// way the function does at start, rules file included, so that a deploy
// stops before a revision that would answer every webhook 503. The
// variables in fromSecrets come from Secret Manager at run time, which the
// deploy job cannot read: they are taken as set, with a value of the
// right shape.
func checkConfig(getenv func(string) string, fromSecrets string, stdout io.Writer) error {
	stand := map[string]string{}
	for name := range strings.SplitSeq(fromSecrets, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.ContainsFunc(config.Vars, func(v config.Var) bool { return v.Name == name && v.Secret }) {
			return fmt.Errorf("-from-secrets: %s is not one of the function's secret variables", name)
		}
		if getenv(name) == "" {
			stand[name] = "set-in-secret-manager"
			if name == "SLACK_BOT_TOKEN" {
				// The only secret with a shape config checks.
				stand[name] = "xoxb-set-in-secret-manager"
			}
		}
	}
	cfg, err := config.Load(func(name string) string {
		if v, ok := stand[name]; ok {
			return v
		}
		return getenv(name)
	})
	if err != nil {
		problems := config.Problems(err)
		for _, p := range problems {
			fmt.Fprintf(stdout, "problem: %s\n", p)
		}
		return fmt.Errorf("the configuration has %d problems (above); the function would answer 503 until they are fixed", len(problems))
	}
	for _, n := range config.Notices(cfg) {
		fmt.Fprintf(stdout, "notice: %s\n", n)
	}
	fmt.Fprintln(stdout, "The configuration is valid.")
	return nil
}
