package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/people"
)

// peopleCache is what both people caches do.
type peopleCache interface {
	people.Cache
	people.ActorCache
}

// TestPeople: both key spaces store and return their entries, hits and
// misses alike; a Put replaces an entry; ids that cannot name a user are
// never stored; one key space does not answer for the other.
func TestPeople(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name string
		new  func(t *testing.T) peopleCache
	}{
		{"memory", func(t *testing.T) peopleCache { return &MemoryPeople{} }},
		{"firestore", func(t *testing.T) peopleCache { return NewPeople(firestoretest.Client(t)) }},
	}
	// Firestore keeps microseconds.
	expire := time.Date(2026, 3, 2, 12, 0, 0, 123456000, time.UTC)
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			c := impl.new(t)
			ctx := context.Background()

			put := map[string]people.Entry{
				"PADA":                   {SlackUserID: "UADA", ExpireAt: expire},
				"PDORA":                  {Reason: "no Slack account", ExpireAt: expire.Add(-23 * time.Hour)},
				"a/b":                    {SlackUserID: "USLASH", ExpireAt: expire},
				"":                       {SlackUserID: "UEMPTY", ExpireAt: expire},
				strings.Repeat("P", 101): {SlackUserID: "ULONG", ExpireAt: expire},
			}
			if err := c.PutSlackUsers(ctx, put); err != nil {
				t.Fatalf("PutSlackUsers error = %v", err)
			}
			got, err := c.SlackUsers(ctx, []string{"PADA", "PDORA", "PNONE", "PADA", "a/b", "", strings.Repeat("P", 101)})
			if err != nil {
				t.Fatalf("SlackUsers error = %v", err)
			}
			want := map[string]people.Entry{"PADA": put["PADA"], "PDORA": put["PDORA"]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SlackUsers (-want +got):\n%s", diff)
			}
			replaced := map[string]people.Entry{"PDORA": {SlackUserID: "UDORA", ExpireAt: expire}}
			if err := c.PutSlackUsers(ctx, replaced); err != nil {
				t.Fatalf("PutSlackUsers error = %v", err)
			}
			if got, err := c.SlackUsers(ctx, []string{"PDORA"}); err != nil || !cmp.Equal(replaced, got) {
				t.Errorf("SlackUsers after the second Put = %v, %v; want %v", got, err, replaced)
			}
			if got, err := c.SlackUsers(ctx, nil); err != nil || len(got) != 0 {
				t.Errorf("SlackUsers(nil) = %v, %v", got, err)
			}
			if err := c.PutSlackUsers(ctx, nil); err != nil {
				t.Errorf("PutSlackUsers(nil) error = %v", err)
			}

			hit := people.ActorEntry{PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "limited_user",
				Teams: []string{"PTEAM01", "PTEAM02"}, Guest: true, ExpireAt: expire}
			miss := people.ActorEntry{Email: "ann@example.com", Reason: "no_pagerduty_user", ExpireAt: expire}
			for id, e := range map[string]people.ActorEntry{"UADA": hit, "UANN": miss} {
				if err := c.PutActor(ctx, id, e); err != nil {
					t.Fatalf("PutActor(%s) error = %v", id, err)
				}
				got, ok, err := c.Actor(ctx, id)
				if err != nil || !ok {
					t.Fatalf("Actor(%s) = %v, %v", id, ok, err)
				}
				if diff := cmp.Diff(e, got); diff != "" {
					t.Errorf("Actor(%s) (-want +got):\n%s", id, diff)
				}
			}
			for _, id := range []string{"UNONE", "a/b", "PADA"} {
				if _, ok, err := c.Actor(ctx, id); ok || err != nil {
					t.Errorf("Actor(%q) = %v, %v; want no entry", id, ok, err)
				}
			}
			if got, err := c.SlackUsers(ctx, []string{"UADA"}); err != nil || len(got) != 0 {
				t.Errorf("SlackUsers(UADA) = %v, %v; want no entry (UADA is a Slack user)", got, err)
			}
			if err := c.PutActor(ctx, "a/b", hit); err == nil {
				t.Error("PutActor(a/b): no error")
			}
		})
	}
}

// TestPeopleLayout: the documents as an operator sees them, one
// collection with both key spaces; expire_at and updated_at are
// timestamps, so expire_at can be the collection's TTL field.
func TestPeopleLayout(t *testing.T) {
	t.Parallel()
	client := firestoretest.Client(t)
	c := NewPeople(client)
	ctx := context.Background()
	expire := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	if err := c.PutSlackUsers(ctx, map[string]people.Entry{"PADA": {SlackUserID: "UADA", ExpireAt: expire}, "a/b": {}}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutActor(ctx, "UADA", people.ActorEntry{PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com",
		Teams: []string{"PTEAM01"}, Guest: true, ExpireAt: expire}); err != nil {
		t.Fatal(err)
	}
	docs, err := client.Collection("people").Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, d := range docs {
		data := d.Data()
		if at, ok := data["updated_at"].(time.Time); !ok || time.Since(at) > time.Minute {
			t.Errorf("%s: updated_at = %#v, want a recent timestamp", d.Ref.ID, data["updated_at"])
		}
		delete(data, "updated_at")
		got[d.Ref.ID] = data
	}
	fields := func(slack, pd, name, email string) map[string]any {
		return map[string]any{"slack_user_id": slack, "pagerduty_id": pd, "name": name, "email": email, "role": "", "reason": "", "expire_at": expire}
	}
	want := map[string]map[string]any{
		"pagerduty:PADA": fields("UADA", "", "", ""),
		"slack:UADA":     fields("", "PADA", "Ada Lovelace", "ada@example.com"),
	}
	want["slack:UADA"]["teams"], want["slack:UADA"]["guest"] = []any{"PTEAM01"}, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("people documents (-want +got):\n%s", diff)
	}
}
