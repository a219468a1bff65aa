package pagerduty

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
)

func TestPastIncidents(t *testing.T) {
	t.Parallel()
	pd, c := newFake(t)
	at := time.Date(2026, 10, 4, 16, 8, 15, 0, time.UTC)
	pd.SetPastIncidents("PINC",
		pdfake.PastIncident{ID: "PFBE9I2", Title: "Checkout down", CreatedAt: at, Score: 46.8},
		pdfake.PastIncident{ID: "P1J6V6M", Title: "Checkout slow", CreatedAt: at.Add(-time.Hour), Score: 12},
		pdfake.PastIncident{ID: "P6HPX5N", Title: "Checkout 5xx", CreatedAt: at.Add(-2 * time.Hour)})
	got, err := c.PastIncidents(ctx2s(t), "PINC", 2)
	if err != nil {
		t.Fatalf("PastIncidents(PINC, 2) error = %v", err)
	}
	want := []incident.PastIncident{
		{ID: "PFBE9I2", Title: "Checkout down", TriggeredAt: at},
		{ID: "P1J6V6M", Title: "Checkout slow", TriggeredAt: at.Add(-time.Hour)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PastIncidents(PINC, 2) (-want +got):\n%s", diff)
	}
	if reqs := pd.Requests(); len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/incidents/PINC/past_incidents?limit=2" {
		t.Errorf("requests = %+v, want one GET /incidents/PINC/past_incidents?limit=2", reqs)
	}
}

// TestPastIncidentsNotOnPlan: an account without Past Incidents (402 or
// 403) is ErrNotOnPlan, which the look-up takes quietly; other failures
// are not.
func TestPastIncidentsNotOnPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		prepare   func(*pdfake.Server)
		notOnPlan bool
		kind      incident.Kind
	}{
		{"403 (the fake's account without it)", func(*pdfake.Server) {}, true, incident.KindRefused},
		{"402", func(s *pdfake.Server) {
			s.SetPastIncidents("PINC")
			s.FailOn("GET", "/incidents/PINC/past_incidents", pdfake.Fault{Status: http.StatusPaymentRequired})
		}, true, incident.KindRefused},
		{"503", func(s *pdfake.Server) {
			s.SetPastIncidents("PINC")
			s.FailOn("GET", "/incidents/PINC/past_incidents", pdfake.Fault{Status: http.StatusServiceUnavailable})
		}, false, incident.KindTransient},
		{"unknown incident", func(s *pdfake.Server) { s.SetPastIncidents("PINC") }, false, incident.KindRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pd, c := newFake(t)
			tt.prepare(pd)
			id := "PINC"
			if tt.name == "unknown incident" {
				id = "PNONE"
			}
			_, err := c.PastIncidents(ctx2s(t), id, 5)
			if errors.Is(err, incident.ErrNotOnPlan) != tt.notOnPlan || incident.KindOf(err) != tt.kind {
				t.Errorf("PastIncidents() error = %v (kind %v); want ErrNotOnPlan %v, kind %v", err, incident.KindOf(err), tt.notOnPlan, tt.kind)
			}
		})
	}
}
