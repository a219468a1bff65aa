// Package soak runs whole incident lifecycles through two independent
// function instances at once — shuffled, duplicated, concurrent, with Slack
// failing at random — redelivers every 503 as PagerDuty would, and then
// checks what Slack shows against the delivery guarantees: one channel per
// incident, one root showing the final state, one reply per event.
//
// The instances are the real HTTP handler, store and slack-go adapter; Slack
// is the fake of internal/fake/slack over HTTP. Every HTTP call goes over a
// network in memory (internal/fake/net), so that a run on the memory store
// works in a testing/synctest bubble too, its leases and budgets passing on
// the bubble's clock. cmd/soak runs many seeds; the package's test runs a
// few in CI.
package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/endpoint"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/people"
	"github.com/incident-channels/incident-channels/slackops"
)

// Options describe one soak run.
type Options struct {
	Seed      uint64
	Incidents int
	// Duplicates is the chance that a delivery is sent twice.
	Duplicates float64
	// Faults is the chance, per delivery, that one Slack call fails (429,
	// 503, internal_error or a reset connection, before or after the call
	// takes effect).
	Faults float64
	// Workers deliver concurrently.
	Workers int
	// Latency is added to every fake Slack call.
	Latency time.Duration
	// FirestoreProject selects Firestore (FIRESTORE_EMULATOR_HOST) with
	// one client per instance; empty means one in-memory store shared by
	// both instances. A run on Firestore cannot be in a synctest bubble.
	FirestoreProject string
	// Deadline bounds the redeliveries of one delivery.
	Deadline time.Duration
	// Log receives the instances' logs; nil discards them.
	Log *slog.Logger
	// LeaseTTL shortens the incident lease (0: the production 15 s), so
	// runs wait less for a lease kept after an unclear Slack failure.
	LeaseTTL time.Duration
	// LeaseMargin shortens how long a lease outlasts its holder's
	// deadline (0: the production 1 s), and Budget each request's budget
	// (0: pagerduty.DefaultBudget). A lease kept after an unclear Slack
	// failure ends the budget, a release and the margin after its
	// attempt began: shorter runs wait less.
	LeaseMargin time.Duration
	Budget      time.Duration
	// Routes runs the instances with routing rules (a private channel
	// rule with a user group, a public one, a post-only channel and a
	// rule routing to neither), an announce channel, and the people
	// PagerDuty involves looked up in a fake PagerDuty REST API (some
	// missing from Slack), and a back-link note written on each PagerDuty
	// incident with a channel. Incidents start at P1, P2 or P3 and some
	// are raised to P1 partway. PagerDuty's API fails at the Faults rate
	// too, and so does each back-link's POST, most often after the note
	// is saved.
	Routes bool
}

// Report is what a run did and found.
type Report struct {
	Seed       uint64
	Deliveries int
	// Retries counts deliveries answered 503 and redelivered.
	Retries int
	// FaultsInjected counts Slack calls made to fail.
	FaultsInjected int
	SlackCalls     int
	// PagerDutyFaults counts PagerDuty API calls made to fail, and
	// PagerDutyCalls the calls made (routed runs). NoteFaults counts
	// those of PagerDutyFaults that failed a back-link's POST.
	PagerDutyFaults int
	PagerDutyCalls  int
	NoteFaults      int
	// Kinds counts the routed incidents of each kind.
	Kinds    map[Kind]int
	Duration time.Duration
	// Violations lists every broken guarantee; empty is a pass.
	Violations []string
}

const secret = "soak-secret"

// repliesPerIncident is the lifecycle's events that post a reply (all but
// triggered).
var repliesPerIncident = len(lifecycle) - 1

