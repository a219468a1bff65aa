package store

import (
	"context"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// TestRateLimitsShared: one instance's 429 holds back every instance
// within a refresh, keys naming a method in a channel included, and
// limits that have ended leave the document.
func TestRateLimitsShared(t *testing.T) {
	client := firestoretest.Client(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	clock := func() time.Time { return now }
	a, b := NewRateLimits(client), NewRateLimits(client)
	a.now, b.now = clock, clock
	if got := b.Until(ctx, "conversations.create"); !got.IsZero() {
		t.Fatalf("Until before any 429 = %v, want zero", got)
	}
	a.Limited(ctx, "conversations.create", now.Add(30*time.Second))
	a.Limited(ctx, "chat.postMessage C0123", now.Add(2*time.Second))
	if got := b.Until(ctx, "conversations.create"); !got.IsZero() {
		t.Errorf("other instance within its refresh = %v, want its copy (none)", got)
	}
	now = now.Add(rateLimitsRefresh)
	if got := b.Until(ctx, "conversations.create"); !got.Equal(now.Add(29 * time.Second)) {
		t.Errorf("other instance after a refresh: Until = %v, want %v", got, now.Add(29*time.Second))
	}
	if got := b.Until(ctx, "chat.postMessage C0123"); got.IsZero() {
		t.Errorf("other instance: a method in a channel not shared")
	}
	now = now.Add(5 * time.Second)
	a.Limited(ctx, "bookmarks.add", now.Add(10*time.Second))
	snap, err := client.Collection(rateLimitsCollection).Doc(rateLimitsDoc).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	until, _ := snap.Data()["until"].(map[string]any)
	if _, ok := until["chat.postMessage C0123"]; ok || len(until) != 2 {
		t.Errorf("document holds %v, want the two limits not yet ended", until)
	}
}
