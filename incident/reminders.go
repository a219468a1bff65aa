package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReminderRule is one entry of UPDATE_REMINDERS: incidents whose priority
// name or urgency is Key ("*" for any) are reminded after Every without a
// status update.
type ReminderRule struct {
	Key   string
	Every time.Duration
}

// Reminders are the rules of UPDATE_REMINDERS, in order: the first that
// matches an incident wins. Empty turns reminders off.
type Reminders []ReminderRule

// MinReminder is the shortest interval a rule may set.
const MinReminder = time.Minute

// ParseReminders reads UPDATE_REMINDERS, e.g. "P1=30m,P2=1h,high=2h,*=4h";
// "" is no reminders. It names every problem at once.
func ParseReminders(s string) (Reminders, error) {
	var (
		rs   Reminders
		errs []error
	)
	// Problems name an entry by its place, never its text: a secret
	// pasted into the wrong variable stays out of the logs.
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n++
		key, every, ok := strings.Cut(part, "=")
		key, every = strings.TrimSpace(key), strings.TrimSpace(every)
		if !ok || key == "" {
			errs = append(errs, fmt.Errorf("entry %d is not key=interval (a priority name, an urgency or *, then a Go duration such as 30m)", n))
			continue
		}
		d, err := time.ParseDuration(every)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("entry %d: the interval is not a Go duration such as 30m or 2h", n))
			continue
		case d < MinReminder:
			errs = append(errs, fmt.Errorf("entry %d: the interval is shorter than the minimum of %s", n, MinReminder))
			continue
		}
		rs = append(rs, ReminderRule{Key: key, Every: d})
	}
	return rs, errors.Join(errs...)
}

// String is rs as UPDATE_REMINDERS writes it.
func (rs Reminders) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Key + "=" + r.Every.String()
	}
	return strings.Join(parts, ",")
}

// Interval is how long inc may go without a status update: the first
// rule matching its priority name or urgency (case-insensitively), or
// "*"; 0 when none does.
func (rs Reminders) Interval(inc Snapshot) time.Duration {
	for _, r := range rs {
		if r.Key == "*" || (inc.Priority != "" && strings.EqualFold(r.Key, inc.Priority)) ||
			(inc.Urgency != "" && strings.EqualFold(r.Key, string(inc.Urgency))) {
			return r.Every
		}
	}
	return 0
}

// NextReminder returns when st's incident is next due a reminder to post
// a status update, and whether it is due by now: its interval after the
// latest of its start, its last status update and its last reminder, or
// the end of a snooze when that is later. Only an unresolved incident
// with a channel and a root message of its own is reminded.
func NextReminder(st State, rs Reminders, now time.Time) (time.Time, bool) {
	inc := st.Snapshot
	if !st.Exists || !inc.Complete || inc.Status == StatusResolved || st.ChannelID == "" || st.ChannelArchived || st.RootTS == "" {
		return time.Time{}, false
	}
	every := rs.Interval(inc)
	if every <= 0 {
		return time.Time{}, false
	}
	since := inc.CreatedAt
	for _, t := range []time.Time{st.Update.At, st.RemindedAt} {
		if t.After(since) {
			since = t
		}
	}
	if since.IsZero() {
		return time.Time{}, false
	}
	next := since.Add(every)
	if st.SnoozedUntil.After(next) {
		next = st.SnoozedUntil
	}
	return next, !now.Before(next)
}

// KeyReminder is the ledger key of the reminder to post a status update
// (done: State.RemindedAt).
const KeyReminder = "reminder"

// Snoozes are the snooze buttons of a reminder, and how long each snoozes.
var Snoozes = map[Action]time.Duration{
	ActionSnooze30m: 30 * time.Minute,
	ActionSnooze2h:  2 * time.Hour,
}

// The reminder's snooze buttons.
const (
	ActionSnooze30m Action = "incident_snooze_30m"
	ActionSnooze2h  Action = "incident_snooze_2h"
)

// RequestSnooze snoozes the incident's reminders for Request.Snooze.
const RequestSnooze RequestKind = "snooze"

// ReminderFor is the reminder due at due: a line in the channel (broadcast
// from the thread) naming the lead, or else the assignees, with the
// buttons to post an update or snooze. Its EventID, from the incident and
// due, finds it again after an attempt whose answer was lost.
func ReminderFor(st State, due time.Time) *Reply {
	inc := st.Snapshot
	since := "it started"
	if !st.Update.At.IsZero() {
		since = "the last one"
	}
	r := &Reply{
		Headline: "Time for a status update: none for " + humanDuration(due.Sub(lastUpdate(st))) + " since " + since,
		Body:     "Post one with the button, or `/inc update <text>`; stakeholders see it here and on the first message.",
		At:       due,
		// Stakeholders follow the channel, not the thread.
		Broadcast:  true,
		EventID:    "remind-" + inc.ID + "-" + strconv.FormatInt(due.Unix(), 10),
		IncidentID: inc.ID,
		Buttons:    []Action{ActionUpdate, ActionSnooze30m, ActionSnooze2h},
	}
	if st.Lead.SlackUserID != "" {
		r.Mention = []string{st.Lead.SlackUserID}
	} else {
		r.MentionPeople = slices.Clone(inc.Assignees)
	}
	return r
}