// Run runs one soak and reports on it. An error means the run could not be
// set up; broken guarantees are in Report.Violations.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Incidents <= 0 {
		o.Incidents = 4
	}
	if o.Workers <= 0 {
		o.Workers = 6
	}
	if o.Deadline <= 0 {
		o.Deadline = 2 * time.Minute
	}
	rep := Report{Seed: o.Seed}
	nw := netfake.New()
	fake := slackfake.NewServerOn(nw.Listen())
	defer fake.Close()
	fake.SetLatency(o.Latency)

	var world *routedWorld
	if o.Routes {
		w, err := newRoutedWorld(o.Seed, o.Incidents, fake, nw)
		if err != nil {
			return rep, err
		}
		defer w.pd.Close()
		w.failNotes(rand.New(rand.NewPCG(o.Seed, o.Seed^0xbac411)), o.Faults)
		world = w
		rep.Kinds = map[Kind]int{}
		for _, inc := range w.incidents {
			rep.Kinds[inc.kind]++
		}
	}

	var urls []string
	shared := store.NewMemory()
	for range 2 {
		var cache people.Cache = &store.MemoryPeople{}
		var st incident.Store = shared
		if o.FirestoreProject != "" {
			client, err := firestore.NewClient(ctx, o.FirestoreProject)
			if err != nil {
				return rep, fmt.Errorf("firestore client: %w", err)
			}
			defer client.Close()
			st = store.NewFirestore(client)
			cache = store.NewPeople(client)
		}
		log := slog.New(slog.DiscardHandler)
		if o.Log != nil {
			log = o.Log
		}
		slack := slackops.New(slackfake.DefaultToken, fake.URL, slackops.WithTransport(nw.Transport()))
		cfg := incident.Config{ChannelPrefix: "soak", LeaseTTL: o.LeaseTTL, LeaseMargin: o.LeaseMargin}
		if world != nil {
			// As app.New wires ROUTING_FILE,
			// SLACK_ANNOUNCE_CHANNEL, PAGERDUTY_API_TOKEN,
			// PAGERDUTY_API_URL and PAGERDUTY_FROM_EMAIL.
			cfg.Router, cfg.Announce = world.table, world.announce
			cfg.Directory = people.New(people.Options{
				PagerDuty: world.client(), Slack: slack, Cache: cache, Log: log,
			})
			cfg.PagerDuty = world.annotator()
		}
		svc := incident.NewService(st, slack, cfg, log)
		chain := endpoint.Chain{Log: log}
		srv := nw.Serve(chain.Serve(pagerduty.Endpoint, pagerduty.NewHandler(pagerduty.HandlerConfig{
			Secrets: [][]byte{[]byte(secret)}, Service: svc, Budget: o.Budget,
		})))
		defer srv.Close()
		urls = append(urls, srv.URL)
	}

	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	var bodies [][]byte
	for n := range o.Incidents {
		lc := Lifecycle(o.Seed, n)
		if world != nil {
			lc = world.incidents[n].bodies
		}
		for _, b := range lc {
			bodies = append(bodies, b)
			if rng.Float64() < o.Duplicates {
				bodies = append(bodies, b)
			}
		}
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	rep.Deliveries = len(bodies)

	start := time.Now()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		work = make(chan int)
	)
	violate := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		rep.Violations = append(rep.Violations, fmt.Sprintf(format, args...))
	}
	methods := []string{"conversations.create", "chat.postMessage", "chat.update", "conversations.setTopic", "bookmarks.add", "conversations.invite"}
	faults := []slackfake.Fault{
		{Status: 429, RetryAfter: 1}, {Status: 503}, {Status: 503, Apply: true},
		{Error: "internal_error"}, {Reset: true}, {Reset: true, Apply: true},
	}
	if o.Routes {
		// The calls of the routed features: users by email, user groups,
		// joining a shared channel, looking for a board in it.
		methods = append(methods, "users.lookupByEmail", "usergroups.list", "usergroups.users.list",
			"conversations.join", "conversations.history")
	}
	pdFaults := []pdfake.Fault{{Status: 429, RetryAfter: "1"}, {Status: 429}, {Status: 500}, {Status: 502}}
	client := nw.Client()
	client.Timeout = 10 * time.Second
	for w := range o.Workers {
		wrng := rand.New(rand.NewPCG(o.Seed, uint64(w)))
		wg.Go(func() {
			for i := range work {
				mu.Lock()
				if rng.Float64() < o.Faults {
					fake.Fail(methods[rng.IntN(len(methods))], faults[rng.IntN(len(faults))])
					rep.FaultsInjected++
				}
				if world != nil && rng.Float64() < o.Faults {
					world.pd.Fail(pdFaults[rng.IntN(len(pdFaults))])
					rep.PagerDutyFaults++
				}
				mu.Unlock()
				end := time.Now().Add(o.Deadline)
				for try := 0; ; try++ {
					code, err := deliver(ctx, client, urls[wrng.IntN(len(urls))], bodies[i])
					if err == nil && code == http.StatusOK {
						break
					}
					if err == nil && code != http.StatusServiceUnavailable {
						violate("delivery %d answered %d: only 200 or 503 are expected", i, code)
						break
					}
					if time.Now().After(end) || ctx.Err() != nil {
						violate("delivery %d never succeeded (last: %d %v)", i, code, err)
						break
					}
					mu.Lock()
					rep.Retries++
					mu.Unlock()
					time.Sleep(time.Duration(50+wrng.IntN(200)) * time.Millisecond)
				}
			}
		})
	}
	for i := range bodies {
		work <- i
	}
	close(work)
	wg.Wait()
	rep.Duration = time.Since(start)
	rep.SlackCalls = fake.TotalCalls()
	if world != nil {
		rep.PagerDutyCalls = world.pd.Calls()
		rep.NoteFaults = world.noteFaultsMet()
		rep.PagerDutyFaults += rep.NoteFaults
		rep.Violations = append(rep.Violations, world.check(fake.Channels())...)
	} else {
		rep.Violations = append(rep.Violations, Check(fake.Channels(), o.Incidents)...)
	}
	return rep, nil
}

