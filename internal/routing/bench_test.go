package routing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/incident"
)

// BenchmarkRoute routes incidents through 20 rules, most of which do not
// match, as in a large organisation's file.
func BenchmarkRoute(b *testing.B) {
	var src strings.Builder
	src.WriteString("rules:\n")
	for i := range 19 {
		fmt.Fprintf(&src, "  - name: team-%d\n    match:\n      service: [Service %d, PSVC%d]\n      team: [Team %d, PTEAM%d]\n      priority: [P1, P2, none]\n    prefix: t%d\n    invite: [U0USER%d, \"@team-%d\"]\n",
			i, i, i, i, i, i, i, i)
	}
	src.WriteString("  - name: rest\n    channel: false\n    post_to: C0REST\n")
	tab := mustParse(b, src.String())
	if n := len(tab.Rules()); n != 20 {
		b.Fatalf("%d rules", n)
	}
	incs := []incident.Snapshot{
		snap("Service 18", "PSVC18", "high", "P1", "", team("Other", "PT0"), team("Team 18", "PTEAM18")), // matches near the end
		snap("service 3", "PX", "high", "", "", team("team 3", "PT3")),                                   // matches early
		snap("Unknown", "PUNK", "low", "P4", "", team("Other", "PT0")),                                   // falls to the last rule
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := tab.Route(incs[i%len(incs)])
		if r.Rule == "" {
			b.Fatal("no rule matched")
		}
	}
}