// lastUpdate is when the incident last had a status update, or started.
func lastUpdate(st State) time.Time {
	if st.Update.At.After(st.Snapshot.CreatedAt) {
		return st.Update.At
	}
	return st.Snapshot.CreatedAt
}

// remind posts the plan's reminder, naming the assignees by their Slack
// users when no one leads (as far as the directory finds them).
func (x *executor) remind(ctx context.Context) {
	st, r := x.st, *x.p.Reminder
	if len(r.MentionPeople) > 0 && x.a.cfg.Directory != nil {
		// Names stand in for whoever has no Slack user, or when the
		// look-up fails: the reminder goes out either way.
		if found, _, err := x.a.cfg.Directory.SlackUsers(ctx, r.MentionPeople); err == nil {
			var rest []Ref
			for _, p := range r.MentionPeople {
				if id := found[p.ID]; id != "" {
					r.Mention = append(r.Mention, id)
				} else {
					rest = append(rest, p)
				}
			}
			r.MentionPeople = rest
		}
	}
	if _, err := x.post(ctx, thread{channelID: st.ChannelID, ts: st.RootTS}, r, x.p.FindReminder); err != nil && !x.failed(ctx, stepReminder, KeyReminder, nil, err) {
		return
	}
	// The next interval counts from this sweep, not from when the
	// reminder fell due: sweeps that stopped for a while do not make up
	// for it with a reminder each.
	x.locked(func(res *Results) { res.Reminded = x.a.ev.OccurredAt; x.ran[KeyReminder] = true })
}

// dueReminders lists the incidents due a reminder at now, reading only
// the store: an incident not due costs no Slack call.
func (s *Service) dueReminders(ctx context.Context, now time.Time) ([]string, error) {
	if len(s.cfg.Reminders) == 0 {
		return nil, nil
	}
	open, err := s.store.Open(ctx, sweepBatch)
	if err != nil {
		return nil, fmt.Errorf("list open incidents for reminders: %w", err)
	}
	var ids []string
	for _, st := range open {
		if _, due := NextReminder(st, s.cfg.Reminders, now); due {
			ids = append(ids, st.Snapshot.ID)
		}
	}
	return ids, nil
}

// Snooze holds the incident's reminders until until (a later snooze
// wins). It changes only the stored state: the next sweep reads it.
func (s *Service) Snooze(ctx context.Context, incidentID string, until time.Time) error {
	return s.store.Update(ctx, incidentID, "", func(st *State, _ *EventRecord) (Change, error) {
		if !st.Exists || !until.After(st.SnoozedUntil) {
			return 0, nil
		}
		st.SnoozedUntil = until
		return ChangeState, nil
	})
}

// snooze snoozes st's reminders for req.Snooze, once per reminder: a
// double click, or two people at once, snooze once.
func (r *Responder) snooze(ctx context.Context, req Request, st State) Answer {
	inc := st.Snapshot
	if r.o.Changes == nil {
		return Answer{Text: notEnabledText}
	}
	if inc.Status == StatusResolved {
		return Answer{Text: numberOrID(inc) + " is resolved; it gets no more reminders."}
	}
	if _, ans, ok := r.actor(ctx, req, st); !ok {
		return ans
	}
	key := "snooze:" + inc.ID + ":" + strconv.FormatInt(st.RemindedAt.Unix(), 10)
	by := req.UserID + "/" + string(RequestSnooze) + "/" + NewOwner()
	if ans, ok := r.claim(ctx, RequestSnooze, key, by, snoozeClaim); !ok {
		return ans
	}
	until := r.o.Now().Add(req.Snooze)
	if err := r.o.Changes.Snooze(ctx, inc.ID, until); err != nil {
		r.finish(ctx, key, by, false)
		r.o.Log.WarnContext(ctx, "reminders not snoozed", "incident_id", inc.ID, "error", err.Error())
		return Answer{Text: "Could not snooze the reminders just now; try again in a moment."}
	}
	r.finish(ctx, key, by, true)
	return Answer{Text: okPrefix + "Reminders for " + numberOrID(inc) + " snoozed for " + humanDuration(req.Snooze) + "."}
}

// snoozeClaim is how long a snooze of one reminder is claimed.
const snoozeClaim = 10 * time.Minute
