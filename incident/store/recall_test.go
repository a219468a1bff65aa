package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
)

// resolvedState is an incident of service that resolved at resolvedAt,
// worked in channel.
func resolvedState(id, service, title string, resolvedAt time.Time) incident.State {
	created := resolvedAt.Add(-42 * time.Minute)
	return incident.State{
		Snapshot: incident.Snapshot{
			ID: id, Number: 7, Title: title, Status: incident.StatusResolved, Complete: true,
			HTMLURL:   "https://acme.pagerduty.com/incidents/" + id,
			Service:   incident.Ref{ID: service, Type: "service_reference", Summary: "Checkout API"},
			CreatedAt: created, ResolvedAt: resolvedAt, UpdatedAt: resolvedAt,
		},
		Version: 3, ChannelID: "C" + id, ChannelName: "inc-7-" + id,
		AckedAt: created.Add(time.Minute), AckedBy: "Ada",
		ResolvedBy: "Grace Hopper", LastResolvedAt: resolvedAt,
		LastNote: "Restarted the connection pool", LastNoteAt: resolvedAt.Add(-time.Minute),
	}
}

func recall(t *testing.T, s incident.Store, serviceID string, limit int) []incident.PastIncident {
	t.Helper()
	m, ok := s.(incident.Memory)
	if !ok {
		t.Fatalf("%T is not an incident.Memory", s)
	}
	past, err := m.Recall(context.Background(), serviceID, limit)
	if err != nil {
		t.Fatalf("Recall(%q, %d) error = %v", serviceID, limit, err)
	}
	return past
}

func pastIDs(past []incident.PastIncident) []string {
	var ids []string
	for _, p := range past {
		ids = append(ids, p.ID)
	}
	return ids
}

// testMemory checks that writing a resolved incident writes its memory in
// the same update, that Recall lists a service's memories newest first
// (from another instance too), and that a later change of what the memory
// holds rewrites it.
func testMemory(t *testing.T, h harness) {
	base := testTime.UTC().Add(-24 * time.Hour)
	write(t, h.store, "Q1", "E1", incident.ChangeState, resolvedState("Q1", "PSVC", "Checkout latency on web-3", base), incident.EventRecord{})
	write(t, h.store, "Q2", "E2", incident.ChangeState, resolvedState("Q2", "PSVC", "Checkout latency on web-7", base.Add(time.Hour)), incident.EventRecord{})
	write(t, h.store, "Q3", "E3", incident.ChangeState, resolvedState("Q3", "POTHER", "Checkout latency", base.Add(2*time.Hour)), incident.EventRecord{})
	open := resolvedState("Q4", "PSVC", "Checkout latency", base)
	open.Snapshot.Status, open.Snapshot.ResolvedAt, open.LastResolvedAt = incident.StatusTriggered, time.Time{}, time.Time{}
	write(t, h.store, "Q4", "E4", incident.ChangeState, open, incident.EventRecord{})

	got := recall(t, h.instance(t), "PSVC", 10)
	if diff := cmp.Diff([]string{"Q2", "Q1"}, pastIDs(got)); diff != "" {
		t.Fatalf("Recall(PSVC) ids (-want +got):\n%s", diff)
	}
	want, _ := incident.MemoryOf(storedState(resolvedState("Q2", "PSVC", "Checkout latency on web-7", base.Add(time.Hour))))
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("Recall(PSVC)[0] (-want +got):\n%s", diff)
	}
	if got := recall(t, h.store, "PSVC", 1); len(got) != 1 || got[0].ID != "Q2" {
		t.Errorf("Recall(PSVC, 1) = %v, want [Q2]", pastIDs(got))
	}
	if got := recall(t, h.store, "PNONE", 10); len(got) != 0 {
		t.Errorf("Recall(PNONE) = %v, want none", pastIDs(got))
	}

	// A later note (before the resolution) rewrites the memory.
	err := h.store.Update(context.Background(), "Q2", "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		st.LastNote = "Rolled back the deploy"
		return incident.ChangeState, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := recall(t, h.store, "PSVC", 1); len(got) != 1 || got[0].Note != "Rolled back the deploy" {
		t.Errorf("Recall(PSVC, 1) after a new note = %+v, want the note Rolled back the deploy", got)
	}

	if f, ok := h.store.(*Firestore); ok {
		snap, err := f.client.Collection(memoryCollection).Doc("Q1").Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		at, err := snap.DataAt("expire_at")
		if wantAt := base.Add(testRetention); err != nil || !at.(time.Time).Equal(wantAt) {
			t.Errorf("memory/Q1 expire_at = %v (%v), want %v", at, err, wantAt)
		}
	}
}

// testMemoryReopenedMerged checks that a reopened incident's memory says
// it is no longer resolved, and a merged one's names its survivor.
func testMemoryReopenedMerged(t *testing.T, h harness) {
	base := testTime.UTC().Add(-24 * time.Hour)
	write(t, h.store, "Q1", "", incident.ChangeState, resolvedState("Q1", "PSVC", "Disk full", base), incident.EventRecord{})
	reopened := resolvedState("Q1", "PSVC", "Disk full", base)
	reopened.Snapshot.Status, reopened.Snapshot.ResolvedAt = incident.StatusAcknowledged, time.Time{}
	write(t, h.store, "Q1", "", incident.ChangeState, reopened, incident.EventRecord{})
	got := recall(t, h.store, "PSVC", 10)
	if len(got) != 1 || got[0].Status != incident.StatusAcknowledged || !got[0].ResolvedAt.Equal(base) {
		t.Errorf("Recall after reopen = %+v, want Q1 acknowledged, last resolved %v", got, base)
	}
	if f, ok := h.store.(*Firestore); ok {
		snap, err := f.client.Collection(memoryCollection).Doc("Q1").Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if at, err := snap.DataAt("expire_at"); err == nil {
			t.Errorf("memory/Q1 of a reopened incident expires at %v, want no expire_at while it is open", at)
		}
	}

	merged := resolvedState("Q2", "PSVC", "Disk full again", base.Add(time.Hour))
	merged.Snapshot.MergedInto = incident.Ref{ID: "Q1", Type: "incident_reference"}
	write(t, h.store, "Q2", "", incident.ChangeState, merged, incident.EventRecord{})
	got = recall(t, h.store, "PSVC", 1)
	if len(got) != 1 || got[0].ID != "Q2" || got[0].MergedInto != "Q1" {
		t.Errorf("Recall of the merged incident = %+v, want Q2 merged into Q1", got)
	}
}
