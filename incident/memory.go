package incident

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Incident memory.
//
// Every incident that resolves leaves a compact record, its PastIncident:
// what it was, when it ran, who resolved it, where it was worked and the
// note it ended with. The record is a projection of the incident's state
// (MemoryOf): the store writes it in the same commit as the state it is
// made from, whenever it changes, so it is written exactly when the
// incident's resolution (or reopening, or a merge) is, and never drifts
// from it. When a new incident's channel opens, the records of its
// service with a similar title are shown on its root message (Recall).

// PastIncident is the memory of one incident that resolved.
type PastIncident struct {
	ID     string
	Number int
	Title  string
	// Words are the title's normalised words (TitleWords), kept so a
	// look-up compares without recomputing.
	Words   []string
	Service Ref
	HTMLURL string
	// Status is resolved, or what a reopened incident is now: a reopened
	// incident is not shown as a past one until it resolves again.
	Status Status
	// TriggeredAt is when PagerDuty created the incident; AcknowledgedAt
	// its first acknowledgement (zero for none); ResolvedAt its last
	// resolution.
	TriggeredAt    time.Time
	AcknowledgedAt time.Time
	ResolvedAt     time.Time
	// ResolvedBy is who resolved it (PagerDuty's agent), "" when unknown.
	ResolvedBy string
	// ChannelID and ChannelName are its Slack channel, if it had one.
	ChannelID   string
	ChannelName string
	// Note is its resolution note: the last note added before it resolved.
	Note string
	// FollowUps are the follow-ups the team noted.
	FollowUps []string
	// MergedInto is the incident it was merged into (its survivor); ""
	// unless merged.
	MergedInto string
}

// maxNote bounds the resolution note kept in the memory and in the state.
const maxNote = 500

// MemoryOf returns the memory of the incident st: ok is false for an
// incident that never resolved (or is known only from a reference). It is
// pure; the store writes its result beside st whenever it changes.
func MemoryOf(st State) (PastIncident, bool) {
	inc := st.Snapshot
	if !inc.Complete || inc.ID == "" || (inc.Status != StatusResolved && st.LastResolvedAt.IsZero()) {
		return PastIncident{}, false
	}
	p := PastIncident{
		ID: inc.ID, Number: inc.Number, Title: inc.Title, Words: TitleWords(inc.Title),
		Service: inc.Service, HTMLURL: inc.HTMLURL, Status: inc.Status,
		TriggeredAt: inc.CreatedAt, AcknowledgedAt: st.AckedAt,
		ResolvedAt: inc.ResolvedAt, ResolvedBy: st.ResolvedBy,
		ChannelID: st.ChannelID, ChannelName: st.ChannelName,
		MergedInto: inc.MergedInto.ID, FollowUps: clone(st.FollowUps),
	}
	if p.ResolvedAt.IsZero() {
		p.ResolvedAt = st.LastResolvedAt
	}
	if p.ChannelID == "" && len(st.PastChannels) > 0 {
		// Reopened after its channel was archived, and not yet given a
		// new one: the archived channel is where it was worked.
		p.ChannelID = st.PastChannels[len(st.PastChannels)-1]
	}
	if st.LastNote != "" && !st.LastNoteAt.After(p.ResolvedAt) {
		p.Note = st.LastNote
	}
	return p, true
}

// Equal reports whether two memories hold the same: the store writes a
// memory only when it changed.
func (p PastIncident) Equal(q PastIncident) bool {
	return p.ID == q.ID && p.Number == q.Number && p.Title == q.Title && slices.Equal(p.Words, q.Words) &&
		p.Service == q.Service && p.HTMLURL == q.HTMLURL && p.Status == q.Status &&
		p.TriggeredAt.Equal(q.TriggeredAt) && p.AcknowledgedAt.Equal(q.AcknowledgedAt) && p.ResolvedAt.Equal(q.ResolvedAt) &&
		p.ResolvedBy == q.ResolvedBy && p.ChannelID == q.ChannelID && p.ChannelName == q.ChannelName &&
		p.Note == q.Note && slices.Equal(p.FollowUps, q.FollowUps) && p.MergedInto == q.MergedInto
}

