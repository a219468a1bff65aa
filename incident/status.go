package incident

// Status is where an incident is in PagerDuty's lifecycle. The values are
// PagerDuty's own words, so the wire and the store carry them as they are.
type Status string

// The statuses PagerDuty gives an incident.
const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Urgency is how urgently PagerDuty notifies responders of an incident,
// in PagerDuty's own words.
type Urgency string

// The urgencies PagerDuty gives an incident.
const (
	UrgencyHigh Urgency = "high"
	UrgencyLow  Urgency = "low"
)

// ResponderState is where a request for a responder stands, in
// PagerDuty's own words.
type ResponderState string

// The states of a responder request.
const (
	ResponderPending  ResponderState = "pending"
	ResponderAccepted ResponderState = "accepted"
	ResponderDeclined ResponderState = "declined"
)
