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
}

// Interact implements Actions: a button on the root message, a note form
// submitted, or a message shortcut. Anything else (the link buttons,
// which Slack reports too) gets no answer.
func (a responderActions) Interact(ctx context.Context, in Interaction) Answer {
	req := incident.Request{UserID: in.UserID, ChannelID: in.ChannelID, TriggerID: in.TriggerID}
	switch {
	case in.Type == TypeBlockActions && buttonKinds[in.Action.ID] != "":
		req.Kind, req.IncidentID = buttonKinds[in.Action.ID], in.Action.Value
	case in.Type == TypeViewSubmission && in.View.CallbackID == NoteCallbackID:
		req.Kind, req.FromForm, req.Note = incident.RequestNote, true, in.View.Values[NoteBlockID]
		req.IncidentID, req.ChannelID = ModalIncident(in.View.PrivateMetadata)
	case in.Type == TypeMessageAction && in.CallbackID == TimelineCallbackID:
		req.Kind = incident.RequestTimeline
		req.Message = incident.Message{Text: in.Message.Text, UserID: in.Message.User, TS: in.Message.TS}
	case in.Type == TypeMessageAction && in.CallbackID == FollowUpCallbackID:
		req.Kind, req.Note = incident.RequestFollowUp, in.Message.Text
	default:
		return Answer{}
	}
	return answer(a.r.Do(ctx, req))
}

// Command implements Actions: /inc.
func (a responderActions) Command(ctx context.Context, cmd Command) Answer {
	req := incident.ParseCommand(cmd.Text)
	req.UserID, req.ChannelID, req.TriggerID = cmd.UserID, cmd.ChannelID, cmd.TriggerID
	return answer(a.r.Do(ctx, req))
}

// answer is what Slack shows of a responder's answer: a failure of a note
// submitted in the note form in the form's note field.
func answer(a incident.Answer) Answer {
	if a.FormError != "" {
		return Answer{Text: a.Text, ViewErrors: map[string]string{NoteBlockID: a.FormError}}
	}
	return Answer{Text: a.Text}
}
