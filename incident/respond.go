package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// RequestKind is what a responder's request asks. Its values are part of
// the keys and holders of claims.
type RequestKind string

// The kinds of request.
const (
	RequestAcknowledge RequestKind = "acknowledge"
	RequestResolve     RequestKind = "resolve"
	RequestEscalate    RequestKind = "escalate"
	// RequestNote adds Request.Note to the incident's timeline.
	RequestNote RequestKind = "note"
	// RequestNoteForm opens the note form (the Add note button, /inc note
	// without text).
	RequestNoteForm RequestKind = "note_form"
	// RequestTimeline adds a Slack message (Request.Message) as a note:
	// the message shortcut.
	RequestTimeline RequestKind = "timeline"
	// RequestUpdate publishes Request.Note as a status update;
	// RequestUpdateForm opens the update form (the Post update button,
	// /inc update without text).
	RequestUpdate     RequestKind = "update"
	RequestUpdateForm RequestKind = "update_form"
	RequestStatus     RequestKind = "status"
	RequestHelp       RequestKind = "help"
	// RequestFollowUp notes Request.Note as a follow-up of the incident;
	// RequestFollowUps lists them. Neither calls PagerDuty.
	RequestFollowUp  RequestKind = "followup"
	RequestFollowUps RequestKind = "followups"
	// RequestExport shares the incident's retrospective draft as a
	// Markdown file in its thread; it calls no PagerDuty.
	RequestExport RequestKind = "export"
)

// Request is one thing a responder asked from Slack: a button, the note
// form, the message shortcut or /inc.
type Request struct {
	Kind RequestKind
	// IncidentID is the incident a button or the note form names; "" finds
	// it by ChannelID.
	IncidentID string
	ChannelID  string
	// UserID is the Slack user who asked.
	UserID string
	// Note is the text of a note or a status update, or the argument of
	// a subcommand that changes the incident, pages or asks who is on
	// call.
	Note string
	// Target is the Slack user a request names (/inc lead @person).
	Target string
	// Snooze is how long RequestSnooze holds the reminders.
	Snooze time.Duration
	// TriggerID opens the note form; Slack lets it do so for 3 s.
	TriggerID string
	// Message is the message a shortcut adds to the timeline.
	Message Message
	// Unknown is the /inc subcommand not understood, for RequestHelp.
	Unknown string
	// FromForm is set for a note submitted in the note form: failures
	// are shown in it, and it stays open.
	FromForm bool
}

// Message is a Slack message added to the timeline.
type Message struct {
	Text, UserID, TS string
}

// Answer is what the responder sees: Text only to them (ephemeral), or,
// for a note submitted in the note form, FormError shown in the form.
type Answer struct {
	Text      string
	FormError string
}

// Actor is the PagerDuty user a Slack user acts as.
type Actor struct {
	PagerDutyID, Name, Email string
	// Role is their PagerDuty role (Role… constants); Teams the ids of
	// their PagerDuty teams.
	Role  string
	Teams []string
	// FromCache is set when the answer is a cached one, which
	// Actors.Reload reads afresh.
	FromCache bool
}

// ResponderPagerDuty is what a Responder asks of PagerDuty: it acts on
// incidents as the user whose email is from. Implementations return
// errors matching ErrAlreadyResolved, ErrAlreadyAcknowledged and
// ErrLastLevel where they apply, and *Error (KindMaybeDone when a note's
// answer was lost).
type ResponderPagerDuty interface {
	Acknowledge(ctx context.Context, from, incidentID string) error
	Resolve(ctx context.Context, from, incidentID string) error
	// Escalate escalates to the next level of policyID and returns it.
	Escalate(ctx context.Context, from, incidentID, policyID string, assignees []string) (level int, err error)
	AddNote(ctx context.Context, from, incidentID, content string) error
	PostStatusUpdate(ctx context.Context, from, incidentID, message string) error
	IncidentChanger
}

