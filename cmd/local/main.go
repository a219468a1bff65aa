// Command local runs the PagerDutyWebhook function on this machine through
// the functions framework, exactly as Cloud Functions would call it.
//
//	PAGERDUTY_WEBHOOK_SECRET=… SLACK_BOT_TOKEN=… STORE=memory go run ./cmd/local
//
// It listens on 127.0.0.1:$PORT (default 8080) and serves the function at /.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	// Registers the PagerDutyWebhook function in its init.
	_ "github.com/incident-channels/incident-channels"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, getenv func(string) string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q: configure with environment variables (see README)", args)
	}
	port := getenv("PORT")
	if port == "" {
		port = "8080"
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
