package incident

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMemoryOf(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	resolved := State{
		Exists: true,
		Snapshot: Snapshot{
			ID: "Q1", Number: 7, Title: "Redis down (instance redis-2)", Status: StatusResolved, Complete: true,
			Service: Ref{ID: "PSVC", Summary: "Cache"}, HTMLURL: "https://acme.pagerduty.com/incidents/Q1",
			CreatedAt: t0, ResolvedAt: t0.Add(42 * time.Minute),
		},
		ChannelID: "C1", ChannelName: "inc-7-redis-down",
		AckedAt: t0.Add(time.Minute), ResolvedBy: "Ada", LastResolvedAt: t0.Add(42 * time.Minute),
		LastNote: "Failed over to the replica", LastNoteAt: t0.Add(40 * time.Minute),
	}
	want := PastIncident{
		ID: "Q1", Number: 7, Title: "Redis down (instance redis-2)", Words: []string{"redis", "down", "<num>"},
		Service: Ref{ID: "PSVC", Summary: "Cache"}, HTMLURL: "https://acme.pagerduty.com/incidents/Q1", Status: StatusResolved,
		TriggeredAt: t0, AcknowledgedAt: t0.Add(time.Minute), ResolvedAt: t0.Add(42 * time.Minute), ResolvedBy: "Ada",
		ChannelID: "C1", ChannelName: "inc-7-redis-down", Note: "Failed over to the replica",
	}
	tests := []struct {
		name   string
		change func(st *State)
		want   func(p *PastIncident)
		ok     bool
	}{
		{"resolved", func(*State) {}, func(*PastIncident) {}, true},
		{"never resolved", func(st *State) {
			st.Snapshot.Status, st.Snapshot.ResolvedAt, st.LastResolvedAt = StatusAcknowledged, time.Time{}, time.Time{}
		}, nil, false},
		{"known only from a reference", func(st *State) { st.Snapshot.Complete = false }, nil, false},
		{"reopened: its last resolution kept", func(st *State) {
			st.Snapshot.Status, st.Snapshot.ResolvedAt = StatusTriggered, time.Time{}
		}, func(p *PastIncident) { p.Status = StatusTriggered }, true},
		{"note added after it resolved: not its resolution note", func(st *State) {
			st.LastNote, st.LastNoteAt = "Postmortem on Friday", t0.Add(2*time.Hour)
		}, func(p *PastIncident) { p.Note = "" }, true},
		{"merged: points at its survivor", func(st *State) { st.Snapshot.MergedInto = Ref{ID: "Q0", Summary: "#6 Redis down"} },
			func(p *PastIncident) { p.MergedInto = "Q0" }, true},
		{"reopened after its channel was archived: the archived one", func(st *State) {
			st.Snapshot.Status, st.Snapshot.ResolvedAt = StatusTriggered, time.Time{}
			st.ChannelID, st.ChannelName, st.PastChannels = "", "", []string{"C1"}
		}, func(p *PastIncident) { p.Status, p.ChannelName = StatusTriggered, "" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := resolved.Clone()
			tt.change(&st)
			got, ok := MemoryOf(st)
			if ok != tt.ok {
				t.Fatalf("MemoryOf() ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			w := want
			w.Words = append([]string(nil), want.Words...)
			tt.want(&w)
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("MemoryOf() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryChanged(t *testing.T) {
	st := State{Snapshot: Snapshot{ID: "Q1", Title: "Disk full", Status: StatusResolved, Complete: true, ResolvedAt: time.Unix(100, 0)}}
	if _, changed := MemoryChanged(State{}, st); !changed {
		t.Error("MemoryChanged(none, resolved) = false, want true")
	}
	if _, changed := MemoryChanged(st, st.Clone()); changed {
		t.Error("MemoryChanged(resolved, same) = true, want false")
	}
	leased := st.Clone()
	leased.LeaseOwner, leased.Version = "attempt", 9
	if _, changed := MemoryChanged(st, leased); changed {
		t.Error("MemoryChanged(resolved, lease taken) = true, want false: the lease is not remembered")
	}
	noted := st.Clone()
	noted.LastNote, noted.LastNoteAt = "Cleared /tmp", time.Unix(90, 0)
	if p, changed := MemoryChanged(st, noted); !changed || p.Note != "Cleared /tmp" {
		t.Errorf("MemoryChanged(resolved, noted) = %q, %v; want the note, true", p.Note, changed)
	}
	open := st.Clone()
	open.Snapshot.Status = StatusTriggered
	if _, changed := MemoryChanged(st, open); changed {
		t.Error("MemoryChanged(resolved, open never resolved) = true, want false")
	}
}

func TestRecordRemembersResolutionAndNote(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	var st State
	var er EventRecord
	note := &Event{ID: "E1", Type: EventAnnotated, OccurredAt: t0, IncidentID: "Q1", Incident: Snapshot{ID: "Q1"}, Note: "  Restarted the pool  "}
	Record(&st, &er, note)
	older := &Event{ID: "E0", Type: EventAnnotated, OccurredAt: t0.Add(-time.Minute), IncidentID: "Q1", Incident: Snapshot{ID: "Q1"}, Note: "Looking"}
	er = EventRecord{}
	Record(&st, &er, older)
	backlink := &Event{ID: "E2", Type: EventAnnotated, OccurredAt: t0.Add(time.Minute), IncidentID: "Q1", Incident: Snapshot{ID: "Q1"}, Note: BacklinkNote("C1", "inc-1")}
	er = EventRecord{}
	Record(&st, &er, backlink)
	if st.LastNote != "Restarted the pool" || !st.LastNoteAt.Equal(t0) {
		t.Errorf("LastNote = %q at %v, want the newest note that is not the back-link, trimmed", st.LastNote, st.LastNoteAt)
	}
	resolved := &Event{ID: "E3", Type: EventResolved, OccurredAt: t0.Add(2 * time.Minute), Agent: Ref{ID: "PADA", Summary: "Ada"},
		IncidentID: "Q1", Incident: Snapshot{ID: "Q1", Status: StatusResolved, Complete: true}}
	er = EventRecord{}
	Record(&st, &er, resolved)
	if st.ResolvedBy != "Ada" || !st.LastResolvedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("ResolvedBy = %q at %v, want Ada at the resolution", st.ResolvedBy, st.LastResolvedAt)
	}
}

func TestDecideRecall(t *testing.T) {
	inc := Snapshot{ID: "Q1", Title: "Disk full", Status: StatusTriggered, Complete: true, Service: Ref{ID: "PSVC"}}
	ev := &Event{ID: "E1", Type: EventTriggered, IncidentID: "Q1", Incident: inc}
	mem := Config{ChannelPrefix: "inc", Memory: memoryFunc(nil)}
	tests := []struct {
		name string
		st   State
		cfg  Config
		want bool
	}{
		{"new channel", State{Exists: true, Snapshot: inc}, mem, true},
		{"no memory", State{Exists: true, Snapshot: inc}, Config{ChannelPrefix: "inc"}, false},
		{"root to post again, not yet recalled", State{Exists: true, Snapshot: inc, ChannelID: "C1"}, mem, true},
		{"recalled already", State{Exists: true, Snapshot: inc, ChannelID: "C1", Recalled: true}, mem, false},
		{"root posted", State{Exists: true, Snapshot: inc, ChannelID: "C1", RootTS: "1.1", Version: 1}, mem, false},
		{"known only from a reference", State{Exists: true, Snapshot: Snapshot{ID: "Q1"}}, mem, false},
		{"reopened after its channel was archived: the new channel recalls", State{
			Exists: true, Snapshot: inc, ChannelID: "C1", RootTS: "1.1", Closed: true, ChannelArchived: true, Recalled: true,
		}, mem, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.st, EventRecord{}, ev, tt.cfg).Recall; got != tt.want {
				t.Errorf("Decide().Recall = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyRecalled(t *testing.T) {
	past := []PastIncident{{ID: "Q0", Title: "Disk full"}}
	st := State{Exists: true, ChannelID: "C1"}
	var er EventRecord
	if ch := Apply(&st, &er, Results{RootTS: "1.1", Recalled: true, Past: past}); ch&ChangeState == 0 {
		t.Errorf("Apply(recalled) change = %v, want the state changed", ch)
	}
	if !st.Recalled || !cmp.Equal(st.Past, past) {
		t.Errorf("after Apply: Recalled %v, Past %v; want true, %v", st.Recalled, st.Past, past)
	}
	if RootOf(st).Past[0].ID != "Q0" {
		t.Errorf("RootOf().Past = %v, want the past incidents", RootOf(st).Past)
	}
}

// memoryFunc is a Memory answering from a function.
type memoryFunc func(serviceID string) []PastIncident

func (f memoryFunc) Recall(_ context.Context, serviceID string, _ int) ([]PastIncident, error) {
	return f(serviceID), nil
}