// Errors a ResponderPagerDuty returns.
var (
	ErrAlreadyResolved     = errors.New("the incident is already resolved")
	ErrAlreadyAcknowledged = errors.New("the incident is already acknowledged")
	ErrLastLevel           = errors.New("the incident is at the last level of its escalation policy")
)

// Actors maps Slack users to PagerDuty users. Lookup may answer from a
// cache; Reload does not. Both fail when the Slack user may not act at
// all (not of the app's workspace, deactivated, a bot, …), with an error
// Explain turns into the answer.
type Actors interface {
	Lookup(ctx context.Context, slackUserID string) (Actor, error)
	Reload(ctx context.Context, slackUserID string) (Actor, error)
}

// Incidents reads the stored incidents for a Responder, and records
// their follow-ups (Update, as Store's).
type Incidents interface {
	Get(ctx context.Context, incidentID, eventID string) (State, EventRecord, error)
	ByChannel(ctx context.Context, channelID string) (State, bool, error)
	Update(ctx context.Context, incidentID, eventID string, fn UpdateFunc) error
}

// Claims keeps the Entries of actions asked from Slack, so that one
// request at a time acts under a key: a claim is an Entry (entry.go),
// taken by the same rule as the incident's ledger entries.
type Claims interface {
	// Claim sets the entry of key in flight for by until until (Take),
	// and reports whether it did; when it did not (another request has it
	// in flight, or it is done), it returns the entry as it stands.
	Claim(ctx context.Context, key, by string, now, until time.Time) (Entry, bool, error)
	// Done records that by's action is done (Finish); Release ends by's
	// claim, leaving the key pending for the next try.
	Done(ctx context.Context, key, by string) error
	Release(ctx context.Context, key, by string) error
}

// ResponderSlack is what a Responder asks of Slack.
type ResponderSlack interface {
	// OpenNoteForm opens the note form for the incident and channel with
	// a trigger_id, which Slack accepts once, within 3 s of the click.
	OpenNoteForm(ctx context.Context, triggerID, incidentID, channelID string) error
	// OpenUpdateForm opens the status update form, as OpenNoteForm.
	OpenUpdateForm(ctx context.Context, triggerID, incidentID, channelID string) error
	Permalink(ctx context.Context, channelID, ts string) (string, error)
	UserName(ctx context.Context, userID string) (string, error)
	// GroupMembers returns the user ids of a Slack user group, by id;
	// ErrGroupNotFound when there is none (/inc page @group).
	GroupMembers(ctx context.Context, group string) (userIDs []string, err error)
	// ShareFile shares a text file in the thread of threadTS (/inc export).
	ShareFile(ctx context.Context, channelID, threadTS, name, title, content string) error
}

// ResponderOptions configure a Responder.
type ResponderOptions struct {
	Incidents Incidents
	Claims    Claims
	Slack     ResponderSlack
	// PagerDuty and Actors are nil without PAGERDUTY_API_TOKEN: requests
	// to act then say what to set.
	PagerDuty ResponderPagerDuty
	Actors    Actors
	// ActRoles are the PagerDuty roles that may act (ACT_ROLES), of
	// ActingRoles; nil is all of ActingRoles.
	ActRoles []string
	// Changes names who leads an incident and snoozes its reminders (the
	// Service); nil without it.
	Changes Changes
	// Explain turns a failure of PagerDuty or of the user look-up into a
	// sentence for the responder; nil uses the error's text.
	Explain func(error) string
	Log     *slog.Logger
	Now     func() time.Time
}

// Claim durations: a status change blocks the same change for a while
// (PagerDuty's webhook takes a moment to update the buttons); a note the
// same note by the same responder (a double submit); a message added to
// the timeline, the same message.
const (
	statusClaim   = 30 * time.Second
	noteClaim     = time.Minute
	timelineClaim = 10 * time.Minute
)

