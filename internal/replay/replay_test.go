package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// TestPayloadsMatchTestdata keeps the embedded copies identical to the
// fixtures the domain is tested with; copy the file over when it fails.
func TestPayloadsMatchTestdata(t *testing.T) {
	for _, tmpl := range Builtin() {
		t.Run(tmpl.Name, func(t *testing.T) {
			orig := filepath.Join("..", "pagerduty", "testdata", tmpl.Name+".json")
			want, err := os.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tmpl.Body, want) {
				t.Errorf("payloads/%s.json differs from %s: cp %s internal/replay/payloads/", tmpl.Name, orig, orig)
			}
		})
	}
}

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func parseAll(t *testing.T, ds []Delivery) []*incident.Event {
	t.Helper()
	evs := make([]*incident.Event, len(ds))
	for i, d := range ds {
		ev, ignored, err := pagerduty.Parse(d.Body)
		if err != nil {
			t.Fatalf("Parse(delivery %d %s) error = %v\n%s", i, d.Name, err, d.Body)
		}
		if len(ignored) > 0 {
			t.Errorf("Parse(delivery %d %s) ignored %q, want every field read", i, d.Name, ignored)
		}
		evs[i] = ev
	}
	return evs
}

func TestBuildOneIncident(t *testing.T) {
	ds, err := Build(Builtin(), Options{FirstNumber: 1234, Run: "ABC123", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	evs := parseAll(t, ds)
	wantTypes := []string{"incident.triggered", "incident.acknowledged", "incident.annotated",
		"incident.escalated", "incident.priority_updated", "incident.resolved"}
	var gotTypes []string
	for i, ev := range evs {
		gotTypes = append(gotTypes, ev.Type)
		if ev.IncidentID != "QABC12301" || ds[i].IncidentID != "QABC12301" {
			t.Errorf("delivery %d incident id = %q (parsed %q), want QABC12301", i, ds[i].IncidentID, ev.IncidentID)
		}
		if ev.ID != ds[i].EventID {
			t.Errorf("delivery %d event id = %q, Delivery.EventID %q", i, ev.ID, ds[i].EventID)
		}
		if !strings.Contains(ev.Incident.HTMLURL, "QABC12301") {
			t.Errorf("delivery %d html_url = %q, want the new incident id in it", i, ev.Incident.HTMLURL)
		}
		if bytes.Contains(ds[i].Body, []byte("Q1CHECKOUT")) || bytes.Contains(ds[i].Body, []byte("d3640fbd41094207a1c11e58e46b1662")) {
			t.Errorf("delivery %d still carries the template's incident id or key:\n%s", i, ds[i].Body)
		}
		if ev.Incident.Complete && ev.Incident.Number != 1234 {
			t.Errorf("delivery %d number = %d, want 1234", i, ev.Incident.Number)
		}
		if i > 0 && !ev.OccurredAt.After(evs[i-1].OccurredAt) {
			t.Errorf("delivery %d occurred_at %v not after %v", i, ev.OccurredAt, evs[i-1].OccurredAt)
		}
	}
	if !slices.Equal(gotTypes, wantTypes) {
		t.Errorf("event types = %v, want %v", gotTypes, wantTypes)
	}
	// The lifecycle keeps its 42 minutes and ends now.
	if last := evs[len(evs)-1].OccurredAt; !last.Equal(now) {
		t.Errorf("last occurred_at = %v, want %v", last, now)
	}
	if got, want := evs[0].Incident.CreatedAt, now.Add(-42*time.Minute); !got.Equal(want) {
		t.Errorf("created_at = %v, want %v", got, want)
	}
	if got := evs[2].Note; !strings.HasPrefix(got, "Rolled back deploy 7f3a") {
		t.Errorf("note = %q, want the template's note", got)
	}
}

func TestBuildSeveralIncidents(t *testing.T) {
	tests := []struct {
		name       string
		interleave bool
		// wantOrder is the incident index of each delivery.
		wantOrder []int
	}{
		{"in sequence", false, []int{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3}},
		{"interleaved", true, []int{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Build(Builtin(), Options{Incidents: 3, Interleave: tt.interleave, FirstNumber: 10, Run: "R1", Now: now})
			if err != nil {
				t.Fatal(err)
			}
			evs := parseAll(t, ds)
			var order []int
			eventIDs := map[string]bool{}
			webhookIDs := map[string]bool{}
			lastAt := map[int]time.Time{}
			for i, d := range ds {
				order = append(order, d.Incident)
				if want := 9 + d.Incident; d.Number != want {
					t.Errorf("delivery %d number = %d, want %d", i, d.Number, want)
				}
				if want := "QR10" + string(rune('0'+d.Incident)); d.IncidentID != want || evs[i].IncidentID != want {
					t.Errorf("delivery %d incident id = %q (parsed %q), want %q", i, d.IncidentID, evs[i].IncidentID, want)
				}
				if eventIDs[d.EventID] || webhookIDs[d.WebhookID] {
					t.Errorf("delivery %d reuses event id %q or webhook id %q", i, d.EventID, d.WebhookID)
				}
				eventIDs[d.EventID], webhookIDs[d.WebhookID] = true, true
				if at := evs[i].OccurredAt; !at.After(lastAt[d.Incident]) {
					t.Errorf("delivery %d (incident %d) occurred_at %v not after its previous event %v", i, d.Incident, at, lastAt[d.Incident])
				} else {
					lastAt[d.Incident] = at
				}
			}
			if !slices.Equal(order, tt.wantOrder) {
				t.Errorf("incident order = %v, want %v", order, tt.wantOrder)
			}
			if got := lastAt[3]; !got.Equal(now) {
				t.Errorf("last incident ends at %v, want %v", got, now)
			}
			if got, want := lastAt[3].Sub(lastAt[1]), 2*Stagger; got != want {
				t.Errorf("first and last incident end %v apart, want %v", got, want)
			}
		})
	}
}

func TestBuildTitle(t *testing.T) {
	const title = `<script>alert(1)</script> <!channel> & "db" down`
	ds, err := Build(Builtin(), Options{Title: title, FirstNumber: 7, Run: "T", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range parseAll(t, ds) {
		if ev.Incident.Title != title {
			t.Errorf("delivery %d (%s) title = %q, want %q", i, ev.Type, ev.Incident.Title, title)
		}
	}
}

func TestBuildRandomDefaults(t *testing.T) {
	a, err := Build(Builtin(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(Builtin(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].IncidentID == b[0].IncidentID || a[0].EventID == b[0].EventID {
		t.Errorf("two replays share incident id %q or event id %q, want fresh ones", a[0].IncidentID, a[0].EventID)
	}
	if n := a[0].Number; n < 1000 || n > 9999 {
		t.Errorf("random number = %d, want four digits", n)
	}
	if at := parseAll(t, a)[len(a)-1].OccurredAt; time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Errorf("last occurred_at = %v, want about now", at)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	// Written in an order that is neither alphabetical nor the lifecycle's.
	for _, tmpl := range Builtin() {
		name := map[string]string{"triggered": "z", "resolved": "a"}[tmpl.Name]
		if name == "" {
			name = tmpl.Name
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), tmpl.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tmpl := range got {
		names = append(names, tmpl.Name)
	}
	want := []string{"z", "acknowledged", "annotated", "escalated", "priority_updated", "a"}
	if !slices.Equal(names, want) {
		t.Errorf("ReadDir order = %v, want %v (by occurred_at)", names, want)
	}

	errTests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty", nil, "no *.json payload files"},
		{"not JSON", map[string]string{"x.json": "nope"}, "not a PagerDuty V3 webhook body"},
		{"V2", map[string]string{"v2.json": `{"messages":[]}`}, "not a PagerDuty V3 webhook body"},
		{"bad time", map[string]string{"x.json": `{"event":{"id":"E","event_type":"incident.triggered","occurred_at":"yesterday"}}`}, "not an RFC 3339 time"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadDir(%s) error = %v, want it to contain %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestBuildRejectsBadTemplates(t *testing.T) {
	tests := []struct {
		name  string
		tmpls []Template
	}{
		{"none", nil},
		{"not JSON", []Template{{Name: "x", Body: []byte("{")}}},
		{"no event", []Template{{Name: "x", Body: []byte(`{"messages":[]}`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(tt.tmpls, Options{}); err == nil {
				t.Errorf("Build(%s) error = nil, want an error", tt.name)
			}
		})
	}
}
