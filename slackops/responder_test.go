package slackops_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/slackops"
)

// TestOpenNoteForm: the note form is the note modal, opened with the
// click's trigger; its submission names the incident and channel it was
// opened for.
func TestOpenNoteForm(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t)
	if err := c.OpenNoteForm(ctx(t), "1.2.abc", "Q1", "C42"); err != nil {
		t.Fatalf("OpenNoteForm = %v, want nil", err)
	}
	views := fake.Views()
	if len(views) != 1 || views[0].TriggerID != "1.2.abc" {
		t.Fatalf("fake's views = %+v, want one opened with trigger 1.2.abc", views)
	}
	var v struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	if err := json.Unmarshal(views[0].JSON, &v); err != nil {
		t.Fatal(err)
	}
	if v.CallbackID != slackops.NoteCallbackID {
		t.Errorf("callback_id = %q, want %q", v.CallbackID, slackops.NoteCallbackID)
	}
	if id, ch := slackops.ModalIncident(v.PrivateMetadata); id != "Q1" || ch != "C42" {
		t.Errorf("modal names %s in %s, want Q1 in C42", id, ch)
	}
}

// fakeResponder records the requests it is asked and answers with answer.
type fakeResponder struct {
	got    []incident.Request
	answer incident.Answer
}

func (f *fakeResponder) Do(_ context.Context, req incident.Request) incident.Answer {
	f.got = append(f.got, req)
	return f.answer
}