// Responder does what responders ask from Slack: acknowledge, resolve,
// escalate and add notes (the root message's buttons, /inc, the note
// form and the "Add to PagerDuty timeline" shortcut), and the ephemeral
// answers they get. It is safe for concurrent use.
//
// It finds the incident (by the button's value or the channel), maps the
// Slack user to their PagerDuty user, claims the action so that a double
// click or two responders at once act once, and calls PagerDuty as that
// user, all within the caller's deadline (Slack's 3 seconds). What
// PagerDuty then does comes back as the usual webhook, which updates the
// root message and the thread. Slack's side (signatures, payloads, the
// note form's blocks) is slackops'.
type Responder struct{ o ResponderOptions }

// NewResponder returns a Responder configured by o.
func NewResponder(o ResponderOptions) *Responder {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Explain == nil {
		o.Explain = func(err error) string { return err.Error() }
	}
	return &Responder{o: o}
}

// Enabled reports whether responders can act on PagerDuty.
func (r *Responder) Enabled() bool { return r.o.PagerDuty != nil && r.o.Actors != nil }

// Do does what req asks within ctx and returns the answer. It never
// fails: every failure is an answer saying why.
func (r *Responder) Do(ctx context.Context, req Request) Answer {
	switch req.Kind {
	case RequestHelp:
		return Answer{Text: helpText(req.Unknown, r.Enabled())}
	case RequestOnCall:
		return r.onCall(ctx, req)
	case RequestNoteForm, RequestUpdateForm:
		// The trigger expires 3 s after the click: the form opens first.
		if !r.Enabled() {
			return Answer{Text: notEnabledText}
		}
		if req.IncidentID == "" {
			st, ans, ok := r.find(ctx, req)
			if !ok {
				return ans
			}
			req.IncidentID = st.Snapshot.ID
		}
		return r.openForm(ctx, req)
	}
	st, ans, ok := r.find(ctx, req)
	switch {
	case !ok:
		return r.inForm(req, ans)
	case req.Kind == RequestStatus:
		return Answer{Text: statusText(st)}
	case req.Kind == RequestFollowUps:
		return Answer{Text: followUpsText(st)}
	case !r.Enabled():
		return r.inForm(req, Answer{Text: notEnabledText})
	case req.Kind == RequestLead:
		return r.lead(ctx, req, st)
	case req.Kind == RequestSnooze:
		return r.snooze(ctx, req, st)
	case req.Kind == RequestFollowUp:
		// Slack's record of the incident, not PagerDuty's, but a change
		// all the same: who may add one is who may act on the incident.
		if _, ans, ok := r.actor(ctx, req, st); !ok {
			return ans
		}
		return r.followUp(ctx, req, st)
	case req.Kind == RequestExport:
		return r.export(ctx, req, st)
	}
	return r.inForm(req, r.act(ctx, req, st))
}

// inForm shows the failure of a note submitted in the note form in the
// form.
func (r *Responder) inForm(req Request, a Answer) Answer {
	if req.FromForm && a.Text != "" && !strings.HasPrefix(a.Text, okPrefix) {
		return Answer{FormError: a.Text}
	}
	return a
}

// find returns the incident req is about: the one it names, or the one
// whose channel it was made in.
func (r *Responder) find(ctx context.Context, req Request) (State, Answer, bool) {
	if req.IncidentID != "" {
		st, _, err := r.o.Incidents.Get(ctx, req.IncidentID, "")
		switch {
		case err != nil:
			r.o.Log.ErrorContext(ctx, "incident not read", "incident_id", req.IncidentID, "error", err.Error())
			return st, Answer{Text: "The incident could not be read just now; try again in a moment."}, false
		case !st.Exists:
			return st, Answer{Text: "Incident Channels does not know incident " + req.IncidentID + "."}, false
		}
		return st, Answer{}, true
	}
	st, ok, err := r.o.Incidents.ByChannel(ctx, req.ChannelID)
	switch {
	case err != nil:
		r.o.Log.ErrorContext(ctx, "incident of channel not read", "channel_id", req.ChannelID, "error", err.Error())
		return st, Answer{Text: "The incident could not be read just now; try again in a moment."}, false
	case !ok:
		return st, Answer{Text: notIncidentChannelText}, false
	}
	return st, Answer{}, true
}

