package perf

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/soak"
)

// seedStorm is soak.Lifecycle's seed of the storm's incidents.
const seedStorm = 606

// StormOptions shape the storm section: Incidents new incidents within
// Spread against a Slack that enforces its rate tiers in a minute
// compressed into Window.
type StormOptions struct {
	// Incidents is how many incidents the storm opens (N).
	Incidents int
	// Spread is the span over which they are triggered, evenly; the
	// resolved events later come as fast.
	Spread time.Duration
	// Window is Slack's rate-limit minute, compressed: the tiers allow
	// their per-minute calls per Window, and PagerDuty's redelivery
	// backoff is compressed by the same factor.
	Window time.Duration
	// Latency is the fake Slack's per-call latency L.
	Latency time.Duration
}

// DefaultStorm is the storm of a default run: 60 incidents in 5 s, Slack's
// minute compressed six-fold.
var DefaultStorm = StormOptions{Incidents: 60, Spread: 5 * time.Second, Window: 10 * time.Second, Latency: 50 * time.Millisecond}

// compression is how many times faster than real time the storm runs.
func (o StormOptions) compression() float64 { return float64(time.Minute) / float64(o.Window) }

// bound is how long a storm may take: ten compressed minutes.
func (o StormOptions) bound() time.Duration { return 10 * o.Window }

// pdBackoff is the schedule on which PagerDuty redelivers a webhook
// answered 5xx or 429 or not answered within pdTimeout (the last pause
// repeats), in real time; the storm compresses it like Slack's minute.
// PagerDuty documents retries with backoff for up to 48 hours, not these
// numbers: they are an assumption.
var pdBackoff = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
	15 * time.Second, 30 * time.Second, 60 * time.Second}

// pdTimeout is how long PagerDuty waits for an answer: not compressed,
// as the function's budget is not.
const pdTimeout = 5 * time.Second

// pdAnswer is one delivery's answer, as PagerDuty saw it.
type pdAnswer struct {
	// Status is the HTTP status; 0 for a timeout or connection failure.
	Status     int
	Latency    time.Duration
	RetryAfter string
}

// pagerDuty delivers webhooks as PagerDuty does: each one until it is
// accepted (2xx), redelivering 5xx, 429 and timeouts on the compressed
// backoff, and recording every answer.
type pagerDuty struct {
	client  *http.Client
	url     string
	backoff []time.Duration

	mu      sync.Mutex
	answers []pdAnswer
	// dropped are deliveries answered with a status PagerDuty does not
	// retry (any other 4xx).
	dropped []string
}

func newPagerDuty(url string, o StormOptions) *pagerDuty {
	pd := &pagerDuty{
		client: &http.Client{Timeout: pdTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}},
		url:    url,
	}
	for _, d := range pdBackoff {
		pd.backoff = append(pd.backoff, time.Duration(float64(d)/o.compression()))
	}
	return pd
}

// deliver sends body until it is accepted and reports whether it was,
// before ctx ended or PagerDuty dropped it.
func (pd *pagerDuty) deliver(ctx context.Context, body []byte) bool {
	for try := 0; ; try++ {
		start := time.Now()
		code, _, hdr, err := deliver(ctx, pd.client, pd.url, body)
		a := pdAnswer{Status: code, Latency: time.Since(start)}
		if err == nil {
			a.RetryAfter = hdr.Get("Retry-After")
		} else {
			if ctx.Err() != nil {
				return false // cut off by the storm's bound: not an answer
			}
			a.Status = 0
		}
		pd.mu.Lock()
		pd.answers = append(pd.answers, a)
		retry := a.Status == 0 || a.Status == http.StatusTooManyRequests || a.Status >= 500
		if !retry && a.Status/100 != 2 {
			pd.dropped = append(pd.dropped, fmt.Sprintf("%s answered %d", eventSummary(body), a.Status))
		}
		pd.mu.Unlock()
		if !retry {
			return a.Status/100 == 2
		}
		select {
		case <-time.After(pd.backoff[min(try, len(pd.backoff)-1)]):
		case <-ctx.Done():
			return false
		}
	}
}

