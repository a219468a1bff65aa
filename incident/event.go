package incident

import "time"

// Event types of PagerDuty V3 webhooks that the service acts on.
const (
	EventTriggered               = "incident.triggered"
	EventAcknowledged            = "incident.acknowledged"
	EventUnacknowledged          = "incident.unacknowledged"
	EventResolved                = "incident.resolved"
	EventReopened                = "incident.reopened"
	EventEscalated               = "incident.escalated"
	EventReassigned              = "incident.reassigned"
	EventDelegated               = "incident.delegated"
	EventPriorityUpdated         = "incident.priority_updated"
	EventAnnotated               = "incident.annotated"
	EventResponderAdded          = "incident.responder.added"
	EventResponderReplied        = "incident.responder.replied"
	EventStatusUpdatePublished   = "incident.status_update_published"
	EventConferenceBridgeUpdated = "incident.conference_bridge.updated"
	EventServiceUpdated          = "incident.service_updated"
	EventIncidentTypeChanged     = "incident.incident_type.changed"
	EventCustomFieldsUpdated     = "incident.custom_field_values.updated"
	EventWorkflowStarted         = "incident.workflow.started"
	EventWorkflowCompleted       = "incident.workflow.completed"
	// EventRoleAssigned gives incident roles (an Incident Commander, say)
	// in PagerDuty, which has no REST API for them (Event.Roles).
	EventRoleAssigned = "incident.role.assigned"
	// EventPing is the test event PagerDuty sends when a subscription is
	// created or tested; it must get a 2xx.
	EventPing = "pagey.ping"
	// EventSweep is the function's own event, never PagerDuty's: the
	// sweep's look at an incident at OccurredAt, to archive its channel
	// when due.
	EventSweep = "incident-channels.sweep"
)

// handled lists the event types that change an incident's channel.
var handled = map[string]bool{
	EventTriggered: true, EventAcknowledged: true, EventUnacknowledged: true,
	EventResolved: true, EventReopened: true, EventEscalated: true,
	EventReassigned: true, EventDelegated: true, EventPriorityUpdated: true,
	EventAnnotated: true, EventResponderAdded: true, EventResponderReplied: true,
	EventStatusUpdatePublished: true, EventConferenceBridgeUpdated: true,
	EventServiceUpdated: true, EventIncidentTypeChanged: true, EventRoleAssigned: true,
	EventCustomFieldsUpdated: true, EventWorkflowStarted: true, EventWorkflowCompleted: true,
}

// Event is one PagerDuty V3 webhook event, as the service needs it. The
// pagerduty package parses it from the wire.
type Event struct {
	ID         string
	Type       string
	OccurredAt time.Time
	// Agent is who or what caused the event; zero when PagerDuty sends null.
	Agent Ref
	// IncidentID is data.id for incident payloads, data.incident.id for
	// notes, responders, status updates and other incident sub-resources.
	IncidentID string
	// Incident is the full incident payload (data.type "incident") or, for
	// sub-resources, a partial snapshot built from the incident reference
	// (Complete=false). Empty for events that concern no incident.
	Incident Snapshot

	// Note is the content of an incident.annotated note.
	Note string
	// Message is the responder request message or status update text.
	Message string
	// Responder is the user asked to respond (incident.responder.*).
	Responder Ref
	// ResponderState is the request's state (incident.responder.replied).
	ResponderState ResponderState
	// Fields are the custom fields that changed
	// (incident.custom_field_values.updated).
	Fields []FieldValue
	// Workflow is the incident workflow that started or completed
	// (incident.workflow.*).
	Workflow Ref

	// Lead is who leads the incident (EventLead); Roles the roles given
	// in PagerDuty (EventRoleAssigned).
	Lead  Lead
	Roles []Role

	// Survivor is not PagerDuty's: it is what the store holds of the
	// incident this one was merged into (Incident.MergedInto), read by
	// the service before deciding, so that Decide can plan the note in
	// its thread and the link to its channel. Nil when not read.
	Survivor *Survivor
}

// FieldValue is the value of one of an incident's custom fields, as text.
type FieldValue struct {
	Name, Value string
}

// Survivor is what Decide needs of the incident another was merged into:
// where its thread is, if anywhere.
type Survivor struct {
	ID                string
	ChannelID, RootTS string
	ChannelArchived   bool
}

// thread reports whether the survivor has a thread a note can go in.
func (s *Survivor) thread() bool {
	return s != nil && s.ChannelID != "" && s.RootTS != "" && !s.ChannelArchived
}

// Handled reports whether the event concerns an incident the service
// tracks. Other events (pagey.ping, service.*, unknown types) are
// acknowledged with 2xx and cause nothing.
func (ev *Event) Handled() bool {
	return HandledType(ev.Type) && ev.IncidentID != ""
}

// HandledType reports whether events of type eventType can change an
// incident's channel. A parser reads the details of these types only;
// others are acknowledged unread.
func HandledType(eventType string) bool { return handled[eventType] }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