// act maps the user, checks that they may act on the incident (permit.go),
// claims the action and calls PagerDuty as them. The user is looked up
// only once the incident shows there is something to do: a stale click
// or a channel that is no incident's asks PagerDuty nothing.
func (r *Responder) act(ctx context.Context, req Request, st State) Answer {
	inc := st.Snapshot
	req.IncidentID = inc.ID
	if a, done := already(req.Kind, st); done {
		return Answer{Text: a}
	}
	if (req.Kind == RequestNote && strings.TrimSpace(req.Note) == "") || (req.Kind == RequestTimeline && strings.TrimSpace(req.Message.Text) == "") {
		return Answer{Text: "A note needs some text: `/inc note <text>`."}
	}
	if req.Kind == RequestUpdate && strings.TrimSpace(req.Note) == "" {
		return Answer{Text: "A status update needs some text: `/inc update <text>`."}
	}
	if why := argProblem(req, st); why != "" {
		return Answer{Text: why}
	}
	actor, ans, ok := r.actor(ctx, req, st)
	if !ok {
		return ans
	}
	key, ttl := claimKey(req)
	// The owner part tells one request's claim from another's by the
	// same user (a double click).
	by := req.UserID + "/" + string(req.Kind) + "/" + NewOwner()
	if ans, ok := r.claim(ctx, req.Kind, key, by, ttl); !ok {
		return ans
	}
	if statusChange(req.Kind) {
		// One status change of an incident at a time: an acknowledgement
		// must not read triggered while a resolution is being written.
		lock := "status:" + inc.ID
		if ans, ok := r.claim(ctx, req.Kind, lock, by, statusLock); !ok {
			r.finish(ctx, key, by, false)
			return ans
		}
		defer r.finish(ctx, lock, by, false)
	}
	content := req.Note
	if req.Kind == RequestTimeline {
		content = r.timelineNote(ctx, req)
	}
	text, err := r.call(ctx, req.Kind, actor, st, content)
	switch {
	case err == nil:
		r.finish(ctx, key, by, true)
		r.o.Log.InfoContext(ctx, "PagerDuty action done", "incident_id", inc.ID, "action", string(req.Kind), "pagerduty_user_id", actor.PagerDutyID)
		return Answer{Text: text}
	case (req.Kind == RequestNote || req.Kind == RequestTimeline || req.Kind == RequestUpdate || req.Kind == RequestPage) && KindOf(err) == KindMaybeDone:
		// The note (status update, page) may be in PagerDuty: the claim
		// stays, finished, so the same one is not submitted twice
		// meanwhile.
		r.finish(ctx, key, by, true)
	default:
		// Failed: the claim goes, so the responder (or another one
		// waiting on it) can try again at once.
		r.finish(ctx, key, by, false)
	}
	r.o.Log.WarnContext(ctx, "PagerDuty action failed", "incident_id", inc.ID, "action", string(req.Kind),
		"pagerduty_user_id", actor.PagerDutyID, "error", err.Error())
	return Answer{Text: text}
}

// finish records what became of by's claim on key: done (it stays,
// telling others), or released for the next try. A deadline that ran
// out leaves it a short grace.
func (r *Responder) finish(ctx context.Context, key, by string, done bool) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimGrace)
	defer cancel()
	var err error
	if done {
		err = r.o.Claims.Done(cctx, key, by)
	} else {
		err = r.o.Claims.Release(cctx, key, by)
	}
	if err != nil {
		r.o.Log.WarnContext(ctx, "claim not recorded", "key", key, "done", done, "error", err.Error())
	}
}

