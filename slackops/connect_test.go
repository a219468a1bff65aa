package slackops_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// TestSharedChannels: of the channels asked about, those shared with
// another organisation are returned; a channel the bot cannot see is an
// error naming it, and does not hide the others' answers.
func TestSharedChannels(t *testing.T) {
	c, fake, _ := newClockedClient(t)
	external := fake.CreateChannel("partners", false)
	fake.ShareExternally(external)
	internal := fake.CreateChannel("announce", false)
	hidden := fake.CreatePrivateChannel("secret")

	got, err := c.SharedChannels(ctx(t), []string{internal, external, internal})
	if err != nil || !slices.Equal(got, []string{external}) {
		t.Errorf("SharedChannels = %v, %v; want [%s], nil", got, err, external)
	}
	got, err = c.SharedChannels(ctx(t), []string{hidden, external})
	if !slices.Equal(got, []string{external}) || err == nil || !strings.Contains(err.Error(), hidden) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("SharedChannels with a hidden channel = %v, %v; want [%s] and an error naming %s", got, err, external, hidden)
	}
	if incident.KindOf(err) != incident.KindRefused {
		t.Errorf("SharedChannels error kind = %v, want refused", incident.KindOf(err))
	}
}

// TestExternallySharedCached: a channel's sharing is asked once and
// reused for ten minutes, so posts cost no call of their own; after that
// a change is seen.
func TestExternallySharedCached(t *testing.T) {
	c, fake, clk := newClockedClient(t)
	id := fake.CreateChannel("announce", false)
	for range 3 {
		if shared, err := c.ExternallyShared(ctx(t), id); shared || err != nil {
			t.Fatalf("ExternallyShared(not shared) = %t, %v; want false, nil", shared, err)
		}
	}
	if n := fake.Calls("conversations.info"); n != 1 {
		t.Errorf("conversations.info called %d times for three checks, want 1", n)
	}
	fake.ShareExternally(id)
	clk.Add(9 * time.Minute)
	if shared, _ := c.ExternallyShared(ctx(t), id); shared {
		t.Errorf("ExternallyShared within ten minutes = true, want the remembered false")
	}
	clk.Add(time.Minute)
	if shared, err := c.ExternallyShared(ctx(t), id); !shared || err != nil {
		t.Errorf("ExternallyShared after ten minutes = %t, %v; want true, nil", shared, err)
	}
	if n := fake.Calls("conversations.info"); n != 2 {
		t.Errorf("conversations.info called %d times, want 2", n)
	}
}
