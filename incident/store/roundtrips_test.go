package store

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"
	"google.golang.org/grpc"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// rpcLog records the Firestore methods a client calls, one per round
// trip.
type rpcLog struct {
	mu    sync.Mutex
	calls []string
}

// take returns the methods called since the last take.
func (l *rpcLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func (l *rpcLog) add(method string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, method[len("/google.firestore.v1.Firestore/"):])
}

// watchedFirestore returns a store on project whose calls to the emulator
// are logged.
func watchedFirestore(t *testing.T, project string) (*Firestore, *rpcLog) {
	t.Helper()
	log := &rpcLog{}
	conn, err := firestoretest.Dial(os.Getenv("FIRESTORE_EMULATOR_HOST"),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			log.add(method)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			log.add(method)
			return streamer(ctx, desc, cc, method, opts...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	client, err := firestore.NewClient(context.Background(), project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	s := NewFirestore(client)
	// The rate limits' copy stays fresh unless a test moves now.
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	s.limits.readAt, s.limits.now = t0, func() time.Time { return t0 }
	return s, log
}

// TestFirestoreUpdateRoundTrips: an update is a read and a commit, and
// only a commit when the store wrote the incident last; a write by another
// instance in between costs the failed commit, a read and a commit.
func TestFirestoreUpdateRoundTrips(t *testing.T) {
	t.Parallel()
	project := firestoretest.Project(t)
	s, log := watchedFirestore(t, project)
	other, _ := watchedFirestore(t, project)
	ctx := context.Background()
	bump := func(s *Firestore, eventID string) {
		t.Helper()
		err := s.Update(ctx, "Q1", eventID, func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
			st.Version++
			er.Type = "incident.acknowledged"
			return incident.ChangeState | incident.ChangeEvent, nil
		})
		if err != nil {
			t.Fatalf("Update(Q1, %s) error = %v", eventID, err)
		}
	}
	get, commit := "BatchGetDocuments", "Commit"
	for _, step := range []struct {
		name  string
		by    *Firestore
		event string
		want  []string
	}{
		{"a new incident's first event", s, "E1", []string{get, commit}},
		{"the same event again", s, "E1", []string{commit}},
		{"the next event", s, "E2", []string{commit}},
		{"another instance's event", other, "E3", nil},
		{"an event after another instance wrote", s, "E4", []string{commit, get, commit}},
		{"an event another instance recorded", s, "E3", []string{commit, get, commit}},
	} {
		bump(step.by, step.event)
		if got := log.take(); !slices.Equal(got, step.want) {
			t.Errorf("%s: calls = %v, want %v", step.name, got, step.want)
		}
	}
	st, _ := read(t, s, "Q1", "")
	if st.Version != 6 {
		t.Errorf("Version = %d, want 6 (every update once)", st.Version)
	}

	// An update of the state alone, for an event another instance
	// recorded, reads the event rather than taking it to be missing.
	bump(other, "E5")
	bump(s, "E6")
	log.take()
	var seen incident.EventRecord
	err := s.Update(ctx, "Q1", "E5", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		seen = *er
		st.Version++
		return incident.ChangeState, nil
	})
	if err != nil || !seen.Exists {
		t.Errorf("state-only update of E5 saw %+v (error %v), want the record", seen, err)
	}
	if got, want := log.take(), []string{get, commit}; !slices.Equal(got, want) {
		t.Errorf("state-only update of another's event: calls = %v, want %v", got, want)
	}
}

// TestRateLimitsReadBesideUpdates: when the rate limits' copy is due a
// refresh, an update reads them beside its own calls, and the Slack call
// after it finds another instance's limit with no read of its own.
func TestRateLimitsReadBesideUpdates(t *testing.T) {
	t.Parallel()
	project := firestoretest.Project(t)
	s, log := watchedFirestore(t, project)
	other, _ := watchedFirestore(t, project)
	ctx := context.Background()
	now := s.limits.now()
	until := now.Add(30 * time.Second)
	other.RateLimits().Limited(ctx, "conversations.create", until)

	s.limits.now = func() time.Time { return now.Add(rateLimitsRefresh) }
	err := s.Update(ctx, "Q1", "E1", func(st *incident.State, er *incident.EventRecord) (incident.Change, error) {
		st.Version++
		return incident.ChangeState | incident.ChangeEvent, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := log.take()
	slices.Sort(got)
	if want := []string{"BatchGetDocuments", "BatchGetDocuments", "Commit"}; !slices.Equal(got, want) {
		t.Errorf("update calls = %v, want %v (the incident's read and commit, the rate limits' read)", got, want)
	}
	if got := s.RateLimits().Until(ctx, "conversations.create"); !got.Equal(until) {
		t.Errorf("Until after the update = %v, want %v", got, until)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("Until after the update called %v, want nothing", got)
	}
}
