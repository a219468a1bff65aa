package incident_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// panicOnce panics in the first CreateChannel (run on the caller's
// goroutine) or PostRoot (run on a reconcile goroutine) call.
type panicOnce struct {
	*fakeSlack
	inCreate bool
	done     bool
}

func (p *panicOnce) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	if p.inCreate && !p.done {
		p.done = true
		panic("boom in create")
	}
	return p.fakeSlack.CreateChannel(ctx, name, private)
}

func (p *panicOnce) PostRoot(ctx context.Context, id string, r incident.Root) (string, error) {
	if !p.inCreate && !p.done {
		p.done = true
		panic("boom in root")
	}
	return p.fakeSlack.PostRoot(ctx, id, r)
}

// TestServiceRecoversPanic: a bug in a Slack call, on the caller's
// goroutine or a reconcile goroutine, comes back as ErrPanic instead of
// killing the process, and the redelivery completes the incident.
func TestServiceRecoversPanic(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		inCreate bool
	}{{"in create", true}, {"in root post", false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slack := newFakeSlack()
			svc := incident.NewService(store.NewMemory(), &panicOnce{fakeSlack: slack, inCreate: tt.inCreate}, incident.Config{ChannelPrefix: "inc"}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := svc.Handle(ctx, loadEvent(t, "triggered.json")); !errors.Is(err, incident.ErrPanic) {
				t.Fatalf("Handle with Slack panicking = %v, want ErrPanic", err)
			}
			if res, err := svc.Handle(ctx, loadEvent(t, "triggered.json")); err != nil || res.Outcome != incident.OutcomeProcessed {
				t.Fatalf("redelivery = %v, %v; want processed", res, err)
			}
			if c := slack.only(); c == nil || c.root == "" {
				t.Errorf("after the redelivery: want one channel with a root")
			}
		})
	}
}

// TestServicePanicInRootDoesNotStrandTheInviteNote: when the root post
// panics, the line naming who could not be invited, which waits for the
// root's thread, gives up instead of waiting for good.
func TestServicePanicInRootDoesNotStrandTheInviteNote(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack()
	slack.refuse["UGONE"] = "deactivated"
	svc := incident.NewService(store.NewMemory(), &panicOnce{fakeSlack: slack}, incident.Config{ChannelPrefix: "inc", InviteUsers: []string{"UGONE"}}, nil)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := svc.Handle(ctx, loadEvent(t, "triggered.json"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, incident.ErrPanic) {
			t.Fatalf("Handle with the root post panicking = %v, want ErrPanic", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Handle with the root post panicking did not return")
	}
}
