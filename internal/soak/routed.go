package soak

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	pdfake "github.com/incident-channels/incident-channels/internal/fake/pagerduty"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/internal/routing"
	"github.com/incident-channels/incident-channels/slackops"
)

// Kind is how the routing rules of a routed soak treat an incident over
// its lifecycle.
type Kind int

// The kinds of routed incidents.
const (
	// KindChannel is P1 from the start: a channel on trigger.
	KindChannel Kind = iota
	// KindLate is P2 raised to P1: a message in the post-only channel
	// with the updates threaded under it, then a channel of its own with
	// a summary of what happened before.
	KindLate
	// KindPostOnly is P2 throughout: one message in the post-only channel.
	KindPostOnly
	// KindNeither is P3 throughout: routed to neither, nothing posted.
	KindNeither
	// KindQuietThenChannel is P3 raised to P1: nothing, then a channel.
	KindQuietThenChannel
)

func (k Kind) String() string {
	return [...]string{"channel", "late", "post-only", "neither", "quiet-then-channel"}[k]
}

// kindCycle is the order kinds are given to a seed's incidents in: late
// channels, the feature with the most moving parts, come twice.
var kindCycle = []Kind{KindLate, KindChannel, KindLate, KindPostOnly, KindNeither, KindQuietThenChannel}

// routedIncident is one incident of a routed soak and what its lifecycle
// is.
type routedIncident struct {
	n      int
	id     string
	number int
	kind   Kind
	sh     shape
	// types are the event types in lifecycle order; event k's id is
	// lifecycleEventID(seed, n, k).
	types  []string
	events []string
	bodies [][]byte
}

// channelExpected reports whether the incident ends with a channel.
func (r *routedIncident) channelExpected() bool {
	return r.kind == KindChannel || r.kind == KindLate || r.kind == KindQuietThenChannel
}

// inChannelForSure reports whether event k's reply can only be in the
// incident's channel: a full payload from the priority that routes to a
// channel on, so the incident has its channel when the event is handled.
func (r *routedIncident) inChannelForSure(k int) bool {
	if !r.channelExpected() || (r.kind != KindChannel && k < r.sh.at) {
		return false
	}
	switch r.types[k] {
	case incident.EventAnnotated, incident.EventStatusUpdatePublished:
		return false
	}
	return true
}

// person is a PagerDuty user of a routed soak and how the Slack
// workspace knows them.
type person struct {
	ref ref
	// slackID is the Slack user found by email; "" when none is usable.
	slackID string
}

// routedWorld is the Slack workspace, PagerDuty account and rules of a
// routed soak.
type routedWorld struct {
	nw       *netfake.Network
	pd       *pdfake.Server
	announce string
	low      string
	table    *routing.Table
	// findable are the people who must end up in every incident channel;
	// missing those who must be named in a "Could not add" note.
	findable, missing []person
	incidents         []*routedIncident
	// noteFaults are the faults queued for each incident's note POSTs,
	// in order; a zero Fault answers normally.
	noteFaults map[string][]pdfake.Fault
}

// pdToken is the fake PagerDuty REST API's token (PAGERDUTY_API_TOKEN).
const pdToken = "soak-pd-token"

// backlinkFrom is the PagerDuty user the back-links are written as
// (PAGERDUTY_FROM_EMAIL).
const backlinkFrom = "incident-bot@example.com"

// noteFaults are the ways a back-link's POST fails: refused before the
// note is saved, and — the case the ledger exists for — saved with the
// answer lost to a gateway or a dropped connection.
var noteFaults = []pdfake.Fault{
	{Status: 503},
	{Status: 502, Apply: true}, {Status: 504, Apply: true}, {Reset: true, Apply: true},
}

// notePOSTsFaulted is how many of an incident's note POSTs may meet a
// fault: a back-link is written once, or a few times when its POSTs fail.
const notePOSTsFaulted = 4

