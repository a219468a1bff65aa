// Package incidentchannels is the Google Cloud Function "PagerDutyWebhook":
// it receives PagerDuty V3 webhooks and keeps one Slack channel per
// incident. This file registers the HTTP function and mounts the handler
// internal/app builds from the environment; the configuration is in
// internal/config, the wiring and the middleware in internal/app.
package incidentchannels

import (
	"context"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/incident-channels/incident-channels/internal/app"
	"github.com/incident-channels/incident-channels/internal/sweep"
)

// FunctionName is the name the HTTP function is registered under (the
// entry point given to `gcloud functions deploy`).
const FunctionName = "PagerDutyWebhook"

func init() {
	functions.HTTP(FunctionName, PagerDutyWebhook)
	if os.Getenv("FUNCTION_TARGET") == FunctionName {
		// This process serves the function (Cloud Functions sets the
		// target, and the functions framework serves it): read and check
		// the configuration now, so its problems and notices are logged
		// when the instance starts, not found by the first incident.
		// Other importers start it with Start, or on first use.
		Start()
	}
}

// Start reads and checks the configuration from the environment and
// builds the function, once per process; later calls do nothing. A
// runner that sets FUNCTION_TARGET after this package's init (cmd/local)
// calls it before serving, so the start-up lines come at start.
func Start() { webhook() }

// webhook is the function of this process, set up once from the
// environment.
var webhook = sync.OnceValue(func() *app.Function { return app.Start(os.Getenv, app.NewLogger(os.Stdout)) })

// PagerDutyWebhook is the HTTP function PagerDuty's V3 webhook
// subscription, Slack and Cloud Scheduler call.
func PagerDutyWebhook(w http.ResponseWriter, r *http.Request) {
	webhook().ServeHTTP(w, r)
}

// Sweep runs the sweep of this process's function once, without a token:
// cmd/local -sweep calls it on an interval. It fails like a request would
// while the function is not set up (the configuration's problems, or the
// setup error), and with app.ErrSweepNotConfigured without ARCHIVE_AFTER
// and UPDATE_REMINDERS.
func Sweep(ctx context.Context) (sweep.Report, error) {
	return webhook().Sweep(ctx)
}