func deliver(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(body, []byte(secret)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Check returns the guarantees the Slack state breaks for a soak of n
// incidents.
func Check(chs []slackfake.Channel, n int) []string {
	var v []string
	if len(chs) != n {
		var names []string
		for _, c := range chs {
			names = append(names, c.Name)
		}
		v = append(v, fmt.Sprintf("%d channels, want %d: %v", len(chs), n, names))
	}
	for _, c := range chs {
		top := c.TopLevel()
		if len(top) != 1 {
			v = append(v, fmt.Sprintf("%s: %d top-level messages, want the one root", c.Name, len(top)))
			continue
		}
		root := top[0]
		if text := root.BlockText(); !strings.Contains(text, "Resolved") || !strings.Contains(text, "P1") {
			v = append(v, fmt.Sprintf("%s: root does not show the final state (Resolved, P1)", c.Name))
		}
		if !strings.HasPrefix(c.Topic, "Resolved") {
			v = append(v, fmt.Sprintf("%s: topic %q, want the final status", c.Name, c.Topic))
		}
		seen := map[string]int{}
		replies := c.Replies(root.TS)
		for _, r := range replies {
			seen[eventID(r)]++
		}
		if len(replies) != repliesPerIncident || len(seen) != repliesPerIncident {
			v = append(v, fmt.Sprintf("%s: %d replies for %d events, want one each: %v", c.Name, len(replies), len(seen), seen))
		}
		links := map[string]int{}
		for _, b := range c.Bookmarks {
			links[b.Link]++
		}
		for l, k := range links {
			if k > 1 {
				v = append(v, fmt.Sprintf("%s: bookmark %s added %d times", c.Name, l, k))
			}
		}
	}
	return v
}

func eventID(m slackfake.Message) string {
	var md struct {
		EventPayload struct {
			EventID string `json:"event_id"`
		} `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &md)
	return md.EventPayload.EventID
}