// client is the PagerDuty REST client of the fake PagerDuty REST API.
func (w *routedWorld) client() *pagerduty.Client {
	return pagerduty.NewClient(pagerduty.ClientOptions{Token: pdToken, URL: w.pd.URL(), HTTPClient: w.nw.Client()})
}

// annotator is the back-link writer as app.New wires
// PAGERDUTY_FROM_EMAIL, on the fake PagerDuty REST API.
func (w *routedWorld) annotator() incident.PagerDuty {
	return pagerduty.Annotator{Client: w.client(), From: backlinkFrom}
}

// failNotes makes each of the first note POSTs of every incident fail
// at rate, in one of the noteFaults ways.
func (w *routedWorld) failNotes(rng *rand.Rand, rate float64) {
	w.noteFaults = map[string][]pdfake.Fault{}
	for _, inc := range w.incidents {
		q := make([]pdfake.Fault, notePOSTsFaulted)
		for i := range q {
			if rng.Float64() < rate {
				q[i] = noteFaults[rng.IntN(len(noteFaults))]
			}
		}
		w.noteFaults[inc.id] = q
		w.pd.FailOn(http.MethodPost, notesPath(inc.id), q...)
	}
}

// noteFaultsMet counts the queued note faults that POSTs met: the k-th
// POST to an incident's notes got the k-th queued fault.
func (w *routedWorld) noteFaultsMet() int {
	posts := map[string]int{}
	for _, r := range w.pd.Requests() {
		if r.Method == http.MethodPost {
			posts[r.Path]++
		}
	}
	met := 0
	for id, q := range w.noteFaults {
		for _, f := range q[:min(posts[notesPath(id)], len(q))] {
			if f != (pdfake.Fault{}) {
				met++
			}
		}
	}
	return met
}

func notesPath(incidentID string) string { return "/incidents/" + incidentID + "/notes" }

// Slack users of the routed workspace.
const (
	leadUser = "U0LEAD" // invited by the public P1 rule
	sreGroup = "S0SRE"  // @sre-oncall, invited by the private P1 rule
)

var sreMembers = []string{"USRE1", "USRE2"}

// routingRules are the rules of a routed soak; LOW is the post-only
// channel's id.
const routingRules = `rules:
  - name: sev1-private
    match: {priority: P1, urgency: high}
    prefix: sev
    private: true
    invite: ["@sre-oncall"]
  - name: sev1
    match: {priority: P1}
    invite: [` + leadUser + `]
  - name: quiet
    match: {priority: P3}
    channel: false
  - name: the-rest
    channel: false
    post_to: LOW
`

