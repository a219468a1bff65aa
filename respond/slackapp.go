package respond

import (
	"context"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/slackops"
)

var _ slackops.Actions = (*Responder)(nil)

// buttonKinds are the root message's responder buttons by action id.
var buttonKinds = map[string]Kind{
	string(incident.ActionAcknowledge): Acknowledge,
	string(incident.ActionResolve):     Resolve,
	string(incident.ActionEscalate):    Escalate,
	string(incident.ActionNote):        NoteForm,
}

// Interact implements slackops.Actions: a button on the root message, a
// note modal submitted, or the message shortcut. Anything else (the link
// buttons, which Slack reports too) gets no answer.
func (r *Responder) Interact(ctx context.Context, in slackops.Interaction) slackops.Answer {
	req := Request{UserID: in.UserID, ChannelID: in.ChannelID, TriggerID: in.TriggerID}
	switch {
	case in.Type == slackops.TypeBlockActions && buttonKinds[in.Action.ID] != "":
		req.Kind, req.IncidentID = buttonKinds[in.Action.ID], in.Action.Value
	case in.Type == slackops.TypeViewSubmission && in.View.CallbackID == NoteCallbackID:
		req.Kind, req.FromModal, req.Note = Note, true, in.View.Values[NoteBlockID]
		req.IncidentID, req.ChannelID = ModalIncident(in.View.PrivateMetadata)
	case in.Type == slackops.TypeMessageAction && in.CallbackID == TimelineCallbackID:
		req.Kind = Timeline
		req.Message = Message{Text: in.Message.Text, UserID: in.Message.User, TS: in.Message.TS}
	default:
		return slackops.Answer{}
	}
	a := r.Do(ctx, req)
	return slackops.Answer{Text: a.Text, ViewErrors: a.ViewErrors}
}

// Command implements slackops.Actions: /inc.
func (r *Responder) Command(ctx context.Context, cmd slackops.Command) slackops.Answer {
	req := ParseCommand(cmd.Text)
	req.UserID, req.ChannelID, req.TriggerID = cmd.UserID, cmd.ChannelID, cmd.TriggerID
	a := r.Do(ctx, req)
	return slackops.Answer{Text: a.Text, ViewErrors: a.ViewErrors}
}
