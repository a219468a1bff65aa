package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// TestLeadAndRolesOnTheRoot: a lead named from Slack shows on the root
// and in the topic, with a line in the thread; a role given in PagerDuty
// (incident.role.assigned) shows on the root, a later holder of the same
// role replacing the earlier, and an older event changing nothing.
func TestLeadAndRolesOnTheRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustHandle(t, "triggered.json")
	at := loadEvent(t, "triggered.json").OccurredAt
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()

	lead := incident.Lead{SlackUserID: "U0ADA", Name: "Ada", At: at.Add(time.Minute)}
	if err := e.svc.SetLead(ctx, "Q1CHECKOUT", lead, "Bob"); err != nil {
		t.Fatalf("SetLead = %v", err)
	}
	c := e.slack.only()
	if c.rootShown.Lead != lead || !strings.HasSuffix(c.topic, " · Lead: Ada") {
		t.Errorf("root lead %+v, topic %q; want %+v and the lead in the topic", c.rootShown.Lead, c.topic, lead)
	}
	if last := c.replies[len(c.replies)-1]; last.Headline != "Ada leads the incident, named by Bob" {
		t.Errorf("last reply %q, want the lead named", last.Headline)
	}

	roles := func(id string, at time.Time, who string) {
		t.Helper()
		ev := &incident.Event{ID: id, Type: incident.EventRoleAssigned, OccurredAt: at, IncidentID: "Q1CHECKOUT",
			Agent: incident.Ref{Summary: "Bob"}, Incident: incident.Snapshot{ID: "Q1CHECKOUT"},
			Roles: []incident.Role{{Name: "Incident Commander", Assignee: incident.Ref{ID: "P" + who, Type: "user_reference", Summary: who}}}}
		if _, err := e.svc.Handle(ctx, ev); err != nil {
			t.Fatalf("Handle(role.assigned) = %v", err)
		}
	}
	roles("R1", at.Add(2*time.Minute), "Grace")
	roles("R2", at.Add(4*time.Minute), "Alan")
	roles("R0", at.Add(3*time.Minute), "Edsger")
	c = e.slack.only()
	want := []incident.Role{{Name: "Incident Commander", Assignee: incident.Ref{ID: "PAlan", Type: "user_reference", Summary: "Alan"}, At: at.Add(4 * time.Minute)}}
	if diff := cmp.Diff(want, c.rootShown.Roles); diff != "" {
		t.Errorf("root roles (-want +got):\n%s", diff)
	}
	if got := headlines(c.replies); !strings.Contains(strings.Join(got, "\n"), "Alan is now Incident Commander by Bob") {
		t.Errorf("replies %q, want the role given", got)
	}
}

// TestLeadFromSlack: /inc lead names the asker or the person mentioned,
// once for two clicks at once; a mention Slack cannot find, an observer
// or a resolved incident names no one.
func TestLeadFromSlack(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, status incident.Status) (*incident.Responder, *fakeChanges) {
		h := newResponderHarness(t, status)
		ch := &fakeChanges{}
		return incident.NewResponder(incident.ResponderOptions{
			Incidents: h.store, Claims: &store.MemoryClaims{}, Slack: h.slack, PagerDuty: h.pd, Changes: ch,
			Actors: fakeActors{"UADA": {PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "user"},
				"UOBS": {PagerDutyID: "POBS", Name: "Olga", Email: "olga@example.com", Role: "observer"}},
		}), ch
	}
	do := func(r *incident.Responder, user, text string) incident.Answer {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req := incident.ParseCommand(text)
		req.UserID, req.ChannelID = user, "C42"
		return r.Do(ctx, req)
	}
	tests := []struct {
		name, user, text string
		status           incident.Status
		want             string
		wantLead         string
	}{
		{"yourself", "UADA", "lead", incident.StatusTriggered, "<@UADA> leads #42", "UADA"},
		{"someone mentioned", "UADA", "lead <@U0BOB|bob>", incident.StatusAcknowledged, "<@U0BOB> leads #42", "U0BOB"},
		{"not a mention", "UADA", "lead bob", incident.StatusTriggered, "Name the lead with an @mention", ""},
		{"someone Slack cannot find", "UADA", "lead <@UGONE>", incident.StatusTriggered, "Slack could not find <@UGONE>", ""},
		{"an observer", "UOBS", "lead", incident.StatusTriggered, "may not change incidents", ""},
		{"a resolved incident", "UADA", "lead", incident.StatusResolved, "needs no lead", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, ch := setup(t, tt.status)
			a := do(r, tt.user, tt.text)
			if !strings.Contains(a.Text, tt.want) {
				t.Errorf("answer = %q, want %q", a.Text, tt.want)
			}
			var got string
			if len(ch.leads) > 0 {
				got = ch.leads[0].SlackUserID
			}
			if len(ch.leads) > 1 || got != tt.wantLead {
				t.Errorf("leads named = %+v, want %q once", ch.leads, tt.wantLead)
			}
		})
	}
}
