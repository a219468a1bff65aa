package incident

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestChannelName(t *testing.T) {
	long := strings.Repeat("database connection pool exhausted ", 5)
	tests := []struct {
		name   string
		prefix string
		inc    Snapshot
		want   string
	}{
		{"plain", "inc", Snapshot{Number: 1234, Title: "Checkout latency"}, "inc-1234-checkout-latency"},
		{"punctuation and case", "inc", Snapshot{Number: 7, Title: "[PROD] API: 5xx > 2% (eu-west-1)!!"}, "inc-7-prod-api-5xx-2-eu-west-1"},
		{"accents folded", "inc", Snapshot{Number: 8, Title: "Café señal Zürich"}, "inc-8-cafe-senal-zurich"},
		{"japanese only", "inc", Snapshot{Number: 9, Title: "データベース障害"}, "inc-9"},
		{"emoji only", "inc", Snapshot{Number: 10, Title: "🔥🔥🔥"}, "inc-10"},
		{"mixed japanese", "inc", Snapshot{Number: 11, Title: "DB 障害 primary"}, "inc-11-db-primary"},
		{"underscore kept", "ops", Snapshot{Number: 12, Title: "disk_full on node_3"}, "ops-12-disk_full-on-node_3"},
		{"no number uses id", "inc", Snapshot{ID: "Q1ABC", Title: "Down"}, "inc-q1abc-down"},
		{"long title cut at a word", "inc", Snapshot{Number: 123456, Title: long}, "inc-123456-database-connection-pool-exhausted-database-connection-pool"},
		{"mention injection", "inc", Snapshot{Number: 13, Title: "<!channel> db down"}, "inc-13-channel-db-down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChannelName(tt.prefix, tt.inc)
			if got != tt.want {
				t.Errorf("ChannelName(%q, %q) = %q, want %q", tt.prefix, tt.inc.Title, got, tt.want)
			}
			if !validChannelName(got) {
				t.Errorf("ChannelName(%q) = %q is not a valid Slack channel name", tt.inc.Title, got)
			}
		})
	}
}