// statusChange reports whether kind changes the incident's status (or
// level) in PagerDuty.
func statusChange(kind RequestKind) bool {
	return kind == RequestAcknowledge || kind == RequestResolve || kind == RequestEscalate
}

// statusLock bounds the one-at-a-time lock of an incident's status
// changes, should its holder die; it is released as soon as the call
// returns.
const statusLock = 10 * time.Second

// claimGrace bounds the claim's last write after the request's deadline.
const claimGrace = 200 * time.Millisecond

// claimPoll is how often a request waits on another's claim; claimLeave
// is how much of its time it keeps for its answer.
const (
	claimPoll  = 100 * time.Millisecond
	claimLeave = 400 * time.Millisecond
)

// claim takes key for by. When another request holds it (a double
// click, two responders at once), it waits, within its deadline, for
// that request to finish: done, it answers who did it; failed (the claim
// released), it takes the claim and acts itself; still running at the
// deadline, it says so.
func (r *Responder) claim(ctx context.Context, kind RequestKind, key, by string, ttl time.Duration) (Answer, bool) {
	for {
		now := r.o.Now()
		e, ok, err := r.o.Claims.Claim(ctx, key, by, now, now.Add(ttl))
		switch {
		case err != nil:
			r.o.Log.ErrorContext(ctx, "claim failed", "key", key, "error", err.Error())
			return Answer{Text: "Incident Channels could not record your request just now; try again in a moment."}, false
		case ok:
			return Answer{}, true
		case e.Done:
			return Answer{Text: doneByText(kind, holderUser(e.Owner))}, false
		}
		user, theirs := holderOf(e.Owner, kind)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < claimPoll+claimLeave {
			return Answer{Text: doingByText(theirs, user)}, false
		}
		select {
		case <-ctx.Done():
			return Answer{Text: doingByText(theirs, user)}, false
		case <-time.After(claimPoll):
		}
	}
}

// holderUser is the Slack user of a claim's holder ("U123/acknowledge/abc").
func holderUser(holder string) string {
	u, _, _ := strings.Cut(holder, "/")
	return u
}

// holderOf is the Slack user of a claim's holder and what they are doing
// (kind when the holder does not say).
func holderOf(holder string, kind RequestKind) (string, RequestKind) {
	u, rest, _ := strings.Cut(holder, "/")
	if k, _, ok := strings.Cut(rest, "/"); ok && k != "" {
		return u, RequestKind(k)
	}
	return u, kind
}

