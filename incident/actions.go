package incident

// Action is something a responder does to an incident from Slack: a
// button on the root message, or /inc. Its value is the button's
// action_id, the contract between the rendered root and the handler of
// Slack's interactions.
type Action string

// The actions, in the order the root message shows them.
const (
	ActionAcknowledge Action = "incident_acknowledge"
	ActionResolve     Action = "incident_resolve"
	ActionEscalate    Action = "incident_escalate"
	ActionNote        Action = "incident_note"
	ActionUpdate      Action = "incident_update"
)

// Actions returns what a responder may do to inc, so the buttons always
// match its status: acknowledge only while triggered, resolve and
// escalate until resolved, a note always. None for an incident known
// only from a reference (its status is unknown).
func Actions(inc Snapshot) []Action {
	if !inc.Complete {
		return nil
	}
	switch inc.Status {
	case StatusTriggered:
		return []Action{ActionAcknowledge, ActionResolve, ActionEscalate, ActionNote, ActionUpdate, ActionLead}
	case StatusAcknowledged:
		return []Action{ActionResolve, ActionEscalate, ActionNote, ActionUpdate, ActionLead}
	default:
		return []Action{ActionNote}
	}
}