func validChannelName(s string) bool {
	if s == "" || len(s) > MaxChannelName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func FuzzChannelName(f *testing.F) {
	f.Add("inc", 1234, "Checkout latency")
	f.Add("inc", 0, "データベース障害")
	f.Fuzz(func(t *testing.T, prefix string, number int, title string) {
		if number < 0 {
			number = -number
		}
		name := ChannelName(prefix, Snapshot{ID: "P1", Number: number % 1e9, Title: title})
		if !validChannelName(name) {
			t.Fatalf("ChannelName(%q, %d, %q) = %q: invalid", prefix, number, title, name)
		}
		for try := 2; try <= maxNameTries; try++ {
			if s := withSuffix(name, try); !validChannelName(s) {
				t.Fatalf("withSuffix(%q, %d) = %q: invalid", name, try, s)
			}
		}
		if s := idChannelName(prefix, Snapshot{ID: "Q1CHECKOUT", Number: number % 1e9}, 1+number%3); !validChannelName(s) || !strings.Contains(s, "-q1checkout") {
			t.Fatalf("idChannelName(%q, %d) = %q: invalid or without the id", prefix, number, s)
		}
	})
}

var t0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

func fullEvent(typ string, status Status, at time.Duration) *Event {
	return &Event{ID: typ + at.String(), Type: typ, OccurredAt: t0.Add(at), IncidentID: "P1", Agent: Ref{Summary: "Ada"},
		Incident: Snapshot{ID: "P1", Number: 42, Title: "DB down", Status: status, Urgency: "high", Priority: "P2",
			HTMLURL: "https://pd/incidents/P1", Service: Ref{Summary: "DB"}, Assignees: []Ref{{Summary: "Ada"}},
			CreatedAt: t0, Complete: true}}
}

func noteEvent(at time.Duration) *Event {
	return &Event{ID: "note" + at.String(), Type: EventAnnotated, OccurredAt: t0.Add(at), IncidentID: "P1",
		Agent: Ref{Summary: "Ada"}, Note: "looking", Incident: Snapshot{ID: "P1", Title: "DB down (ref)", HTMLURL: "https://pd/incidents/P1"}}
}

// apply runs Record over events in order and returns the final state.
func apply(evs ...*Event) State {
	var st State
	for _, ev := range evs {
		var er EventRecord
		Record(&st, &er, ev)
	}
	return st
}

func TestRecordMovesForwardOnly(t *testing.T) {
	trig := fullEvent(EventTriggered, "triggered", 0)
	ack := fullEvent(EventAcknowledged, "acknowledged", time.Minute)
	res := fullEvent(EventResolved, "resolved", 30*time.Minute)
	reo := fullEvent(EventReopened, "triggered", 40*time.Minute)
	tests := []struct {
		name        string
		evs         []*Event
		wantStatus  Status
		wantTitle   string
		wantResolve time.Time
		wantVersion int64
		complete    bool
	}{
		{"in order", []*Event{trig, ack}, "acknowledged", "DB down", time.Time{}, 2, true},
		{"late triggered does not undo ack", []*Event{ack, trig}, "acknowledged", "DB down", time.Time{}, 1, true},
		{"resolved records time", []*Event{trig, ack, res}, "resolved", "DB down", t0.Add(30 * time.Minute), 3, true},
		{"late ack after resolve ignored", []*Event{trig, res, ack}, "resolved", "DB down", t0.Add(30 * time.Minute), 2, true},
		{"reopen clears resolve", []*Event{trig, res, reo}, "triggered", "DB down", time.Time{}, 3, true},
		{"note first gives a reference snapshot", []*Event{noteEvent(time.Minute)}, "", "DB down (ref)", time.Time{}, 1, false},
		{"full payload after note completes it", []*Event{noteEvent(2 * time.Minute), trig}, "triggered", "DB down", time.Time{}, 2, true},
		{"a newer note does not hide older full payloads", []*Event{noteEvent(10 * time.Minute), trig, ack}, "acknowledged", "DB down", time.Time{}, 3, true},
		{"note after full changes nothing", []*Event{trig, noteEvent(time.Minute)}, "triggered", "DB down", time.Time{}, 1, true},
		{"duplicate changes nothing", []*Event{trig, ack, ack}, "acknowledged", "DB down", time.Time{}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := apply(tt.evs...)
			got := st.Snapshot
			if got.Status != tt.wantStatus || got.Title != tt.wantTitle || !got.ResolvedAt.Equal(tt.wantResolve) || st.Version != tt.wantVersion || got.Complete != tt.complete {
				t.Errorf("Record = status %q title %q resolved %v version %d complete %v; want %q %q %v %d %v",
					got.Status, got.Title, got.ResolvedAt, st.Version, got.Complete, tt.wantStatus, tt.wantTitle, tt.wantResolve, tt.wantVersion, tt.complete)
			}
		})
	}
}

func TestRecordRemembersEvent(t *testing.T) {
	var st State
	var er EventRecord
	ev := fullEvent(EventTriggered, "triggered", 0)
	if ch := Record(&st, &er, ev); ch != ChangeState|ChangeEvent {
		t.Errorf("Record(new) = %b, want state|event", ch)
	}
	if !er.Exists || er.Type != EventTriggered || !er.ExpireAt.Equal(ev.OccurredAt.Add(EventRetention)) {
		t.Errorf("event record = %+v", er)
	}
	if ch := Record(&st, &er, ev); ch != 0 {
		t.Errorf("Record(duplicate) = %b, want 0", ch)
	}
}

// dbDownNames are the channel names of the incident of fullEvent.
var dbDownNames = []string{"inc-42-db-down", "inc-42-db-down-2", "inc-42-db-down-3", "inc-42-db-down-4", "inc-42-db-down-5", "inc-42-p1"}

