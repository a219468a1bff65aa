package slackops

import (
	"context"

	"github.com/incident-channels/incident-channels/incident"
)

// Responder does what responders ask from Slack: incident.Responder.
type Responder interface {
	Do(ctx context.Context, req incident.Request) incident.Answer
}

// ResponderActions returns the Actions that hand r the responders'
// requests: the root message's buttons, the note form, the message
// shortcut and /inc.
func ResponderActions(r Responder) Actions { return responderActions{r} }

type responderActions struct{ r Responder }

// buttonKinds are the root message's responder buttons by action id.
var buttonKinds = map[string]incident.RequestKind{
	string(incident.ActionAcknowledge): incident.RequestAcknowledge,
	string(incident.ActionResolve):     incident.RequestResolve,
	string(incident.ActionEscalate):    incident.RequestEscalate,
	string(incident.ActionNote):        incident.RequestNoteForm,
	string(incident.ActionUpdate):      incident.RequestUpdateForm,
	string(incident.ActionLead):        incident.RequestLead,
}

// Interact implements Actions: a button on the root message, a note form
// submitted, or a message shortcut. Anything else (the link buttons,
// which Slack reports too) gets no answer.
func (a responderActions) Interact(ctx context.Context, in Interaction) Answer {
	req := incident.Request{UserID: in.UserID, ChannelID: in.ChannelID, TriggerID: in.TriggerID}
	switch {
	case in.Type == TypeBlockActions && buttonKinds[in.Action.ID] != "":
		req.Kind, req.IncidentID = buttonKinds[in.Action.ID], in.Action.Value
	case in.Type == TypeBlockActions && incident.Snoozes[incident.Action(in.Action.ID)] > 0:
		req.Kind, req.IncidentID, req.Snooze = incident.RequestSnooze, in.Action.Value, incident.Snoozes[incident.Action(in.Action.ID)]
	case in.Type == TypeViewSubmission && in.View.CallbackID == NoteCallbackID:
		req.Kind, req.FromForm, req.Note = incident.RequestNote, true, in.View.Values[NoteBlockID]
		req.IncidentID, req.ChannelID = ModalIncident(in.View.PrivateMetadata)
	case in.Type == TypeViewSubmission && in.View.CallbackID == UpdateCallbackID:
		req.Kind, req.FromForm, req.Note = incident.RequestUpdate, true, in.View.Values[UpdateBlockID]
		req.IncidentID, req.ChannelID = ModalIncident(in.View.PrivateMetadata)
	case in.Type == TypeMessageAction && in.CallbackID == TimelineCallbackID:
		req.Kind = incident.RequestTimeline
		req.Message = incident.Message{Text: in.Message.Text, UserID: in.Message.User, TS: in.Message.TS}
	case in.Type == TypeMessageAction && in.CallbackID == FollowUpCallbackID:
		req.Kind, req.Note = incident.RequestFollowUp, in.Message.Text
	default:
		return Answer{}
	}
	return answer(a.r.Do(ctx, req), formBlock(req.Kind))
}

// Command implements Actions: /inc.
func (a responderActions) Command(ctx context.Context, cmd Command) Answer {
	req := incident.ParseCommand(cmd.Text)
	req.UserID, req.ChannelID, req.TriggerID = cmd.UserID, cmd.ChannelID, cmd.TriggerID
	return answer(a.r.Do(ctx, req), "")
}

// formBlock is the field of the form a request of kind was submitted in.
func formBlock(kind incident.RequestKind) string {
	if kind == incident.RequestUpdate {
		return UpdateBlockID
	}
	return NoteBlockID
}

// answer is what Slack shows of a responder's answer: a failure of a
// text submitted in a form in the form's field, block.
func answer(a incident.Answer, block string) Answer {
	if a.FormError != "" {
		return Answer{Text: a.Text, ViewErrors: map[string]string{block: a.FormError}}
	}
	return Answer{Text: a.Text}
}