// stormResult is what a storm did: times from its start, what PagerDuty
// saw, what Slack was asked, and what Slack shows at the end.
type stormResult struct {
	Options StormOptions
	// CreatesPerWindow is what conversations.create's tier allows per
	// Window.
	CreatesPerWindow int
	// RootsAt is when every incident had a channel with its root;
	// TriggeredAt when every triggered delivery was accepted; AckedAt
	// how long after TriggeredAt every resolved one was. Negative
	// when it never happened within the bound.
	RootsAt, TriggeredAt, AckedAt time.Duration
	Answers                       []pdAnswer
	Dropped                       []string
	// Calls are the Slack calls per method, allowed and refused.
	Calls    map[string]slackfake.TierCount
	Limits   map[string]slackfake.Limit
	Findings stormFindings
	// CutOff is set when the storm hit its bound.
	CutOff bool
}

// limitTime is the time the creation tier needs for N channels:
// ceil(N / creates per window) windows.
func (r stormResult) limitTime() time.Duration {
	per := max(r.CreatesPerWindow, 1)
	return time.Duration((r.Options.Incidents+per-1)/per) * r.Options.Window
}

// storm plays a storm of new incidents against the handler New builds
// and a fake Slack enforcing its rate tiers, and reports against goals
// how long channels and deliveries took, how many calls Slack refused,
// and whether every effect was done once.
func (rn *runner) storm(ctx context.Context) error {
	res, err := rn.runStorm(ctx, rn.o.Storm)
	if err != nil {
		return err
	}
	for _, r := range res.rows() {
		rn.rep.add(r)
	}
	rn.rep.Notes = append(rn.rep.Notes, res.notes()...)
	return nil
}

func (rn *runner) runStorm(ctx context.Context, o StormOptions) (stormResult, error) {
	res := stormResult{Options: o, RootsAt: -1, TriggeredAt: -1, AckedAt: -1}
	var announce string
	in, err := rn.newFunction(ctx, func(fake *slackfake.Server, env map[string]string) {
		// A public channel the bot is not in yet: it joins on its
		// first announce line, as the README says.
		announce = fake.CreateChannel("incidents", false)
		env["SLACK_ANNOUNCE_CHANNEL"] = announce
	})
	if err != nil {
		return res, err
	}
	defer in.Close()

	want := stormWant{Prefix: "inc", Announce: announce, Invite: strings.Split(inviteUsers, ",")}
	var trig, ack [][]byte
	for n := range o.Incidents {
		life := soak.Lifecycle(seedStorm, n)
		// The later event is the last: resolved, so no effect may be put
		// off to an event after it, and all must be done once it is
		// accepted.
		last := life[len(life)-1]
		inc, err := stormIncidentOf(want.Prefix, life[0], last)
		if err != nil {
			return res, err
		}
		want.Incidents = append(want.Incidents, inc)
		trig, ack = append(trig, life[0]), append(ack, last)
	}

	tiers := slackfake.SlackTiers(o.Window)
	res.Limits, res.CreatesPerWindow = tiers.Limits, tiers.Limits["conversations.create"].Calls
	in.fake.SetLatency(o.Latency)
	in.fake.SetTiers(tiers)
	pd := newPagerDuty(in.srv.URL+"/", o)
	defer pd.client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, o.bound())
	defer cancel()
	start := time.Now()
	since := func() time.Duration { return time.Since(start) }

	// Watch Slack until every incident has a channel with its root.
	var bg sync.WaitGroup
	defer func() { cancel(); bg.Wait() }()
	watched := make(chan time.Duration, 1)
	bg.Go(func() {
		defer close(watched)
		tick := time.NewTicker(max(o.Window/200, 5*time.Millisecond))
		defer tick.Stop()
		for {
			if rooted(in.fake.Channels(), want) == len(want.Incidents) {
				watched <- since()
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	})
	bg.Go(func() { rn.stormProgress(ctx, o.Window, in.fake, want, pd, since) })

	// Each incident is a FIFO: its resolved event waits for its
	// triggered one, and for the storm of triggered events to be over.
	var trigWG, ackWG sync.WaitGroup
	var trigOK, ackOK atomic.Int64
	trigDone := make(chan struct{})
	var ackStart time.Time
	stagger := func(i int) time.Duration { return time.Duration(i) * o.Spread / time.Duration(o.Incidents) }
	for i := range o.Incidents {
		trigWG.Add(1)
		ackWG.Go(func() {
			ok := sleep(ctx, stagger(i)) && pd.deliver(ctx, trig[i])
			if ok {
				trigOK.Add(1)
			}
			trigWG.Done()
			if !ok {
				return
			}
			select {
			case <-trigDone:
			case <-ctx.Done():
				return
			}
			if sleep(ctx, time.Until(ackStart.Add(stagger(i)))) && pd.deliver(ctx, ack[i]) {
				ackOK.Add(1)
			}
		})
	}
	trigWG.Wait()
	if trigOK.Load() == int64(o.Incidents) {
		res.TriggeredAt = since()
	}
	ackStart = time.Now()
	close(trigDone)
	ackWG.Wait()
	if ackOK.Load() == int64(o.Incidents) {
		res.AckedAt = time.Since(ackStart)
	}
	res.CutOff = ctx.Err() != nil
	cancel()
	if d, ok := <-watched; ok {
		res.RootsAt = d
	}

	pd.mu.Lock()
	res.Answers, res.Dropped = pd.answers, pd.dropped
	pd.mu.Unlock()
	res.Calls = in.fake.TierCounts()
	res.Findings = checkStorm(in.fake.Channels(), want)
	rn.logf("storm: roots %v, triggered accepted %v, resolved accepted %v later; %d answers; %d undone, %d duplicates",
		res.RootsAt.Round(time.Millisecond), res.TriggeredAt.Round(time.Millisecond), res.AckedAt.Round(time.Millisecond),
		len(res.Answers), len(res.Findings.Undone), len(res.Findings.Duplicates))
	return res, nil
}

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// stormProgress logs the storm's progress once a window.
func (rn *runner) stormProgress(ctx context.Context, every time.Duration, fake *slackfake.Server, want stormWant, pd *pagerDuty,
	since func() time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		calls := fake.TierCounts()
		var all, refused int
		for _, c := range calls {
			all, refused = all+c.Allowed+c.Refused, refused+c.Refused
		}
		pd.mu.Lock()
		answers := len(pd.answers)
		pd.mu.Unlock()
		rn.logf("storm: %v: %d/%d channels with a root, %d answers, %d Slack calls (%d refused)",
			since().Round(100*time.Millisecond), rooted(fake.Channels(), want), len(want.Incidents), answers, all, refused)
	}
}

