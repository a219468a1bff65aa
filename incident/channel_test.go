package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecideChannelNames: Decide plans the names a new channel is created
// under, in order: the wanted name, its numbered suffixes, and last a name
// with the incident id, which no one can take before the incident exists
// (someone holding the names of incident numbers still to come).
func TestDecideChannelNames(t *testing.T) {
	long := strings.Repeat("very-long-title-", 8)
	tests := []struct {
		name   string
		prefix string
		inc    Snapshot
		closed bool // reopened after its first channel was archived
		want   []string
	}{
		{"ordinary", "inc", Snapshot{ID: "Q1CHECKOUT", Number: 1234, Title: "Checkout down"}, false, []string{
			"inc-1234-checkout-down", "inc-1234-checkout-down-2", "inc-1234-checkout-down-3",
			"inc-1234-checkout-down-4", "inc-1234-checkout-down-5", "inc-1234-q1checkout"}},
		{"title without ASCII", "inc", Snapshot{ID: "Q1CHECKOUT", Number: 1234, Title: "決済が停止"}, false, []string{
			"inc-1234", "inc-1234-2", "inc-1234-3", "inc-1234-4", "inc-1234-5", "inc-1234-q1checkout"}},
		{"reference without a number", "inc", Snapshot{ID: "Q1CHECKOUT", Title: "Checkout down"}, false, []string{
			"inc-q1checkout-checkout-down", "inc-q1checkout-checkout-down-2", "inc-q1checkout-checkout-down-3",
			"inc-q1checkout-checkout-down-4", "inc-q1checkout-checkout-down-5", "inc-q1checkout"}},
		{"long title: cut, the id name whole", "inc", Snapshot{ID: "Q1CHECKOUT", Number: 1234, Title: long}, false, nil},
		{"long prefix: cut before the number and id", strings.Repeat("p", 78), Snapshot{ID: "Q1CHECKOUT", Number: 1234}, false, nil},
		{"second channel after an archive", "inc", Snapshot{ID: "Q1CHECKOUT", Number: 1234, Title: "Checkout down", Status: StatusTriggered}, true, []string{
			"inc-1234-checkout-down-r2", "inc-1234-checkout-down-r2-2", "inc-1234-checkout-down-r2-3",
			"inc-1234-checkout-down-r2-4", "inc-1234-checkout-down-r2-5", "inc-1234-q1checkout-r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := tt.inc
			inc.Complete = inc.Number > 0
			st := State{Snapshot: inc, Version: 1}
			if tt.closed {
				st.ChannelID, st.ChannelName, st.Closed, st.ChannelArchived = "COLD", "inc-1234-checkout-down", true, true
			}
			ev := &Event{ID: "E1", Type: EventTriggered, IncidentID: inc.ID, Incident: inc}
			p := Decide(st, EventRecord{Exists: true}, ev, Config{ChannelPrefix: tt.prefix})
			if !p.CreateChannel {
				t.Fatalf("Decide: CreateChannel = false, want a channel")
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, p.ChannelNames); diff != "" {
					t.Errorf("ChannelNames (-want +got):\n%s", diff)
				}
			}
			if len(p.ChannelNames) != maxNameTries+1 || p.ChannelNames[0] != p.ChannelName {
				t.Errorf("ChannelNames = %q, want %q and %d more", p.ChannelNames, p.ChannelName, maxNameTries)
			}
			for _, n := range p.ChannelNames {
				if !validChannelName(n) {
					t.Errorf("name %q (%d bytes) is not a valid Slack channel name", n, len(n))
				}
			}
			last := p.ChannelNames[len(p.ChannelNames)-1]
			if !strings.Contains(last, "-"+strings.ToLower(inc.ID)) {
				t.Errorf("last name %q lacks the incident id", last)
			}
		})
	}
}

// TestChannelNamesRecordedForAdoption: the ledger remembers the wanted
// name and the one with the id, so a later attempt looks for a channel an
// attempt created under either, with the numbered suffixes.
func TestChannelNamesRecordedForAdoption(t *testing.T) {
	inc := Snapshot{ID: "Q1CHECKOUT", Number: 1234, Title: "Checkout down", Complete: true}
	st := State{Snapshot: inc, Version: 1}
	ev := &Event{ID: "E1", Type: EventTriggered, IncidentID: inc.ID, Incident: inc}
	cfg := Config{ChannelPrefix: "inc"}
	p := Decide(st, EventRecord{Exists: true}, ev, cfg)
	markInFlight(&st, p, "a1", t0, t0.Add(time.Minute))
	if got, want := st.Entry(KeyChannel).Names, []string{"inc-1234-checkout-down", "inc-1234-q1checkout"}; !cmp.Equal(got, want) {
		t.Errorf("ledger names = %q, want %q", got, want)
	}
	again := Decide(st, EventRecord{Exists: true}, ev, cfg)
	if again.Adopt == nil {
		t.Fatal("Decide after an unrecorded attempt: no Adopt")
	}
	for _, n := range []string{"inc-1234-checkout-down-3", "inc-1234-q1checkout"} {
		if !slices.Contains(again.AdoptNames, n) {
			t.Errorf("AdoptNames = %q, lack %q", again.AdoptNames, n)
		}
	}
}