// TestResponderActions: the root's buttons, the note modal, the message
// shortcut and /inc become the requests they ask; other interactions ask
// nothing.
func TestResponderActions(t *testing.T) {
	t.Parallel()
	who := slackops.Interaction{TeamID: "T1", UserID: "UADA", ChannelID: "C42", TriggerID: "1.2.abc"}
	with := func(f func(*slackops.Interaction)) slackops.Interaction { in := who; f(&in); return in }
	tests := []struct {
		name string
		in   slackops.Interaction
		want []incident.Request
	}{
		{"acknowledge button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: string(incident.ActionAcknowledge), Value: "Q1"}
		}), []incident.Request{{Kind: incident.RequestAcknowledge, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc"}}},
		{"add note button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: string(incident.ActionNote), Value: "Q1"}
		}), []incident.Request{{Kind: incident.RequestNoteForm, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc"}}},
		{"note modal submitted", with(func(in *slackops.Interaction) {
			in.Type, in.ChannelID = slackops.TypeViewSubmission, ""
			in.View = slackops.View{CallbackID: slackops.NoteCallbackID, PrivateMetadata: slackops.NoteModal("Q1", "C42").PrivateMetadata,
				Values: map[string]string{slackops.NoteBlockID: "db-1 restarted"}}
		}), []incident.Request{{Kind: incident.RequestNote, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc", Note: "db-1 restarted", FromForm: true}}},
		{"message shortcut", with(func(in *slackops.Interaction) {
			in.Type, in.CallbackID = slackops.TypeMessageAction, slackops.TimelineCallbackID
			in.Message = slackops.Message{TS: "1.5", User: "UBOB", Text: "failover done"}
		}), []incident.Request{{Kind: incident.RequestTimeline, ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc",
			Message: incident.Message{Text: "failover done", UserID: "UBOB", TS: "1.5"}}}},
		{"post update button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: string(incident.ActionUpdate), Value: "Q1"}
		}), []incident.Request{{Kind: incident.RequestUpdateForm, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc"}}},
		{"update modal submitted", with(func(in *slackops.Interaction) {
			in.Type, in.ChannelID = slackops.TypeViewSubmission, ""
			in.View = slackops.View{CallbackID: slackops.UpdateCallbackID, PrivateMetadata: slackops.UpdateModal("Q1", "C42").PrivateMetadata,
				Values: map[string]string{slackops.UpdateBlockID: "rolled back"}}
		}), []incident.Request{{Kind: incident.RequestUpdate, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc", Note: "rolled back", FromForm: true}}},
		{"I'll lead button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: string(incident.ActionLead), Value: "Q1"}
		}), []incident.Request{{Kind: incident.RequestLead, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc"}}},
		{"snooze button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: string(incident.ActionSnooze30m), Value: "Q1"}
		}), []incident.Request{{Kind: incident.RequestSnooze, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc", Snooze: 30 * time.Minute}}},
		{"follow-up shortcut", with(func(in *slackops.Interaction) {
			in.Type, in.CallbackID = slackops.TypeMessageAction, slackops.FollowUpCallbackID
			in.Message = slackops.Message{TS: "1.6", User: "UBOB", Text: "alert on pool size"}
		}), []incident.Request{{Kind: incident.RequestFollowUp, ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc", Note: "alert on pool size"}}},
		{"link button", with(func(in *slackops.Interaction) {
			in.Type, in.Action = slackops.TypeBlockActions, slackops.BlockAction{ID: "open_in_pagerduty"}
		}), nil},
		{"another modal", with(func(in *slackops.Interaction) {
			in.Type, in.View = slackops.TypeViewSubmission, slackops.View{CallbackID: "other"}
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResponder{answer: incident.Answer{Text: "done"}}
			slackops.ResponderActions(r).Interact(context.Background(), tt.in)
			if diff := cmp.Diff(tt.want, r.got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}

	r := &fakeResponder{answer: incident.Answer{Text: "done"}}
	ans := slackops.ResponderActions(r).Command(context.Background(), slackops.Command{
		TeamID: "T1", UserID: "UADA", ChannelID: "C42", Command: "/inc", Text: "note db-1 is back", TriggerID: "1.2.abc"})
	want := []incident.Request{{Kind: incident.RequestNote, Note: "db-1 is back", ChannelID: "C42", UserID: "UADA", TriggerID: "1.2.abc"}}
	if diff := cmp.Diff(want, r.got); diff != "" || ans.Text != "done" {
		t.Errorf("/inc note: answer %q, requests (-want +got):\n%s", ans.Text, diff)
	}
}

// TestUpdateFormError: a status update submitted in its modal that
// failed is shown in the modal's update field.
func TestUpdateFormError(t *testing.T) {
	t.Parallel()
	submit := slackops.Interaction{Type: slackops.TypeViewSubmission, TeamID: "T1", UserID: "UANN",
		View: slackops.View{CallbackID: slackops.UpdateCallbackID, PrivateMetadata: "Q1 C42", Values: map[string]string{slackops.UpdateBlockID: "hi"}}}
	r := &fakeResponder{answer: incident.Answer{FormError: "no PagerDuty user"}}
	got := slackops.ResponderActions(r).Interact(context.Background(), submit)
	if want := (slackops.Answer{ViewErrors: map[string]string{slackops.UpdateBlockID: "no PagerDuty user"}}); !cmp.Equal(got, want) {
		t.Errorf("answer = %+v, want %+v", got, want)
	}
}

// TestResponderFormError: a note submitted in the modal that failed is
// shown in the modal's note field; other answers are text.
func TestResponderFormError(t *testing.T) {
	t.Parallel()
	submit := slackops.Interaction{Type: slackops.TypeViewSubmission, TeamID: "T1", UserID: "UANN",
		View: slackops.View{CallbackID: slackops.NoteCallbackID, PrivateMetadata: "Q1 C42", Values: map[string]string{slackops.NoteBlockID: "hi"}}}
	r := &fakeResponder{answer: incident.Answer{FormError: "no PagerDuty user"}}
	got := slackops.ResponderActions(r).Interact(context.Background(), submit)
	if want := (slackops.Answer{ViewErrors: map[string]string{slackops.NoteBlockID: "no PagerDuty user"}}); !cmp.Equal(got, want) {
		t.Errorf("answer = %+v, want %+v", got, want)
	}
	r.answer = incident.Answer{Text: "✓ Added your note"}
	if got := slackops.ResponderActions(r).Interact(context.Background(), submit); got.Text != "✓ Added your note" || got.ViewErrors != nil {
		t.Errorf("answer = %+v, want the text alone", got)
	}
}