func TestDecide(t *testing.T) {
	cfg := Config{ChannelPrefix: "inc", InviteUsers: []string{"U1", "U2"}}
	trig := fullEvent(EventTriggered, "triggered", 0)
	ack := fullEvent(EventAcknowledged, "acknowledged", time.Minute)
	fresh := apply(trig)
	ready := fresh
	ready.ChannelID, ready.ChannelName, ready.RootTS, ready.RootVersion = "C1", "inc-42-db-down", "1.1", fresh.Version
	ready.Topic, ready.Invitees = Topic(fresh.Snapshot), []string{"U1", "U2"}
	ready.Bookmarks = []string{"https://pd/incidents/P1"}
	acked := ready
	var er EventRecord
	Record(&acked, &er, ack)
	// What an earlier attempt left pending: the channel under a
	// reference's name, then the root and a bookmark in the channel.
	creating := fresh
	creating.Ledger = []Entry{{Key: KeyChannel, Owner: "a0", Since: t0, Names: []string{"inc-p1"}}}
	posting := ready
	posting.RootTS, posting.Bookmarks = "", nil
	posting.Ledger = []Entry{{Key: KeyRoot, Owner: "a0"}, {Key: BookmarkKey("https://pd/incidents/P1"), Owner: "a0"}}
	announcing := acked
	announcing.Ledger = []Entry{{Key: BoardKey("CANN"), Owner: "a0"}}
	// What Slack's rate limits put off while the acknowledgement was
	// handled: the topic and the announce message.
	putOff := acked
	putOff.Ledger = []Entry{{Key: KeyTopic, PutOff: true, Event: ack.ID}, {Key: BoardKey("CANN"), PutOff: true, Event: ack.ID}}
	// Who the invites could not add, reported by the last round: the
	// note naming them, then the same with its post in flight.
	noting := ready
	noting.CannotInvite = []string{"Alan Turing (no Slack account)", "Grace Hopper (deactivated)"}
	notingLost := noting
	notingLost.Ledger = []Entry{{Key: KeyInviteNote, Owner: "a0"}}

	tests := []struct {
		name string
		st   State
		er   EventRecord
		ev   *Event
		want Plan
	}{
		{"new incident", fresh, EventRecord{Exists: true}, trig, Plan{
			CreateChannel: true, ChannelName: "inc-42-db-down", ChannelNames: dbDownNames, Topic: "Triggered · high · P2 · DB",
			Bookmarks: []Bookmark{{Title: "PagerDuty #42", Link: "https://pd/incidents/P1"}},
			Invite:    []string{"U1", "U2"}, PostRoot: true,
		}},
		{"triggered on a ready channel", ready, EventRecord{Exists: true}, trig, Plan{}},
		{"done event", acked, EventRecord{Exists: true, Done: true}, ack, Plan{}},
		{"status change", acked, EventRecord{Exists: true}, ack, Plan{
			Topic: "Acknowledged · high · P2 · DB", UpdateRoot: true,
			Reply: &Reply{Headline: "Acknowledged by Ada", At: ack.OccurredAt, EventID: ack.ID},
		}},
		{"reply already posted", acked, EventRecord{Exists: true, ReplyTS: "2.2"}, ack, Plan{
			Topic: "Acknowledged · high · P2 · DB", UpdateRoot: true,
		}},
		{"note on ready channel", ready, EventRecord{Exists: true}, noteEvent(time.Minute), Plan{
			Reply: &Reply{Headline: "Note from Ada", Body: "looking", At: t0.Add(time.Minute), EventID: noteEvent(time.Minute).ID},
		}},
		{"channel creation unsettled: adopt", creating, EventRecord{Exists: true}, trig, Plan{
			CreateChannel: true, ChannelName: "inc-42-db-down", ChannelNames: dbDownNames,
			Adopt: &creating.Ledger[0], AdoptNames: append([]string{"inc-p1", "inc-p1-2", "inc-p1-3", "inc-p1-4", "inc-p1-5"}, dbDownNames...),
			Topic:     "Triggered · high · P2 · DB",
			Bookmarks: []Bookmark{{Title: "PagerDuty #42", Link: "https://pd/incidents/P1"}},
			Invite:    []string{"U1", "U2"}, PostRoot: true,
		}},
		{"root and bookmark unsettled: look them up", posting, EventRecord{Exists: true}, trig, Plan{
			Bookmarks: []Bookmark{{Title: "PagerDuty #42", Link: "https://pd/incidents/P1"}}, FindBookmarks: true,
			PostRoot: true, FindRoot: true,
		}},
		{"reply unsettled: look it up", acked, EventRecord{Exists: true, Owner: "a0"}, ack, Plan{
			Topic: "Acknowledged · high · P2 · DB", UpdateRoot: true,
			Reply:     &Reply{Headline: "Acknowledged by Ada", At: ack.OccurredAt, EventID: ack.ID},
			FindReply: true,
		}},
		{"put off by this event: left to the next", putOff, EventRecord{Exists: true}, ack, Plan{
			UpdateRoot: true,
			Reply:      &Reply{Headline: "Acknowledged by Ada", At: ack.OccurredAt, EventID: ack.ID},
		}},
		{"put off by an earlier event: done now, without a look-up", putOff, EventRecord{Exists: true}, noteEvent(2 * time.Minute), Plan{
			Topic: "Acknowledged · high · P2 · DB", UpdateRoot: true, Boards: []Board{{ChannelID: "CANN"}},
			PutOffEarlier: map[string]string{KeyTopic: ack.ID, BoardKey("CANN"): ack.ID},
			Reply:         &Reply{Headline: "Note from Ada", Body: "looking", At: t0.Add(2 * time.Minute), EventID: noteEvent(2 * time.Minute).ID},
		}},
		{"invite note owed", noting, EventRecord{Exists: true, Done: false, ReplyTS: "2.2"}, trig, Plan{
			InviteNote: InviteNote("P1", noting.CannotInvite),
		}},
		{"invite note unsettled: look it up", notingLost, EventRecord{Exists: true, ReplyTS: "2.2"}, trig, Plan{
			InviteNote: InviteNote("P1", noting.CannotInvite), FindInviteNote: true,
		}},
		{"board unsettled: finished wherever the route points", announcing, EventRecord{Exists: true}, ack, Plan{
			Topic: "Acknowledged · high · P2 · DB", UpdateRoot: true,
			Boards: []Board{{ChannelID: "CANN"}}, FindBoards: []string{"CANN"},
			Reply: &Reply{Headline: "Acknowledged by Ada", At: ack.OccurredAt, EventID: ack.ID},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.st, tt.er, tt.ev, cfg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
			if got.Empty() != cmp.Equal(tt.want, Plan{}) {
				t.Errorf("Plan.Empty() = %v", got.Empty())
			}
		})
	}
}

