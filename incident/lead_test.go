package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
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
