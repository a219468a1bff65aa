package routing

import (
	"os"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// FuzzParse checks that Parse never panics, and that a table it returns
// routes any incident without panicking, to one of its rules or the
// default route.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../routing.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example, "Checkout API", "PABC123", "high", "P1", "security", "Payments")
	for _, src := range []string{
		``,
		`rules: []`,
		`{rules: [{name: a}]}`,
		`{"rules": [{"name": "a", "match": {"urgency": "low"}, "channel": false, "post_to": "C0LOW"}]}`,
		"rules:\n  - name: a\n    match:\n      service: [X, &s Y]\n      priority: none\n  - {name: b, match: {team: *s}, invite: [U0X, '@g', S0G], announce: none}\n",
		"rules:\n  - name: a\n    match: {servce: X}\n  - name:\n  - {name: c, channel: false, prefix: p}\n---\nx: 1\n",
		"rules:\n  - &a {name: a, match: {urgency: low}, <<: *a}\n  - {<<: [*a, {private: yes}], name: b, name: c}\n",
	} {
		f.Add([]byte(src), "X", "PX", "low", "", "", "T")
	}
	f.Fuzz(func(t *testing.T, data []byte, service, serviceID, urgency, priority, incType, teamName string) {
		tab, err := Parse(data, def)
		if err != nil {
			if tab != nil {
				t.Fatalf("Parse returned a table and an error: %v", err)
			}
			return
		}
		rules := map[string]bool{"": true}
		for _, name := range tab.Rules() {
			if name == "" {
				t.Fatalf("a rule without a name was accepted")
			}
			rules[name] = true
		}
		inc := incident.Snapshot{
			Urgency:      incident.Urgency(urgency),
			Priority:     priority,
			Service:      incident.Ref{ID: serviceID, Summary: service},
			Teams:        []incident.Ref{{ID: teamName, Summary: teamName}},
			IncidentType: incType,
		}
		for _, inc := range []incident.Snapshot{inc, {}} {
			r := tab.Route(inc)
			if !rules[r.Rule] {
				t.Fatalf("Route chose %q, not one of the rules %v", r.Rule, tab.Rules())
			}
			if !r.Channel && (r.Prefix != "" || r.Private || len(r.InviteUsers) > 0 || len(r.InviteGroups) > 0 || r.Announce != "") {
				t.Fatalf("route without a channel has channel settings: %+v", r)
			}
			if r.Channel && r.PostChannel != "" {
				t.Fatalf("route with a channel posts elsewhere: %+v", r)
			}
		}
	})
}