func TestReplyFor(t *testing.T) {
	inc := Snapshot{CreatedAt: t0}
	withIncident := func(typ string, mod func(*Event)) *Event {
		ev := fullEvent(typ, "acknowledged", 95*time.Minute)
		mod(ev)
		return ev
	}
	tests := []struct {
		name string
		ev   *Event
		want *Reply
	}{
		{"triggered has no reply", fullEvent(EventTriggered, "triggered", 0), nil},
		{"acknowledged", withIncident(EventAcknowledged, func(*Event) {}), &Reply{Headline: "Acknowledged by Ada"}},
		{"unacknowledged", withIncident(EventUnacknowledged, func(*Event) {}), &Reply{Headline: "Unacknowledged: the incident is triggered again"}},
		{"resolved with duration, broadcast", withIncident(EventResolved, func(*Event) {}), &Reply{Headline: "Resolved by Ada after 1h 35m", Broadcast: true}},
		{"reopened", withIncident(EventReopened, func(*Event) {}), &Reply{Headline: "Reopened by Ada"}},
		{"escalated", withIncident(EventEscalated, func(ev *Event) {
			ev.Incident.Assignees = []Ref{{Summary: "Grace"}}
			ev.Incident.EscalationPolicy = Ref{Summary: "DB on-call"}
		}), &Reply{Headline: "Escalated to Grace (DB on-call)"}},
		{"reassigned", withIncident(EventReassigned, func(ev *Event) {
			ev.Incident.Assignees = []Ref{{Summary: "Grace"}, {Summary: "Alan"}}
		}), &Reply{Headline: "Reassigned to Grace, Alan by Ada"}},
		{"delegated", withIncident(EventDelegated, func(ev *Event) { ev.Incident.EscalationPolicy = Ref{Summary: "Payments"} }), &Reply{Headline: "Delegated to escalation policy Payments by Ada"}},
		{"priority", withIncident(EventPriorityUpdated, func(ev *Event) { ev.Incident.Priority = "P1" }), &Reply{Headline: "Priority changed to P1 by Ada"}},
		{"priority removed", withIncident(EventPriorityUpdated, func(ev *Event) { ev.Incident.Priority = "" }), &Reply{Headline: "Priority changed to — by Ada"}},
		{"responder added", withIncident(EventResponderAdded, func(ev *Event) {
			ev.Responder, ev.Message = Ref{Summary: "Kate"}, "help with DB"
		}), &Reply{Headline: "Ada requested Kate as a responder", Body: "help with DB"}},
		{"responder accepted", withIncident(EventResponderReplied, func(ev *Event) {
			ev.Responder, ev.ResponderState = Ref{Summary: "Kate"}, "accepted"
		}), &Reply{Headline: "Kate accepted the responder request"}},
		{"status update", withIncident(EventStatusUpdatePublished, func(ev *Event) { ev.Message = "Mitigated" }), &Reply{Headline: "Status update from Ada", Body: "Mitigated", Broadcast: true}},
		{"note without agent", withIncident(EventAnnotated, func(ev *Event) { ev.Agent, ev.Note = Ref{}, "hi" }), &Reply{Headline: "Note", Body: "hi"}},
		{"conference", withIncident(EventConferenceBridgeUpdated, func(ev *Event) {
			ev.Incident.ConferenceURL, ev.Incident.ConferenceNumber = "https://meet/x", "+1 555"
		}), &Reply{Headline: "Conference bridge updated", Body: "https://meet/x\n+1 555"}},
		{"service", withIncident(EventServiceUpdated, func(ev *Event) { ev.Incident.Service = Ref{Summary: "Payments"} }), &Reply{Headline: "Moved to service Payments by Ada"}},
		{"incident type", withIncident(EventIncidentTypeChanged, func(ev *Event) { ev.Incident.IncidentType = "Security" }), &Reply{Headline: "Incident type changed to Security by Ada"}},
		{"custom fields", withIncident(EventCustomFieldsUpdated, func(ev *Event) {
			ev.Fields = []FieldValue{{Name: "environment", Value: "staging"}, {Name: "region"}}
		}), &Reply{Headline: "Custom fields changed by Ada", Body: "environment: staging\nregion: —"}},
		{"workflow started", withIncident(EventWorkflowStarted, func(ev *Event) { ev.Workflow = Ref{Summary: "Major incident"} }),
			&Reply{Headline: "Workflow Major incident started by Ada"}},
		{"workflow completed", withIncident(EventWorkflowCompleted, func(ev *Event) { ev.Workflow = Ref{Summary: "Major incident"} }),
			&Reply{Headline: "Workflow Major incident completed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReplyFor(tt.ev, inc)
			if tt.want != nil {
				tt.want.At, tt.want.EventID = tt.ev.OccurredAt, tt.ev.ID
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReplyFor(%s) mismatch (-want +got):\n%s", tt.ev.Type, diff)
			}
		})
	}
}