// totals returns the Slack calls of every method and those refused.
func (r stormResult) totals() (all, refused int) {
	for _, c := range r.Calls {
		all, refused = all+c.Allowed+c.Refused, refused+c.Refused
	}
	return all, refused
}

// rows reports the storm against its goals; times are ratios of what the
// creation tier allows, limitTime.
func (r stormResult) rows() []Row {
	o := r.Options
	limit := r.limitTime()
	row := func(name, unit string, digits int, v float64) Row {
		return Row{Section: "storm", Name: name, Where: "New", Unit: unit, Digits: digits, Samples: []float64{v}}
	}
	ratio := func(d time.Duration) float64 {
		if d < 0 {
			return math.NaN() // never, within the bound
		}
		return float64(d) / float64(limit)
	}
	tierUnit := fmt.Sprintf("× %v = ⌈%d/%d⌉ windows of %v", limit, o.Incidents, r.CreatesPerWindow, o.Window)
	roots := row("time until every channel has its root", tierUnit, 2, ratio(r.RootsAt))
	trig := row("time until every triggered delivery is accepted", tierUnit, 2, ratio(r.TriggeredAt))
	roots.Goal, roots.Met = "≤ 1.5", atMost(1.5)
	trig.Goal, trig.Met = "≤ 1.5", atMost(1.5)
	ack := row("then until every resolved delivery is accepted", tierUnit, 2, ratio(r.AckedAt))

	all, refused := r.totals()
	share := 0.0
	if all > 0 {
		share = 100 * float64(refused) / float64(all)
	}
	perIncident := row("Slack calls per incident", "429s included", 1, float64(all)/float64(max(o.Incidents, 1)))
	refusedRow := row("Slack calls refused with 429", fmt.Sprintf("%% of %d calls", all), 1, share)
	refusedRow.Goal, refusedRow.Met = "≤ 5", atMost(5)

	var longest time.Duration
	redelivered := 0
	for _, a := range r.Answers {
		longest = max(longest, a.Latency)
		if a.Status/100 != 2 {
			redelivered++
		}
	}
	latency := row("longest answer", "s", 2, longest.Seconds())
	latency.Goal, latency.Met = "< 5", below(5)
	again := row("deliveries answered 503, 429 or not in time", fmt.Sprintf("of %d deliveries", len(r.Answers)), 0, float64(redelivered))
	undone := row("effects left undone after the resolved events", "", 0, float64(len(r.Findings.Undone)))
	undone.Goal, undone.Met = "0", equal(0)
	dups := row("duplicates: channels per incident, roots per channel, replies per event, bookmarks, announce lines", "", 0,
		float64(len(r.Findings.Duplicates)))
	dups.Goal, dups.Met = "0", equal(0)
	return []Row{roots, trig, ack, perIncident, refusedRow, latency, again, undone, dups}
}

