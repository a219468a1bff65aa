package people

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

func TestFirestoreCache(t *testing.T) {
	client := firestoretest.Client(t)
	c := NewFirestoreCache(client)
	ctx := context.Background()
	// Firestore keeps microseconds.
	expire := time.Date(2026, 3, 2, 12, 0, 0, 123456000, time.UTC)
	put := map[string]Entry{
		"PADA":                   {SlackUserID: "UADA", ExpireAt: expire},
		"PDORA":                  {Reason: "no Slack account for dora@example.com", ExpireAt: expire.Add(-23 * time.Hour)},
		"a/b":                    {SlackUserID: "USLASH", ExpireAt: expire},
		"":                       {SlackUserID: "UEMPTY", ExpireAt: expire},
		strings.Repeat("P", 101): {SlackUserID: "ULONG", ExpireAt: expire},
	}
	if err := c.Put(ctx, put); err != nil {
		t.Fatalf("Put error = %v", err)
	}

	got, err := c.Get(ctx, []string{"PADA", "PDORA", "PNONE", "PADA", "a/b", "", strings.Repeat("P", 101)})
	if err != nil {
		t.Fatalf("Get error = %v", err)
	}
	want := map[string]Entry{"PADA": put["PADA"], "PDORA": put["PDORA"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}

	// The stored document: expire_at and updated_at are timestamps, so
	// expire_at can be the collection's TTL field.
	snap, err := client.Collection("pagerduty_users").Doc("PADA").Get(ctx)
	if err != nil {
		t.Fatalf("read the document: %v", err)
	}
	data := snap.Data()
	if at, ok := data["expire_at"].(time.Time); !ok || !at.Equal(expire) {
		t.Errorf("expire_at = %#v (%T), want the timestamp %v", data["expire_at"], data["expire_at"], expire)
	}
	if at, ok := data["updated_at"].(time.Time); !ok || time.Since(at) > time.Minute {
		t.Errorf("updated_at = %#v (%T), want a recent timestamp", data["updated_at"], data["updated_at"])
	}
	if data["slack_user_id"] != "UADA" || data["reason"] != "" {
		t.Errorf("document = %v", data)
	}
	// Nothing was written for the invalid ids.
	docs, err := client.Collection("pagerduty_users").Documents(ctx).GetAll()
	if err != nil {
		t.Fatalf("list the documents: %v", err)
	}
	if len(docs) != 2 {
		t.Errorf("%d documents in pagerduty_users, want 2", len(docs))
	}

	// Put replaces an entry.
	if err := c.Put(ctx, map[string]Entry{"PDORA": {SlackUserID: "UDORA", ExpireAt: expire}}); err != nil {
		t.Fatalf("Put error = %v", err)
	}
	got, err = c.Get(ctx, []string{"PDORA"})
	if err != nil {
		t.Fatalf("Get error = %v", err)
	}
	if diff := cmp.Diff(map[string]Entry{"PDORA": {SlackUserID: "UDORA", ExpireAt: expire}}, got); diff != "" {
		t.Errorf("Get after the second Put (-want +got):\n%s", diff)
	}

	// Nothing to do is no call and no error.
	if got, err := c.Get(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("Get(nil) = %v, %v", got, err)
	}
	if err := c.Put(ctx, nil); err != nil {
		t.Errorf("Put(nil) error = %v", err)
	}
}

// TestFirestoreCacheShared: a second Resolver (another instance) finds in
// Firestore what the first looked up.
func TestFirestoreCacheShared(t *testing.T) {
	e := newEnv(t)
	client := firestoretest.Client(t)
	o := e.options()
	o.Cache = NewFirestoreCache(client)
	first, firstMissing := resolve(t, New(o), "PADA", "PDORA")
	o.Cache = NewFirestoreCache(client)
	second, secondMissing := resolve(t, New(o), "PADA", "PDORA")
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("found differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(firstMissing, secondMissing); diff != "" {
		t.Errorf("missing differs (-first +second):\n%s", diff)
	}
	if got := e.pd.Calls(); got != 2 {
		t.Errorf("PagerDuty calls = %d, want 2 (the first Resolver's)", got)
	}
}