func TestTopic(t *testing.T) {
	tests := []struct {
		inc  Snapshot
		want string
	}{
		{Snapshot{Status: "acknowledged", Urgency: "high", Priority: "P1", Service: Ref{Summary: "Checkout"}}, "Acknowledged · high · P1 · Checkout"},
		{Snapshot{Status: "triggered", Urgency: "low"}, "Triggered · low"},
		{Snapshot{}, ""},
	}
	for _, tt := range tests {
		if got := Topic(tt.inc); got != tt.want {
			t.Errorf("Topic(%+v) = %q, want %q", tt.inc, got, tt.want)
		}
	}
}

// TestRecordDuplicateDoesNotRollBack: a redelivered event with the same
// occurred_at as a later one must not undo the later one.
func TestRecordDuplicateDoesNotRollBack(t *testing.T) {
	var st State
	ack := fullEvent(EventAcknowledged, "acknowledged", time.Minute)
	prio := fullEvent(EventPriorityUpdated, "acknowledged", time.Minute) // same occurred_at
	prio.ID = "prio"
	prio.Incident.Priority = "P1"
	var erAck, erPrio EventRecord
	Record(&st, &erAck, ack)
	Record(&st, &erPrio, prio)
	version := st.Version
	if ch := Record(&st, &erAck, ack); ch != 0 || st.Snapshot.Priority != "P1" || st.Version != version {
		t.Errorf("redelivered ack: change %b, priority %q, version %d; want no change, P1, %d", ch, st.Snapshot.Priority, st.Version, version)
	}
}