// newRoutedWorld sets up fake's workspace (people, a user group, the
// announce and post-only channels), a fake PagerDuty REST API on nw, the
// rules, and the incidents of the seed. The caller closes pd.
func newRoutedWorld(seed uint64, incidents int, fake *slackfake.Server, nw *netfake.Network) (*routedWorld, error) {
	w := &routedWorld{nw: nw, pd: pdfake.NewServerOn(nw.Listen(), pdToken)}
	// PagerDuty user ids are the seed's own, so a Firestore cache shared
	// by the seeds of one cmd/soak run does not spare later seeds the
	// look-ups.
	s := seed % 1000
	pd := func(name, id string) ref {
		return ref{ID: fmt.Sprintf("P%s%d", id, s), Type: "user_reference", Summary: name}
	}
	ada, grace := pd("Ada Lovelace", "ADA"), pd("Grace Hopper", "GRACE")
	alan, kj, ghost := pd("Alan Turing", "ALAN"), pd("Katherine Johnson", "KJ"), pd("Ghost Writer", "GHOST")
	w.pd.AddUser(ada.ID, ada.Summary, "Ada@Example.com")
	w.pd.AddUser(grace.ID, grace.Summary, "grace@example.com")
	w.pd.AddUser(alan.ID, alan.Summary, "alan@example.com") // not in Slack
	w.pd.AddUser(kj.ID, kj.Summary, "kj@example.com")       // deactivated in Slack
	w.pd.AddUser(fmt.Sprintf("PBOT%d", s), "Incident Channels", backlinkFrom)
	// ghost is not in PagerDuty.
	fake.AddUser(leadUser, "lead@example.com", false)
	fake.AddUser("UADA", "ada@example.com", false)
	fake.AddUser("UGRACE", "grace@example.com", false)
	for _, u := range sreMembers {
		fake.AddUser(u, strings.ToLower(u)+"@example.com", false)
	}
	fake.AddUser("UKJ", "kj@example.com", true)
	fake.AddUserGroup(sreGroup, "sre-oncall", sreMembers...)
	w.findable = []person{{ada, "UADA"}, {grace, "UGRACE"}}
	w.missing = []person{{ref: alan}, {ref: kj}, {ref: ghost}}
	// Public channels people made; the bot is not in them and joins.
	w.announce = fake.CreateChannel("incidents", false)
	w.low = fake.CreateChannel("low-priority", false)

	t, err := routing.Parse([]byte(strings.ReplaceAll(routingRules, "LOW", w.low)),
		incident.Route{Channel: true, Prefix: "soak", Announce: w.announce})
	if err != nil {
		w.pd.Close()
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	w.table = t

	for n := range incidents {
		rng := rand.New(rand.NewPCG(seed, uint64(n)^0x7007e5))
		kind := kindCycle[(int(seed%uint64(len(kindCycle)))+n)%len(kindCycle)]
		sh := shape{
			at: 1 + rng.IntN(5), urgency: []incident.Urgency{incident.UrgencyHigh, incident.UrgencyLow}[rng.IntN(2)],
			first: []ref{ada}, escalated: []ref{grace, alan, kj, ghost},
		}
		switch kind {
		case KindChannel:
			sh.before, sh.after = "P1", "P1"
		case KindLate:
			sh.before, sh.after = "P2", "P1"
		case KindPostOnly:
			sh.before, sh.after = "P2", "P2"
		case KindNeither:
			sh.before, sh.after = "P3", "P3"
		case KindQuietThenChannel:
			sh.before, sh.after = "P3", "P1"
		}
		bodies, types := lifecycleOf(seed, n, sh)
		inc := &routedIncident{n: n, id: incidentID(seed, n), number: 10000 + n, kind: kind, sh: sh, types: types, bodies: bodies}
		// Known to PagerDuty, so the back-link can be written on it.
		w.pd.AddIncident(pdfake.Incident{ID: inc.id, Number: inc.number, Title: fmt.Sprintf("Checkout latency <%d> & errors", n)})
		for k := range types {
			inc.events = append(inc.events, lifecycleEventID(seed, n, k))
		}
		w.incidents = append(w.incidents, inc)
	}
	return w, nil
}

// channelName matches the name of an incident channel of a routed soak.
var channelName = regexp.MustCompile(`^(soak|sev)-(\d+)-`)

// boardIncident returns the incident id of a board message, "" for any
// other message.
func boardIncident(m slackfake.Message) string {
	var md struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			IncidentID string `json:"incident_id"`
		} `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &md)
	if md.EventType != slackops.BoardMetadataType {
		return ""
	}
	return md.EventPayload.IncidentID
}

// check returns the guarantees the Slack state breaks for a routed
// soak: beyond Check's (one channel, one root showing the final state,
// one reply per event), at most one message per incident in each shared
// channel, showing the final status and linking the incident's channel;
// one summary in a channel opened late and none in one opened on trigger;
// each event's reply once across the post-only thread and the channel;
// no "Could not add" note twice for an event; everyone findable invited;
// nothing posted for an incident routed to neither; one back-link note
// on the PagerDuty incident per channel it had, and none without one.
func (w *routedWorld) check(chs []slackfake.Channel) []string {
	var v []string
	bad := func(inc *routedIncident, format string, args ...any) {
		v = append(v, fmt.Sprintf("incident %d (%s, %s, priority_updated at %d): ", inc.number, inc.kind, inc.sh.urgency, inc.sh.at)+fmt.Sprintf(format, args...))
	}
	byNumber := map[int]*routedIncident{}
	byID := map[string]*routedIncident{}
	for _, inc := range w.incidents {
		byNumber[inc.number], byID[inc.id] = inc, inc
	}
	var announce, low slackfake.Channel
	own := map[*routedIncident][]slackfake.Channel{}
	for _, c := range chs {
		switch c.ID {
		case w.announce:
			announce = c
			continue
		case w.low:
			low = c
			continue
		}
		m := channelName.FindStringSubmatch(c.Name)
		var inc *routedIncident
		if m != nil {
			n, _ := strconv.Atoi(m[2])
			inc = byNumber[n]
		}
		if inc == nil {
			v = append(v, fmt.Sprintf("channel %s belongs to no incident of the run", c.Name))
			continue
		}
		own[inc] = append(own[inc], c)
	}
	// boards returns each incident's top-level messages in a shared
	// channel; any other message of the bot there is a violation.
	boards := func(c slackfake.Channel) map[*routedIncident][]slackfake.Message {
		out := map[*routedIncident][]slackfake.Message{}
		for _, m := range c.TopLevel() {
			if m.User != "" && m.User != slackfake.BotUserID {
				continue
			}
			inc := byID[boardIncident(m)]
			if inc == nil {
				v = append(v, fmt.Sprintf("%s: message %s is no incident's board: %q", c.Name, m.TS, m.Text))
				continue
			}
			out[inc] = append(out[inc], m)
		}
		return out
	}
	lowBoards, annBoards := boards(low), boards(announce)

	for _, inc := range w.incidents {
		chans := own[inc]
		var ch *slackfake.Channel
		switch {
		case inc.channelExpected() && len(chans) != 1:
			bad(inc, "%d channels, want 1: %v", len(chans), names(chans))
		case !inc.channelExpected() && len(chans) > 0:
			bad(inc, "%d channels, want none: %v", len(chans), names(chans))
		}
		if len(chans) > 0 {
			ch = &chans[0]
		}
		for _, s := range backlinkViolations(chans, w.pd.Notes(inc.id)) {
			bad(inc, "%s", s)
		}
		link := ""
		if ch != nil {
			link = "<#" + ch.ID + ">"
		}

		// Shared-channel messages: at most one each, current, linking
		// the channel.
		posts, anns := lowBoards[inc], annBoards[inc]
		if len(posts) > 1 {
			bad(inc, "%d messages in the post-only channel, want at most 1", len(posts))
		}
		if len(anns) > 1 {
			bad(inc, "%d messages in the announce channel, want at most 1", len(anns))
		}
		switch {
		case inc.kind == KindNeither && len(posts)+len(anns) > 0:
			bad(inc, "routed to neither, yet %d messages in the post-only channel and %d in the announce channel (first: %q)",
				len(posts), len(anns), firstText(posts, anns))
		case inc.kind == KindPostOnly && len(posts) != 1:
			bad(inc, "%d messages in the post-only channel, want 1", len(posts))
		}
		if ch != nil && len(anns) != 1 {
			bad(inc, "%d messages in the announce channel for its channel %s, want 1", len(anns), ch.Name)
		}
		if ch == nil && len(anns) > 0 {
			bad(inc, "announced without a channel of its own")
		}
		for _, b := range append(slices.Clone(posts), anns...) {
			where := "post-only"
			if len(anns) > 0 && b.TS == anns[0].TS {
				where = "announce"
			}
			text := b.BlockText()
			if !strings.Contains(text, "Resolved") {
				bad(inc, "%s message does not show the final status (Resolved): %q", where, text)
			}
			if link != "" && !strings.Contains(text, link) {
				bad(inc, "%s message does not link its channel %s: %q", where, link, text)
			}
			if link == "" && strings.Contains(text, "<#") {
				bad(inc, "%s message links a channel though the incident has none: %q", where, text)
			}
		}

		// Threads: the post-only message's and the channel root's.
		replies := map[string][]string{} // event id → where
		summaries := 0
		notes := map[string]int{} // event id → notes
		named := map[string]int{} // missing person → notes naming them
		tally := func(where string, ms []slackfake.Message) {
			for _, m := range ms {
				id := eventID(m)
				switch {
				case strings.HasPrefix(id, "summary-"):
					summaries++
					if where != "channel" {
						bad(inc, "summary in the %s thread", where)
					}
				case strings.HasPrefix(id, "invites-"):
					notes[strings.TrimPrefix(id, "invites-")]++
					if where != "channel" {
						bad(inc, "\"Could not add\" note in the %s thread", where)
					}
					for _, p := range w.missing {
						if strings.Contains(m.Text, p.ref.Summary) {
							named[p.ref.Summary]++
						}
					}
					for _, p := range w.findable {
						if strings.Contains(m.Text, p.ref.Summary) {
							bad(inc, "note names %s, who is in Slack: %q", p.ref.Summary, m.Text)
						}
					}
				case slices.Contains(inc.events, id):
					replies[id] = append(replies[id], where)
				default:
					bad(inc, "reply %q in the %s thread is for no event of the incident: %q", id, where, m.Text)
				}
			}
		}
		if len(posts) > 0 {
			tally("post-only", low.Replies(posts[0].TS))
		}
		if ch != nil {
			top := ch.TopLevel()
			if len(top) != 1 {
				bad(inc, "%s: %d top-level messages, want the one root", ch.Name, len(top))
			}
			if len(top) > 0 {
				root := top[0]
				if text := root.BlockText(); !strings.Contains(text, "Resolved") || !strings.Contains(text, "P1") {
					bad(inc, "%s: root does not show the final state (Resolved, P1)", ch.Name)
				}
				tally("channel", ch.Replies(root.TS))
			}
			if !strings.HasPrefix(ch.Topic, "Resolved") {
				bad(inc, "%s: topic %q, want the final status", ch.Name, ch.Topic)
			}
			links := map[string]int{}
			for _, b := range ch.Bookmarks {
				links[b.Link]++
			}
			for l, k := range links {
				if k > 1 {
					bad(inc, "%s: bookmark %s added %d times", ch.Name, l, k)
				}
			}
			private := inc.sh.urgency == incident.UrgencyHigh
			if ch.Private != private {
				bad(inc, "%s: private %t, want %t (rule sev1-private is for high urgency)", ch.Name, ch.Private, private)
			}
			if want := map[bool]string{true: "sev-", false: "soak-"}[private]; !strings.HasPrefix(ch.Name, want) {
				bad(inc, "%s: name does not start with the rule's prefix %q", ch.Name, want)
			}
			members := []string{slackfake.BotUserID}
			for _, p := range w.findable {
				members = append(members, p.slackID)
			}
			if private {
				members = append(members, sreMembers...)
			} else {
				members = append(members, leadUser)
			}
			for _, m := range members {
				if !slices.Contains(ch.Members, m) {
					bad(inc, "%s: %s is not a member (members %v)", ch.Name, m, ch.Members)
				}
			}
			for _, p := range w.missing {
				if named[p.ref.Summary] == 0 {
					bad(inc, "%s: no \"Could not add\" note names %s", ch.Name, p.ref.Summary)
				}
			}
		}
		for ev, k := range notes {
			if k > 1 {
				bad(inc, "\"Could not add\" note posted %d times (metadata key invites-%s)", k, ev)
			}
		}
		var twice []string
		for p, k := range named {
			if k > 1 {
				twice = append(twice, fmt.Sprintf("%s %d times", p, k))
			}
		}
		if len(twice) > 0 {
			sort.Strings(twice)
			bad(inc, "named in several \"Could not add\" notes, want one: %s", strings.Join(twice, ", "))
		}

		// Summary: one in a channel that opened after the incident had
		// a post-only message; none in a channel opened on the first
		// event.
		switch {
		case ch == nil:
		case inc.kind == KindQuietThenChannel && len(posts) == 0:
			if summaries > 1 {
				bad(inc, "%d summaries, want at most 1", summaries)
			}
		case len(posts) > 0 && summaries != 1:
			bad(inc, "channel opened after a post-only message with %d summaries, want 1", summaries)
		case len(posts) == 0 && summaries > 1:
			// One is owed when an event (a note) came before the
			// incident's details and was routed nowhere.
			bad(inc, "channel opened on its first events with %d summaries, want at most 1", summaries)
		}
		// An event that came before the incident's details is routed
		// nowhere; the root or the post-only message shows it under
		// "Before this …" instead of a reply.
		told := false
		if len(posts) > 0 && strings.Contains(posts[0].BlockText(), "Before this message") {
			told = true
		}
		if ch != nil {
			if top := ch.TopLevel(); len(top) > 0 && strings.Contains(top[0].BlockText(), "Before this channel opened") {
				told = true
			}
		}

		// Each event's reply once across both threads; from the channel
		// route on, in the channel.
		var neither []string // events of an incident routed to neither with replies
		for k, ev := range inc.events {
			where := replies[ev]
			switch {
			case k == 0:
				if len(where) > 0 {
					bad(inc, "triggered has replies %v, want none", where)
				}
				continue
			case inc.kind == KindNeither:
				if len(where) > 0 {
					neither = append(neither, inc.types[k])
				}
				continue
			case len(where) > 1:
				bad(inc, "%s (%s) replied %d times: %v", inc.types[k], ev, len(where), where)
			case len(where) == 0 && told && referenceOnly(inc.types[k]):
			case len(where) == 0 && (inc.kind != KindQuietThenChannel || inc.inChannelForSure(k)):
				bad(inc, "%s (%s) has no reply", inc.types[k], ev)
			}
			if inc.inChannelForSure(k) && slices.Contains(where, "post-only") {
				bad(inc, "%s (%s) carries the channel's priority, yet its reply is in the post-only thread", inc.types[k], ev)
			}
		}
		if len(neither) > 0 {
			bad(inc, "routed to neither, yet events have replies: %s", strings.Join(neither, ", "))
		}
	}
	sort.Strings(v)
	return v
}

// backlinkViolations returns how an incident's PagerDuty notes break
// "one back-link per channel": each of chans must be named by exactly one
// back-link note, and no back-link may name another channel.
func backlinkViolations(chans []slackfake.Channel, notes []pdfake.Note) []string {
	var v []string
	var links []pdfake.Note
	for _, n := range notes {
		if incident.IsBacklink(n.Content) {
			links = append(links, n)
		}
	}
	named := map[string]bool{}
	for _, c := range chans {
		k := 0
		for _, n := range links {
			if strings.Contains(n.Content, incident.BacklinkMarker(c.ID)) {
				k++
				named[n.ID] = true
			}
		}
		if k != 1 {
			v = append(v, fmt.Sprintf("%s: %d back-link notes on the PagerDuty incident, want 1", c.Name, k))
		}
	}
	for _, n := range links {
		if !named[n.ID] {
			v = append(v, fmt.Sprintf("back-link note %s names no channel of the incident (channels %v): %q", n.ID, names(chans), n.Content))
		}
	}
	return v
}

// referenceOnly reports whether events of type carry only a reference to
// the incident, so one may arrive before its details.
func referenceOnly(typ string) bool {
	switch typ {
	case incident.EventAnnotated, incident.EventStatusUpdatePublished, incident.EventResponderAdded, incident.EventResponderReplied:
		return true
	}
	return false
}

func names(chs []slackfake.Channel) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.Name)
	}
	return out
}

func firstText(lists ...[]slackfake.Message) string {
	for _, l := range lists {
		if len(l) > 0 {
			return l[0].BlockText()
		}
	}
	return ""
}
