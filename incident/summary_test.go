package incident

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestResolutionSummary(t *testing.T) {
	trig := fullEvent(EventTriggered, "triggered", 0)
	ack := fullEvent(EventAcknowledged, "acknowledged", 3*time.Minute)
	ack.Agent = Ref{ID: "PADA", Type: "user_reference", Summary: "Ada"}
	esc := fullEvent(EventEscalated, "acknowledged", 10*time.Minute)
	esc.Incident.Assignees = []Ref{{ID: "PGRACE", Type: "user_reference", Summary: "Grace"}}
	res := fullEvent(EventResolved, "resolved", 125*time.Minute)
	tests := []struct {
		name   string
		events []*Event
		want   []string
		absent []string
	}{
		{
			name:   "a short incident",
			events: []*Event{trig, ack, esc, noteEvent(20 * time.Minute), res},
			want: []string{
				"Lasted 2h 5m · first acknowledged after 3m by Ada · 1 escalation · 1 note",
				"Involved: Ada, Grace",
				"• Nov 23 03:00 UTC · Triggered (high urgency)",
				"• Nov 23 03:03 UTC · Acknowledged by Ada",
				"• Nov 23 03:20 UTC · Note from Ada: looking",
				"• Nov 23 05:05 UTC · Resolved by Ada after 2h 5m",
			},
			absent: []string{"more event"},
		},
		{
			name:   "never acknowledged",
			events: []*Event{trig, res},
			want:   []string{"Lasted 2h 5m · never acknowledged", "Timeline:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolutionSummary(apply(tt.events...), res)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("ResolutionSummary() = %q, want it to contain %q", got, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("ResolutionSummary() = %q, want no %q", got, a)
				}
			}
		})
	}
}

// A 1,000-event incident's summary counts every event but keeps the
// timeline to its start and its newest lines, within one Slack section,
// and the incident document does not grow with it.
func TestResolutionSummaryOfALongIncident(t *testing.T) {
	evs := []*Event{fullEvent(EventTriggered, "triggered", 0)}
	for i := range 1000 {
		at := time.Duration(i+1) * time.Minute
		var ev *Event
		switch i % 4 {
		case 0:
			ev = fullEvent(EventEscalated, "triggered", at)
		case 1:
			ev = fullEvent(EventReassigned, "triggered", at)
		case 2:
			ev = noteEvent(at)
			ev.Note = strings.Repeat("a very long note ", 40)
		default:
			ev = fullEvent(EventAcknowledged, "acknowledged", at)
		}
		ev.ID = fmt.Sprintf("E%04d", i)
		evs = append(evs, ev)
	}
	res := fullEvent(EventResolved, "resolved", 1001*time.Minute)
	st := apply(append(evs, res)...)
	got := ResolutionSummary(st, res)
	for _, w := range []string{"first acknowledged after 4m by Ada", "250 escalations", "250 reassignments", "250 notes",
		"• Nov 23 03:00 UTC · Triggered", "… 972 more events …", "Resolved by Ada after 16h 41m"} {
		if !strings.Contains(got, w) {
			t.Errorf("summary lacks %q:\n%s", w, got)
		}
	}
	if n := utf8.RuneCountInString(got); n > 2800 {
		t.Errorf("summary is %d characters, want it within one Slack section (2,800)", n)
	}
	if len(st.Timeline) != maxTimeline {
		t.Errorf("timeline keeps %d lines, want %d", len(st.Timeline), maxTimeline)
	}
}

func TestResolutionSummaryListsFollowUps(t *testing.T) {
	trig := fullEvent(EventTriggered, "triggered", 0)
	res := fullEvent(EventResolved, "resolved", time.Hour)
	st := apply(trig)
	if got := ResolutionSummary(st, res); strings.Contains(got, "Follow-ups") {
		t.Errorf("ResolutionSummary() without follow-ups = %q, want no Follow-ups", got)
	}
	st.FollowUps = []string{"Alert on pool size", strings.Repeat("x", 200)}
	got := ResolutionSummary(st, res)
	if !strings.HasSuffix(got, "\nFollow-ups:\n• Alert on pool size\n• "+strings.Repeat("x", maxTimelineText-1)+"…") {
		t.Errorf("ResolutionSummary() = %q, want the follow-ups last, each cut to a line", got)
	}
}