// MemoryChanged reports whether the memory of after differs from that of
// before, and returns it: what the store writes beside after.
func MemoryChanged(before, after State) (PastIncident, bool) {
	a, ok := MemoryOf(after)
	if !ok {
		return PastIncident{}, false
	}
	b, had := MemoryOf(before)
	return a, !had || !a.Equal(b)
}

// Memory is the store of past incidents.
type Memory interface {
	// Recall returns the memories of the service's incidents, newest
	// resolution first, at most limit.
	Recall(ctx context.Context, serviceID string, limit int) ([]PastIncident, error)
}

// PastIncidentFinder is PagerDuty's own look-up of an incident's similar
// past incidents (GET /incidents/{id}/past_incidents, on the Event
// Intelligence and Digital Operations plans only). It returns ErrNotOnPlan
// when the account does not have it.
type PastIncidentFinder interface {
	PastIncidents(ctx context.Context, incidentID string, limit int) ([]PastIncident, error)
}

// MaxRecalled is how many similar past incidents a channel shows.
const MaxRecalled = 3

// recallCandidates is how many of the service's newest memories a look-up
// compares: a busy service's last few months.
const recallCandidates = 200

// Recalled picks, from the service's memories (newest first) and
// PagerDuty's past incidents of inc (its order, most similar first), the
// similar past incidents shown when inc's channel opens: at most
// MaxRecalled, resolved, not inc itself. Ours come first, most similar
// first and then newest; PagerDuty's follow, completed from our memory of
// the same incident when we have it. A merged incident stands for its
// survivor. It is pure.
func Recalled(inc Snapshot, own, pagerDuty []PastIncident) []PastIncident {
	byID := make(map[string]PastIncident, len(own))
	for _, p := range own {
		byID[p.ID] = p
	}
	type scored struct {
		p     PastIncident
		score float64
	}
	words := TitleWords(inc.Title)
	var found []scored
	for _, p := range own {
		s := similarity(inc, words, p)
		if s < SimilarThreshold {
			continue
		}
		if p.MergedInto != "" {
			survivor, ok := byID[p.MergedInto]
			if !ok {
				continue // its story is its survivor's, which we do not have
			}
			p = survivor
		}
		found = append(found, scored{p, s})
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return b.p.ResolvedAt.Compare(a.p.ResolvedAt)
	})
	var out []PastIncident
	add := func(p PastIncident) {
		if len(out) < MaxRecalled && p.ID != inc.ID && p.Status == StatusResolved &&
			!slices.ContainsFunc(out, func(o PastIncident) bool { return o.ID == p.ID }) {
			out = append(out, p)
		}
	}
	for _, f := range found {
		add(f.p)
	}
	for _, p := range pagerDuty {
		if mine, ok := byID[p.ID]; ok {
			p = mine
		} else {
			// PagerDuty's answer links its API; the web page is the
			// new incident's with the other id.
			p.HTMLURL = siblingURL(inc, p.ID)
			p.Status = StatusResolved
		}
		add(p)
	}
	return out
}

// siblingURL is the web page of the incident id in inc's account, from
// inc's own page (https://acme.pagerduty.com/incidents/Q1); "" when inc's
// page is not of that form.
func siblingURL(inc Snapshot, id string) string {
	base, ok := strings.CutSuffix(inc.HTMLURL, "/incidents/"+inc.ID)
	if !ok || id == "" || inc.ID == "" {
		return ""
	}
	return base + "/incidents/" + id
}

// Outcome is how a past incident ended, in plain text: "resolved in 42m
// by Ada Lovelace"; "" when nothing is known (PagerDuty's look-up gives
// only a title and a time).
func (p PastIncident) Outcome() string {
	if p.ResolvedAt.IsZero() {
		return ""
	}
	s := "resolved"
	if !p.TriggeredAt.IsZero() && p.ResolvedAt.After(p.TriggeredAt) {
		s += " in " + humanDuration(p.ResolvedAt.Sub(p.TriggeredAt))
	}
	if p.ResolvedBy != "" {
		s += " by " + p.ResolvedBy
	}
	return s
}