// TestMergeConferenceBridgeMovesForwardOnly: a conference_bridge.updated
// event does not move UpdatedAt, yet an older full payload (with the old
// bridge) arriving after it must not undo it.
func TestMergeConferenceBridgeMovesForwardOnly(t *testing.T) {
	trig := fullEvent(EventTriggered, "triggered", 0)
	trig.Incident.ConferenceURL = "https://meet/old"
	bridge := &Event{ID: "bridge", Type: EventConferenceBridgeUpdated, OccurredAt: t0.Add(10 * time.Minute), IncidentID: trig.IncidentID,
		Incident: Snapshot{ID: trig.IncidentID, ConferenceURL: "https://meet/new"}}
	ack := fullEvent(EventAcknowledged, "acknowledged", 5*time.Minute) // older than the bridge update
	ack.ID = "ack"
	ack.Incident.ConferenceURL = "https://meet/old"
	later := fullEvent(EventResolved, "resolved", 20*time.Minute)
	later.ID = "res"
	later.Incident.ConferenceURL = "https://meet/newest"

	st := apply(trig, bridge, ack)
	if got := st.Snapshot; got.ConferenceURL != "https://meet/new" || got.Status != "acknowledged" {
		t.Errorf("after bridge update then an older full payload: bridge %q status %q, want https://meet/new and acknowledged", got.ConferenceURL, got.Status)
	}
	st = apply(trig, bridge, ack, later)
	if got := st.Snapshot.ConferenceURL; got != "https://meet/newest" {
		t.Errorf("a newer full payload's bridge = %q, want https://meet/newest", got)
	}
}

type routeByPriority map[string]Route

func (r routeByPriority) Route(inc Snapshot) Route { return r[inc.Priority] }

