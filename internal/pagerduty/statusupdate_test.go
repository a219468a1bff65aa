package pagerduty_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// TestPostStatusUpdate: a status update is published as the user of
// From; what PagerDuty refuses (an empty message, an unknown incident, a
// user without permission, the plan, a rate limit) comes back as a
// refusal Explain says plainly, and publishes nothing.
func TestPostStatusUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, incident, from, message string
		fault                         *pdfake.Fault
		forbid                        bool
		wantKind                      incident.Kind
		wantExplain                   string
	}{
		{name: "published", incident: "PINC", from: "ada@example.com", message: "Mitigated"},
		{name: "empty", incident: "PINC", from: "ada@example.com", message: "  ", wantKind: incident.KindRefused, wantExplain: "refused to post a status update"},
		{name: "unknown incident", incident: "PNONE", from: "ada@example.com", message: "x", wantKind: incident.KindRefused, wantExplain: "does not exist"},
		{name: "forbidden", incident: "PINC", from: "ada@example.com", message: "x", forbid: true, wantKind: incident.KindRefused, wantExplain: "do not have permission to post a status update"},
		{name: "plan lacks it", incident: "PINC", from: "ada@example.com", message: "x", fault: &pdfake.Fault{Status: http.StatusPaymentRequired},
			wantKind: incident.KindRefused, wantExplain: "plan does not include it"},
		{name: "rate limited", incident: "PINC", from: "ada@example.com", message: "x", fault: &pdfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"},
			wantKind: incident.KindTransient, wantExplain: "try again in 7s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd := pdfake.NewServer("token")
			t.Cleanup(pd.Close)
			pd.AddUser("PADA", "Ada Lovelace", "ada@example.com")
			pd.AddIncident(pdfake.Incident{ID: "PINC", Number: 7, Title: "Checkout down", Status: "triggered"})
			if tt.forbid {
				pd.Forbid("PADA")
			}
			if tt.fault != nil {
				pd.Fail(*tt.fault)
			}
			c := pagerduty.NewClient(pagerduty.ClientOptions{Token: "token", URL: pd.URL()})
			id, err := c.PostStatusUpdate(context.Background(), tt.from, tt.incident, tt.message)
			if tt.wantExplain == "" {
				if err != nil || id == "" {
					t.Fatalf("PostStatusUpdate = %q, %v; want an id", id, err)
				}
				got := pd.StatusUpdates("PINC")
				if len(got) != 1 || got[0].Content != tt.message || got[0].UserID != "PADA" {
					t.Errorf("status updates = %+v, want one %q by PADA", got, tt.message)
				}
				return
			}
			if incident.KindOf(err) != tt.wantKind {
				t.Errorf("PostStatusUpdate error %v is of kind %v, want %v", err, incident.KindOf(err), tt.wantKind)
			}
			if got := pagerduty.Explain(err); !strings.Contains(got, tt.wantExplain) {
				t.Errorf("Explain = %q, want it to say %q", got, tt.wantExplain)
			}
			if got := pd.StatusUpdates("PINC"); len(got) != 0 {
				t.Errorf("status updates = %+v, want none", got)
			}
		})
	}
}
