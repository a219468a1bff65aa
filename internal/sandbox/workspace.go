package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/incident-channels/incident-channels/internal/replay"
)

// The sandbox's made-up workspace: the channels people would have made in
// Slack before installing the app, the PagerDuty users of the sample
// incidents and their Slack accounts.
const (
	// AnnounceChannel is the channel the function announces every
	// incident channel in (SLACK_ANNOUNCE_CHANNEL).
	AnnounceChannel = "incidents"
	// LowChannel is where the built-in rules post low-urgency incidents,
	// one message each with its updates in the thread.
	LowChannel = "incidents-low"
	// pagerDutyToken is the REST API token the fake PagerDuty accepts.
	pagerDutyToken = "sandbox-pagerduty-token"
	// builtinRules names the built-in rules in the function's log.
	builtinRules = "(sandbox built-in rules)"
)

// Person is someone of the sandbox's workspace.
type Person struct {
	// PagerDutyID is their PagerDuty user; "" for someone without one,
	// whom the function tells so when they press a button.
	PagerDutyID string
	Name        string
	Email       string
	// SlackID is their Slack account, found by email; "" for someone
	// without one, whom the function reports as "Could not add".
	SlackID string
}

// People are the PagerDuty users of the replayed incidents and one
// Slack user who has no PagerDuty user. Alan Turing has no Slack account,
// so the channel's thread names him; Katherine Johnson is on call at the
// second level of every escalation policy; Margaret Hamilton can press
// the buttons but is told she has no PagerDuty user.
var People = []Person{
	{"PUSER00", "Ada Lovelace", "ada@example.com", "U01ADA000"},
	{"PUSER01", "Alan Turing", "alan@example.com", ""},
	{"PUSER09", "Katherine Johnson", "katherine@example.com", "U09KJ0000"},
	{"", "Margaret Hamilton", "margaret@example.com", "U05MH0000"},
}

// Responders are the People with a Slack account: the page acts as one
// of them.
func Responders() []Person {
	var out []Person
	for _, p := range People {
		if p.SlackID != "" {
			out = append(out, p)
		}
	}
	return out
}

// rulesFor is the built-in routing table: low-urgency incidents get one
// message in #incidents-low instead of a channel; the rest get a channel
// (the default route), announced in #incidents.
func rulesFor(low string) []byte {
	return []byte(`rules:
  - name: low-urgency
    match: {urgency: low}
    channel: false
    post_to: ` + low + "\n")
}

// slackUserIDRe finds what looks like Slack user ids in a rules file, so
// the fake workspace knows the users a rule invites.
var slackUserIDRe = regexp.MustCompile(`\b[UW][A-Z0-9]{2,}\b`)

// userIDsIn returns the Slack user ids the rules file at path mentions;
// nothing when it cannot be read (the function reports that).
func userIDsIn(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ids []string
	for _, id := range slackUserIDRe.FindAllString(string(data), -1) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Samples the page's replay buttons send.
const (
	// SampleStandard is the built-in lifecycle: a high-urgency incident
	// with its own channel from the start.
	SampleStandard = "standard"
	// SampleRaised is a low-urgency incident, posted in #incidents-low,
	// whose priority is then raised to P1 (and urgency to high): it gets
	// its channel then, with a summary of what happened before.
	SampleRaised = "raised"
	// SampleTriggered is the built-in lifecycle's first event alone: an
	// incident left triggered, for responders to act on from the page.
	SampleTriggered = "triggered"
)

// raisedTitle is the title of the SampleRaised incident.
const raisedTitle = "Order history slow to load for some users"

// raisedLifecycle is SampleRaised: the built-in lifecycle's triggered,
// acknowledged and note events at low urgency and priority P3, then the
// priority raised to P1 at high urgency, then resolved.
func raisedLifecycle() ([]replay.Template, error) {
	low := map[string]bool{"triggered": true, "acknowledged": true, "annotated": true}
	var out []replay.Template
	for _, t := range replay.Builtin() {
		if t.Name == "escalated" {
			continue
		}
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(t.Body))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("payload %s: %w", t.Name, err)
		}
		ev, _ := doc["event"].(map[string]any)
		data, _ := ev["data"].(map[string]any)
		if data == nil {
			return nil, fmt.Errorf("payload %s: no event.data", t.Name)
		}
		switch {
		case data["type"] == "incident" && low[t.Name]:
			data["urgency"] = "low"
			data["priority"] = priorityRef("P3")
		case data["type"] == "incident":
			data["urgency"] = "high"
			data["priority"] = priorityRef("P1")
		case data["type"] == "incident_note":
			data["content"] = "Slow queries on the orders replica; failing over to the standby."
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		out = append(out, replay.Template{Name: t.Name, Body: bytes.TrimSpace(buf.Bytes())})
	}
	return out, nil
}

// priorityRef is a PagerDuty priority reference named name (P1…P5).
func priorityRef(name string) map[string]any {
	return map[string]any{
		"html_url": "https://acme.pagerduty.com/account/incident_priorities",
		"id":       "PPRI" + name,
		"self":     "https://api.pagerduty.com/priorities/PPRI" + name,
		"summary":  name,
		"type":     "priority_reference",
	}
}

// sampleDeliveries builds the deliveries of the sample named name.
func sampleDeliveries(name string) ([]replay.Delivery, error) {
	switch name {
	case "", SampleStandard:
		return replay.Build(replay.Builtin(), replay.Options{})
	case SampleTriggered:
		return replay.Build(replay.Builtin()[:1], replay.Options{})
	case SampleRaised:
		tmpls, err := raisedLifecycle()
		if err != nil {
			return nil, err
		}
		return replay.Build(tmpls, replay.Options{Title: raisedTitle})
	}
	return nil, fmt.Errorf("unknown sample %q (want %s, %s or %s)", name, SampleStandard, SampleTriggered, SampleRaised)
}
