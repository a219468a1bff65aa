package incident

import "time"

// Entry is a keyed effect that must happen at most once, and the one way
// the service makes sure it does: the incident's ledger entries (an effect
// on Slack or PagerDuty) and the Responder's claims (an action a click or
// /inc asks of PagerDuty) are both Entries, with the same states and the
// same take-over rule.
//
// An entry goes pending → in flight (Owner, Until) → done (Result) or
// given up (GaveUp, why):
//
//   - Pending: known not done, nobody carrying it out (no Owner, or an
//     Until that has passed).
//   - In flight: Owner set out to do it and may still be doing it until
//     Until; nobody else takes it before then (Busy).
//   - Done and given up are final.
//
// An in-flight entry whose Until has passed may be taken over (Take). Its
// owner may have done the effect unseen (the answer was lost, the owner
// died), so a taker that can look the effect up (the ledger's Find fields)
// does that first.
//
// The ledger records most results in the incident's own fields (the
// channel id, the root's ts, …) and drops the entry once the effect is
// done; a claim keeps its done entry, telling later clicks who did it.
type Entry struct {
	Key string
	// Owner is the attempt or request that last set out to do the effect.
	Owner string
	// Until is the end of Owner's lease on the effect: a call it made may
	// land until then, so no one looks the effect up, or does it again,
	// before.
	Until time.Time
	// Done is set once the effect happened; Result is what it came to,
	// where the state does not record it elsewhere.
	Done   bool
	Result string
	// GaveUp says why the effect will never be tried again.
	GaveUp string

	// The fields below belong to the incident's ledger.

	// Since is when an attempt first set out to do it; a channel created
	// since then under one of Names is that attempt's.
	Since time.Time
	// Names are the channel names creation was tried under (the wanted
	// names before numbered suffixes, and the names with the incident
	// id), for KeyChannel.
	Names []string
	// Thread is set for a board that is the post-only message.
	Thread bool
	// PutOff is set for an optional effect (the topic, a bookmark, the
	// announce message, the back-link) put off because Slack rate-limited
	// its method or PagerDuty was slow: pending, and the next event of the
	// incident (not Event, the one that put it off) does it. One put off
	// while its call may still land keeps its Owner and Until.
	PutOff bool
	Event  string
}

// EntryState is where an Entry stands.
type EntryState uint8

// The states of an Entry.
const (
	EntryPending EntryState = iota
	EntryInFlight
	EntryDone
	EntryGivenUp
)

// String returns the state's word, as the logs and docs use it.
func (s EntryState) String() string {
	return [...]string{"pending", "in flight", "done", "given up"}[s]
}

// State returns where e stands at now.
func (e Entry) State(now time.Time) EntryState {
	switch {
	case e.Done:
		return EntryDone
	case e.GaveUp != "":
		return EntryGivenUp
	case e.Owner != "" && now.Before(e.Until):
		return EntryInFlight
	}
	return EntryPending
}

// Busy reports whether someone other than by may still be carrying out
// the effect at now: by must wait for Until (or for the entry to be done).
func (e Entry) Busy(by string, now time.Time) bool {
	return e.State(now) == EntryInFlight && e.Owner != by
}

// Take sets e in flight for by until until, and reports whether it may:
// not when it is done or given up, or Busy. Taking over an entry whose
// Until has passed is allowed; its earlier owner's effect is looked up
// first where a look-up exists.
func (e *Entry) Take(by string, now, until time.Time) bool {
	if s := e.State(now); s == EntryDone || s == EntryGivenUp || e.Busy(by, now) {
		return false
	}
	e.Owner, e.Until = by, until
	return true
}

// Finish records the effect done, with its result.
func (e *Entry) Finish(result string) {
	e.Done, e.Result = true, result
}