// call makes the PagerDuty call of kind as actor, and returns the answer:
// what was done, or why not.
func (r *Responder) call(ctx context.Context, kind RequestKind, actor Actor, st State, content string) (string, error) {
	inc, pd := st.Snapshot, r.o.PagerDuty
	as := slackEscape(actor.Name)
	var err error
	done := ""
	switch kind {
	case RequestAcknowledge:
		err = pd.Acknowledge(ctx, actor.Email, inc.ID)
		done = "Acknowledged " + numberOrID(inc) + " in PagerDuty as " + as + "."
	case RequestResolve:
		if content != "" {
			// The resolution note goes first, so it is the last note
			// before the resolution: the incident's memory keeps it.
			if err = pd.AddNote(ctx, actor.Email, inc.ID, content); err != nil {
				break
			}
		}
		err = pd.Resolve(ctx, actor.Email, inc.ID)
		done = "Resolved " + numberOrID(inc) + " in PagerDuty as " + as + "."
		if content != "" {
			done = "Resolved " + numberOrID(inc) + " in PagerDuty as " + as + ", with your note."
		}
	case RequestEscalate:
		var level int
		level, err = pd.Escalate(ctx, actor.Email, inc.ID, inc.EscalationPolicy.ID, refIDs(inc.Assignees))
		done = fmt.Sprintf("Escalated %s to level %d of %s as %s.", numberOrID(inc), level, slackEscape(OrDash(inc.EscalationPolicy.Summary)), as)
	case RequestNote, RequestTimeline:
		err = pd.AddNote(ctx, actor.Email, inc.ID, content)
		done = "Added your note to " + numberOrID(inc) + "'s PagerDuty timeline as " + as + "."
	case RequestUpdate:
		done, err = r.postUpdate(ctx, actor, inc, content)
	case RequestPriority, RequestUrgency, RequestTitle, RequestReassign, RequestPage:
		return r.change(ctx, kind, actor, st, content)
	default:
		return "", fmt.Errorf("%s is not a PagerDuty action", kind)
	}
	switch {
	case errors.Is(err, ErrAlreadyResolved):
		return "PagerDuty says " + numberOrID(inc) + " is already resolved.", nil
	case errors.Is(err, ErrAlreadyAcknowledged):
		return "PagerDuty says " + numberOrID(inc) + " is already acknowledged.", nil
	case errors.Is(err, ErrLastLevel):
		return numberOrID(inc) + " is already at the last level of " + slackEscape(OrDash(inc.EscalationPolicy.Summary)) + "; PagerDuty did not escalate it.", err
	case err != nil:
		return slackEscape(r.o.Explain(err)), err
	}
	return okPrefix + done, nil
}

// okPrefix starts the answer to an action PagerDuty took.
const okPrefix = "✓ "

// already says why the action needs no call: the incident is already in
// the state it asks for, as the stored incident shows.
func already(kind RequestKind, st State) (string, bool) {
	inc := st.Snapshot
	switch {
	case inc.Status == StatusResolved && statusChange(kind):
		return numberOrID(inc) + " is already resolved.", true
	case inc.Status == StatusAcknowledged && kind == RequestAcknowledge:
		who := ""
		if st.AckedBy != "" {
			who = " by " + st.AckedBy
		}
		return numberOrID(inc) + " is already acknowledged" + slackEscape(who) + ".", true
	}
	return "", false
}

// claimKey is the key one action on an incident is claimed under, and
// for how long: a status change by kind, a note by its responder and
// text, a message added by the shortcut by the message.
func claimKey(req Request) (string, time.Duration) {
	id := req.IncidentID
	switch req.Kind {
	case RequestNote:
		sum := sha256.Sum256([]byte(req.UserID + "\x00" + strings.TrimSpace(req.Note)))
		return "note:" + id + ":" + hex.EncodeToString(sum[:12]), noteClaim
	case RequestTimeline:
		return "timeline:" + id + ":" + req.ChannelID + ":" + req.Message.TS, timelineClaim
	case RequestUpdate:
		return updateKey(req), updateClaim
	case RequestPriority, RequestUrgency, RequestTitle, RequestReassign, RequestPage:
		// The same change at once is one; another change is another.
		sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(req.Note))))
		return string(req.Kind) + ":" + id + ":" + hex.EncodeToString(sum[:12]), statusClaim
	}
	return string(req.Kind) + ":" + id, statusClaim
}

// timelineNote is the note a message shortcut adds: the message's text,
// its author and a link to it.
func (r *Responder) timelineNote(ctx context.Context, req Request) string {
	m := req.Message
	author, link := m.UserID, ""
	var wg sync.WaitGroup
	wg.Go(func() {
		if n, err := r.o.Slack.UserName(ctx, m.UserID); err == nil && n != "" {
			author = n
		}
	})
	if l, err := r.o.Slack.Permalink(ctx, req.ChannelID, m.TS); err == nil {
		link = l
	}
	wg.Wait()
	note := strings.TrimSpace(m.Text) + "\n— " + OrDash(author) + " in Slack"
	if link != "" {
		note += ": " + link
	}
	return note
}

func refIDs(refs []Ref) []string {
	var ids []string
	for _, r := range refs {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