func TestDecideRoutes(t *testing.T) {
	cfg := Config{ChannelPrefix: "inc", Router: routeByPriority{
		"P1": {Rule: "p1", Channel: true, Prefix: "sev", Private: true, InviteUsers: []string{"U1"}, InviteGroups: []string{"@sre"}, Announce: "CANN"},
		"P2": {Rule: "p2", PostChannel: "CLOW"},
		"P3": {Rule: "p3"},
	}}
	trig := fullEvent(EventTriggered, "triggered", 0) // P2
	ack := fullEvent(EventAcknowledged, "acknowledged", time.Minute)
	posted := apply(trig)
	posted.Boards = []Board{{ChannelID: "CLOW", TS: "3.1", Version: posted.Version, Thread: true}}
	acked := posted
	var er EventRecord
	Record(&acked, &er, ack)
	// A channel opened under P1 stays the incident's when the priority
	// drops back to one without a channel.
	open := acked
	open.ChannelID, open.RootTS, open.RootVersion, open.Topic, open.Invitees = "C1", "1.1", acked.Version, Topic(acked.Snapshot), []string{"U1", "@sre"}
	open.Bookmarks = []string{"https://pd/incidents/P1"}
	open.Boards = append(open.Boards, Board{ChannelID: "CANN", TS: "4.1", Version: acked.Version, HasChannel: true})
	open.Boards[0].Version, open.Boards[0].HasChannel = acked.Version, true

	p1 := func(st State) State { st.Snapshot.Priority = "P1"; return st }
	p3 := func(st State) State { st.Snapshot.Priority = "P3"; return st }
	ackReply := &Reply{Headline: "Acknowledged by Ada", At: ack.OccurredAt, EventID: ack.ID}
	tests := []struct {
		name string
		st   State
		ev   *Event
		want Plan
	}{
		{"post-only: message in the shared channel", apply(trig), trig, Plan{
			Boards: []Board{{ChannelID: "CLOW", Thread: true}},
		}},
		{"post-only: reply under the message, message edited", acked, ack, Plan{
			Boards: []Board{{ChannelID: "CLOW", TS: "3.1", Version: posted.Version, Thread: true}},
			Reply:  ackReply,
		}},
		{"ignored: nothing at all", p3(apply(trig)), trig, Plan{}},
		{"raised to P1: private channel, invitees, announce", p1(acked), ack, Plan{
			CreateChannel: true, ChannelName: "sev-42-db-down", Private: true,
			ChannelNames: []string{"sev-42-db-down", "sev-42-db-down-2", "sev-42-db-down-3", "sev-42-db-down-4", "sev-42-db-down-5", "sev-42-p1"},
			Topic:        "Acknowledged · high · P1 · DB",
			Bookmarks:    []Bookmark{{Title: "PagerDuty #42", Link: "https://pd/incidents/P1"}},
			Invite:       []string{"U1"}, InviteGroups: []string{"@sre"}, PostRoot: true,
			Boards: []Board{
				{ChannelID: "CLOW", TS: "3.1", Version: posted.Version, Thread: true},
				{ChannelID: "CANN"},
			},
			Reply: ackReply,
		}},
		{"channel stays after the route drops it", p3(open), ack, Plan{
			Topic: "Acknowledged · high · P3 · DB", Reply: ackReply,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.st, EventRecord{Exists: true}, tt.ev, cfg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordPeopleAndHistory(t *testing.T) {
	var st State
	var er EventRecord
	trig := fullEvent(EventTriggered, "triggered", 0)
	trig.Incident.Assignees = []Ref{{ID: "PADA", Type: "user_reference", Summary: "Ada"}, {ID: "PTEAM", Type: "team_reference"}}
	Record(&st, &er, trig)
	ack := fullEvent(EventAcknowledged, "acknowledged", time.Minute)
	ack.Agent = Ref{ID: "PBOB", Type: "user_reference", Summary: "Bob"}
	er = EventRecord{}
	Record(&st, &er, ack)
	var ids []string
	for _, p := range st.People {
		ids = append(ids, p.ID)
	}
	if want := []string{"PADA", "PBOB"}; !cmp.Equal(ids, want) {
		t.Errorf("People = %q, want %q (assignee, then who acknowledged)", ids, want)
	}
	if len(st.History) != 2 || st.History[0].Text != "Triggered (high urgency)" || st.History[1].Text != "Acknowledged by Bob" {
		t.Errorf("History = %+v", st.History)
	}
	// Once the incident has a channel, nothing more is kept.
	st.ChannelID = "C1"
	er = EventRecord{}
	Record(&st, &er, noteEvent(2*time.Minute))
	if len(st.History) != 2 {
		t.Errorf("History grew to %d after the channel opened", len(st.History))
	}
}

func TestDecideArchive(t *testing.T) {
	cfg := Config{ChannelPrefix: "inc", ArchiveAfter: 24 * time.Hour}
	trig := fullEvent(EventTriggered, "triggered", 0)
	res := fullEvent(EventResolved, "resolved", time.Hour)
	resolved := apply(trig, res)
	resolved.ChannelID, resolved.ChannelName, resolved.RootTS, resolved.RootVersion = "C1", "inc-42-db-down", "1.1", resolved.Version
	resolved.Topic, resolved.Bookmarks = Topic(resolved.Snapshot), []string{"https://pd/incidents/P1"}
	sweepAt := func(after time.Duration) *Event {
		return &Event{ID: "sweep", Type: EventSweep, OccurredAt: t0.Add(time.Hour + after), IncidentID: "P1"}
	}
	archived := resolved
	archived.ChannelArchived = true
	tests := []struct {
		name string
		st   State
		ev   *Event
		cfg  Config
		want bool
	}{
		{"due", resolved, sweepAt(24 * time.Hour), cfg, true},
		{"a minute early", resolved, sweepAt(24*time.Hour - time.Minute), cfg, false},
		{"never archived without ARCHIVE_AFTER", resolved, sweepAt(48 * time.Hour), Config{ChannelPrefix: "inc"}, false},
		{"archived already", archived, sweepAt(48 * time.Hour), cfg, false},
		{"not resolved", apply(trig), sweepAt(48 * time.Hour), cfg, false},
		{"only the sweep archives", resolved, fullEvent(EventResolved, "resolved", 49*time.Hour), cfg, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.st, EventRecord{}, tt.ev, tt.cfg)
			if got := got.ArchiveNotice != nil; got != tt.want {
				t.Errorf("Decide(%s) archives = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// nopPagerDuty stands for a configured back-link writer in pure tests.
type nopPagerDuty struct{}

func (nopPagerDuty) AddNote(context.Context, string, string) error         { return nil }
func (nopPagerDuty) HasNote(context.Context, string, string) (bool, error) { return false, nil }

// TestDecideBacklink: with a back-link writer, a channel being opened or
// open without its note plans the note, once per channel; a pending one
// is looked up; one put off by this event waits for the next.
func TestDecideBacklink(t *testing.T) {
	cfg := Config{ChannelPrefix: "inc", PagerDuty: nopPagerDuty{}}
	trig := fullEvent(EventTriggered, "triggered", 0)
	note := noteEvent(time.Minute)
	fresh := apply(trig)
	ready := fresh
	ready.ChannelID, ready.ChannelName, ready.RootTS, ready.RootVersion = "C1", "inc-42-db-down", "1.1", fresh.Version
	ready.Topic, ready.Bookmarks = Topic(fresh.Snapshot), []string{"https://pd/incidents/P1"}
	linked := ready
	linked.Backlinked = "C1"
	pending := ready
	pending.Ledger = []Entry{{Key: KeyBacklink, Owner: "a0"}}
	putOff := ready
	putOff.Ledger = []Entry{{Key: KeyBacklink, PutOff: true, Event: note.ID}}
	tests := []struct {
		name               string
		st                 State
		ev                 *Event
		wantLink, wantFind bool
	}{
		{"channel being opened", fresh, trig, true, false},
		{"open channel without its note", ready, note, true, false},
		{"note written", linked, note, false, false},
		{"note pending: looked up", pending, note, true, true},
		{"put off by this event", putOff, note, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(tt.st, EventRecord{Exists: true}, tt.ev, cfg)
			if p.Backlink != tt.wantLink || p.FindBacklink != tt.wantFind {
				t.Errorf("Backlink, FindBacklink = %v, %v; want %v, %v", p.Backlink, p.FindBacklink, tt.wantLink, tt.wantFind)
			}
			if hasKey := slices.Contains(p.Posts(), KeyBacklink); hasKey != tt.wantLink {
				t.Errorf("Posts() %v holds the back-link: %v, want %v", p.Posts(), hasKey, tt.wantLink)
			}
		})
	}
	if p := Decide(ready, EventRecord{Exists: true}, note, Config{ChannelPrefix: "inc"}); p.Backlink {
		t.Errorf("without a back-link writer the plan has one")
	}
}

// TestDecideMerge: a merged incident's plan names the survivor's thread
// for the note and links the survivor's channel from the reply, from what
// the service read of it; without a thread (or unread) no note is
// planned and the reply links the survivor's PagerDuty page.
func TestDecideMerge(t *testing.T) {
	trig := fullEvent(EventTriggered, "triggered", 0)
	merged := func(sv *Survivor) *Event {
		ev := fullEvent(EventResolved, "resolved", time.Hour)
		ev.Incident.MergedInto = Ref{ID: "P9", Summary: "Checkout down", HTMLURL: "https://pd/incidents/P9"}
		ev.Survivor = sv
		return ev
	}
	ready := apply(trig, merged(nil))
	ready.ChannelID, ready.ChannelName, ready.RootTS, ready.RootVersion = "C1", "inc-42-db-down", "1.1", ready.Version
	lost := ready
	lost.Ledger = []Entry{{Key: KeyMergeNote, Owner: "a0"}}
	open := &Survivor{ID: "P9", ChannelID: "C9", RootTS: "9.9"}
	tests := []struct {
		name        string
		st          State
		ev          *Event
		wantNote    bool
		wantFind    bool
		wantChannel string
	}{
		{"survivor with a thread", ready, merged(open), true, false, "C9"},
		{"note's answer lost: looked up", lost, merged(open), true, true, "C9"},
		{"survivor not read", ready, merged(nil), false, false, ""},
		{"survivor without a channel", ready, merged(&Survivor{ID: "P9"}), false, false, ""},
		{"survivor's channel archived", ready, merged(&Survivor{ID: "P9", ChannelID: "C9", RootTS: "9.9", ChannelArchived: true}), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(tt.st, EventRecord{Exists: true}, tt.ev, Config{ChannelPrefix: "inc"})
			if got := p.MergedIn != nil; got != tt.wantNote || p.FindMergeNote != tt.wantFind {
				t.Errorf("Decide(%s) note = %v, find %v; want %v, %v", tt.name, got, p.FindMergeNote, tt.wantNote, tt.wantFind)
			}
			if tt.wantNote && p.Survivor != *open {
				t.Errorf("Decide(%s) survivor = %+v, want %+v", tt.name, p.Survivor, *open)
			}
			if p.Reply == nil || p.Reply.Channel != tt.wantChannel {
				t.Errorf("Decide(%s) reply = %+v, want one linking channel %q", tt.name, p.Reply, tt.wantChannel)
			}
			if keys := p.Posts(); slices.Contains(keys, KeyMergeNote) != tt.wantNote {
				t.Errorf("Decide(%s) keys %v: want the merge note's key %v", tt.name, keys, tt.wantNote)
			}
		})
	}
}