// notes says how the storm was played and what Slack refused, method by
// method, and lists what went wrong.
func (r stormResult) notes() []string {
	o := r.Options
	var backoff []string
	for _, d := range pdBackoff {
		backoff = append(backoff, fmt.Sprint(time.Duration(float64(d)/o.compression()).Round(time.Millisecond)))
	}
	out := []string{fmt.Sprintf("Storm: %d new incidents triggered evenly over %v, each one's deliveries in order (PagerDuty's "+
		"per-incident FIFO); once every triggered delivery was accepted, each incident's resolved event, over %v again. "+
		"The fake Slack answers after L = %v and enforces Slack's rate tiers per method with the minute compressed into %v "+
		"(×%.0f): Tier 2 %d and Tier 3 %d calls per window, chat.postMessage %d per %v per channel. PagerDuty redelivers 5xx, "+
		"429 and answers not in %v (not compressed, like the function's budget) after 1, 2, 4, 8, 15, 30, 60 s … compressed "+
		"alike (%s …), without heeding Retry-After. An announce channel is configured and two users are invited. Times are "+
		"ratios of what the creation tier allows: ⌈N/%d⌉ windows; the storm is cut off after %v (ten compressed minutes). "+
		"One storm per run, whatever -runs says.",
		o.Incidents, o.Spread, o.Spread, o.Latency, o.Window, o.compression(), r.Limits["conversations.create"].Calls,
		r.Limits["conversations.invite"].Calls, r.Limits["chat.postMessage"].Calls, r.Limits["chat.postMessage"].Per,
		pdTimeout, strings.Join(backoff, ", "), r.CreatesPerWindow, o.bound())}

	var b strings.Builder
	b.WriteString("| storm: Slack method | limit | calls | refused with 429 | share refused |\n|---|---|---:|---:|---:|\n")
	methods := slices.Sorted(maps.Keys(r.Calls))
	slices.SortStableFunc(methods, func(a, c string) int { return r.Calls[c].Refused - r.Calls[a].Refused })
	for _, m := range methods {
		c := r.Calls[m]
		limit := "none"
		if l, ok := r.Limits[m]; ok {
			limit = fmt.Sprintf("%d per %v", l.Calls, l.Per)
			if l.PerChannel {
				limit += " per channel"
			}
		}
		n := c.Allowed + c.Refused
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %.1f %% |\n", m, limit, n, c.Refused, 100*float64(c.Refused)/float64(max(n, 1)))
	}
	out = append(out, strings.TrimSuffix(b.String(), "\n"))

	var unavailable, late int
	var retryAfter []int
	for _, a := range r.Answers {
		switch {
		case a.Status == 0:
			late++
		case a.Status/100 != 2:
			unavailable++
			if n, err := strconv.Atoi(a.RetryAfter); err == nil {
				retryAfter = append(retryAfter, n)
			}
		}
	}
	said := ""
	if len(retryAfter) > 0 {
		said = fmt.Sprintf(", %d of them with Retry-After (%d–%d s)", len(retryAfter), slices.Min(retryAfter), slices.Max(retryAfter))
	}
	out = append(out, fmt.Sprintf("Storm answers: %d deliveries; %d answered 5xx or 429%s; %d not answered within %v; %d dropped "+
		"(a status PagerDuty does not retry).", len(r.Answers), unavailable, said, late, pdTimeout, len(r.Dropped)))
	if r.CutOff {
		out = append(out, fmt.Sprintf("**The storm was cut off after %v** with deliveries still not accepted.", o.bound()))
	}
	problems := slices.Concat(r.Dropped, r.Findings.Duplicates, r.Findings.Undone)
	if len(problems) > 0 {
		const show = 10
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("; and %d more", len(problems)-show)
			problems = problems[:show]
		}
		out = append(out, "Storm findings: "+strings.Join(problems, "; ")+more+".")
	}
	return out
}
