package incident_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

// incidentEvents returns the lifecycle events of incident n: the testdata
// payloads with the incident's own id, number and event ids.
func incidentEvents(t testing.TB, n int) []*incident.Event {
	var evs []*incident.Event
	for _, f := range lifecycle {
		ev := loadEvent(t, f)
		id := fmt.Sprintf("PRACE%04d", n)
		ev.ID = fmt.Sprintf("%s-%s", ev.ID, id)
		ev.IncidentID, ev.Incident.ID = id, id
		if ev.Incident.Complete {
			ev.Incident.Number = 5000 + n
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestRaceTwoInstancesFirestore delivers whole lifecycles of several
// incidents to two independent function instances (separate Firestore
// clients on one emulator project, one Slack), shuffled, with duplicates,
// concurrently, and redelivers what fails as PagerDuty would. Whatever the
// interleaving: one channel per incident, one reply per event, and a root
// message showing the final state.
func TestRaceTwoInstancesFirestore(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel() // each seed on a project of its own
			raceRun(t, seed, 4)
		})
	}
}

// twoInstances returns two function instances on one emulator project:
// separate Firestore clients, one Slack.
func twoInstances(t testing.TB, slack *fakeSlack, cfg incident.Config) [2]*incident.Service {
	t.Helper()
	project := firestoretest.Project(t)
	var svcs [2]*incident.Service
	for i := range svcs {
		client, err := firestore.NewClient(context.Background(), project)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		svcs[i] = incident.NewService(store.NewFirestore(client), slack, cfg, nil)
	}
	return svcs
}

func raceRun(t *testing.T, seed uint64, incidents int) {
	slack := newFakeSlack()
	slack.delay = 2 * time.Millisecond
	// One clock and a fake Slack whose calls land before they answer: a
	// lease needs no margin past its holder's deadline for skew or late
	// calls, and a short one shortens the waits after an attempt the
	// emulator held past its budget. No attempt crashes, so nothing
	// needs the lease to last 15 s: one that lasts a second past its
	// holder's deadline and margin makes such a wait about 4 s, not 15 s.
	svcs := twoInstances(t, slack, incident.Config{ChannelPrefix: "inc", LeaseMargin: 100 * time.Millisecond, LeaseTTL: time.Second})
	rng := rand.New(rand.NewPCG(seed, seed))
	var deliveries []*incident.Event
	for n := range incidents {
		for _, ev := range incidentEvents(t, n) {
			deliveries = append(deliveries, ev)
			if rng.IntN(3) == 0 { // a duplicate delivery
				deliveries = append(deliveries, ev)
			}
		}
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		retries  int
		failures []string
	)
	work := make(chan int)
	for w := range 6 {
		wg.Go(func() {
			for i := range work {
				ev := deliveries[i]
				var err error
				// Redeliver until it succeeds, as PagerDuty does; the
				// bound only keeps a bug from hanging the test.
				end := time.Now().Add(2 * time.Minute)
				for try := 0; time.Now().Before(end); try++ {
					svc := svcs[(i+try+w)%2] // a redelivery may reach the other instance
					ctx, cancel := context.WithTimeout(context.Background(), pagerduty.DefaultBudget)
					_, err = svc.Handle(ctx, ev)
					cancel()
					if err == nil {
						break
					}
					// The handler answers every error but a panic with
					// 503, and PagerDuty redelivers.
					if errors.Is(err, incident.ErrPanic) {
						break
					}
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v", ev.ID, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range deliveries {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("deliveries never succeeded: %s", strings.Join(failures, "\n"))
	}

	slack.mu.Lock()
	defer slack.mu.Unlock()
	if len(slack.channels) != incidents {
		t.Errorf("channels = %d, want %d: %v", len(slack.channels), incidents, slack.names)
	}
	for _, c := range slack.channels {
		if c.rootInc.Status != "resolved" || c.rootInc.Priority != "P1" || !c.rootInc.Complete {
			t.Errorf("%s: root shows status %q priority %q complete %v, want resolved P1 complete", c.name, c.rootInc.Status, c.rootInc.Priority, c.rootInc.Complete)
		}
		seen := map[string]int{}
		for _, r := range c.replies {
			seen[r.Headline]++
		}
		if len(c.replies) != len(lifecycle)-1 || len(seen) != len(lifecycle)-1 {
			t.Errorf("%s: %d replies (%d distinct), want %d, one per event: %v", c.name, len(c.replies), len(seen), len(lifecycle)-1, seen)
		}
		if want := "Resolved · high · P1 · Checkout API"; c.topic != want {
			t.Errorf("%s: topic %q, want %q", c.name, c.topic, want)
		}
	}
	t.Logf("seed %d: %d deliveries, %d retryable answers redelivered", seed, len(deliveries), retries)
}
