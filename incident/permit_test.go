package incident_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// cachedActors answers Lookup from a cache of its own (FromCache set) and
// Reload from PagerDuty's current answer, counting the reloads.
type cachedActors struct {
	mu      sync.Mutex
	cached  incident.Actor
	current incident.Actor
	reloads int
}

func (c *cachedActors) Lookup(context.Context, string) (incident.Actor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.cached
	a.FromCache = true
	return a, nil
}

func (c *cachedActors) Reload(context.Context, string) (incident.Actor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloads++
	c.cached = c.current
	return c.current, nil
}

// permitHarness is a Responder acting on incident Q1 (#42) of team
// PTEAM01 (Payments) for a user whose cached and current PagerDuty
// identity the test sets.
func permitHarness(t *testing.T, actors *cachedActors, actRoles []string) *responderHarness {
	t.Helper()
	h := &responderHarness{pd: &fakePDActions{level: 2}, slack: &fakeResponderSlack{}, store: store.NewMemory()}
	err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		st.Snapshot = incident.Snapshot{ID: "Q1", Number: 42, Title: "DB down", Status: incident.StatusTriggered, Complete: true,
			EscalationPolicy: incident.Ref{ID: "PPOL", Summary: "Ops"}, Teams: []incident.Ref{{ID: "PTEAM01", Summary: "Payments"}}}
		st.ChannelID = "C42"
		return incident.ChangeState, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.r = incident.NewResponder(incident.ResponderOptions{
		Incidents: h.store, Claims: &store.MemoryClaims{}, Slack: h.slack, PagerDuty: h.pd, Actors: actors, ActRoles: actRoles,
	})
	return h
}

// TestPagerDutyRoles: what PagerDuty would let the person do, not what
// the function's key can: owners, admins and users act on any incident;
// limited and restricted-access users on their own teams' only;
// observers, the read-only roles and unknown roles never; ACT_ROLES
// narrows it further. A refused user is not sent to PagerDuty.
func TestPagerDutyRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		role     string
		teams    []string
		actRoles []string
		refusal  string // "" acts
	}{
		{name: "owner", role: "owner"},
		{name: "admin", role: "admin"},
		{name: "user, of another team", role: "user", teams: []string{"PTEAM99"}},
		{name: "limited user of the incident's team", role: "limited_user", teams: []string{"PTEAM99", "PTEAM01"}},
		{name: "restricted access of the incident's team", role: "restricted_access", teams: []string{"PTEAM01"}},
		{name: "limited user of another team", role: "limited_user", teams: []string{"PTEAM99"},
			refusal: "may change only the incidents of your PagerDuty teams, and #42 belongs to Payments"},
		{name: "restricted access without a team", role: "restricted_access", refusal: "belongs to Payments"},
		{name: "observer", role: "observer", refusal: "*observer* role, which may not change incidents"},
		{name: "read-only user", role: "read_only_user", refusal: "*read_only_user* role, which may not change incidents"},
		{name: "read-only limited user", role: "read_only_limited_user", teams: []string{"PTEAM01"}, refusal: "may not change incidents"},
		{name: "an unknown role", role: "superhero", refusal: "*superhero* role, which may not change incidents"},
		{name: "no role", role: "", refusal: "may not change incidents"},
		{name: "user, ACT_ROLES owner,admin", role: "user", actRoles: []string{"owner", "admin"},
			refusal: "here only owner, admin may act on incidents from Slack (ACT_ROLES)"},
		{name: "admin, ACT_ROLES owner,admin", role: "admin", actRoles: []string{"owner", "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ada := incident.Actor{PagerDutyID: "PADA", Name: "Ada", Email: "ada@example.com", Role: tt.role, Teams: tt.teams}
			h := permitHarness(t, &cachedActors{cached: ada, current: ada}, tt.actRoles)
			a := h.do(incident.Request{Kind: incident.RequestResolve, IncidentID: "Q1", UserID: "UADA"})
			calls := h.pd.Calls()
			if tt.refusal == "" {
				if len(calls) != 1 || !strings.HasPrefix(a.Text, "✓") {
					t.Errorf("answer %q, calls %q; want one resolve", a.Text, calls)
				}
				return
			}
			if !strings.Contains(a.Text, tt.refusal) {
				t.Errorf("answer = %q, want it to say %q", a.Text, tt.refusal)
			}
			if len(calls) != 0 {
				t.Errorf("PagerDuty calls = %q, want none", calls)
			}
		})
	}
}

// TestRefusalReadsAgain: a refusal made on the cached role is checked
// once more on a fresh look-up, so a promotion (or a new team) takes
// effect at once; a refusal that stands reads again only once.
func TestRefusalReadsAgain(t *testing.T) {
	t.Parallel()
	observer := incident.Actor{PagerDutyID: "PADA", Name: "Ada", Email: "ada@example.com", Role: "observer"}
	promoted := observer
	promoted.Role = "user"
	actors := &cachedActors{cached: observer, current: promoted}
	h := permitHarness(t, actors, nil)
	if a := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"}); !strings.HasPrefix(a.Text, "✓") {
		t.Errorf("answer after a promotion = %q, want it done", a.Text)
	}
	if actors.reloads != 1 {
		t.Errorf("reloads = %d, want 1", actors.reloads)
	}

	stays := &cachedActors{cached: observer, current: observer}
	h = permitHarness(t, stays, nil)
	if a := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"}); !strings.Contains(a.Text, "may not change incidents") {
		t.Errorf("answer = %q, want the refusal", a.Text)
	}
	if stays.reloads != 1 || len(h.pd.Calls()) != 0 {
		t.Errorf("reloads = %d, PagerDuty calls %q; want 1 and none", stays.reloads, h.pd.Calls())
	}
}

// TestPermittedUserNotReloaded: a permitted cached answer costs no
// second look-up.
func TestPermittedUserNotReloaded(t *testing.T) {
	t.Parallel()
	ada := incident.Actor{PagerDutyID: "PADA", Name: "Ada", Email: "ada@example.com", Role: "admin"}
	actors := &cachedActors{cached: ada, current: ada}
	h := permitHarness(t, actors, nil)
	if a := h.do(incident.Request{Kind: incident.RequestResolve, IncidentID: "Q1", UserID: "UADA"}); !strings.HasPrefix(a.Text, "✓") {
		t.Errorf("answer = %q, want it done", a.Text)
	}
	if actors.reloads != 0 {
		t.Errorf("reloads = %d, want none", actors.reloads)
	}
}
