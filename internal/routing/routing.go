// Package routing reads the routing rules file: which incidents get a
// Slack channel of their own, how that channel is set up and who is
// invited, and which shared channels hear of them. A *Table is the
// incident.Router the service consults on every event.
//
// Rules are tried top to bottom and the first whose match block fits the
// incident decides; when none fits, the default route (the behaviour
// without a rules file) applies. routing.example.yaml, at the root of the
// repository, shows the format; Parse lists the checks.
package routing

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
)

// Table is a parsed rules file. It is immutable, so Route is safe for
// concurrent use.
type Table struct {
	def   incident.Route
	rules []rule
}

var _ incident.Router = (*Table)(nil)

// rule is one compiled rule: its match conditions and the route it gives.
type rule struct {
	name string
	// The match conditions; a nil list is a field the rule does not
	// match on. Services and teams are compared case-insensitively with
	// the PagerDuty name and exactly with the id.
	services   []string
	teams      []string
	urgencies  []string // "high", "low"
	priorities []string // case-insensitive; "none" matches no priority
	types      []string // case-insensitive
	route      incident.Route
}

// Load reads and parses the rules file at path. def is the route of an
// incident that no rule matches, and gives a rule's defaults (prefix,
// invitees, announce channel). Every error names the path.
func Load(path string, def incident.Route) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The *PathError names the path.
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	t, err := Parse(data, def)
	if err != nil {
		return nil, fmt.Errorf("routing rules %s: %w", path, err)
	}
	return t, nil
}

// Route returns the route of the first rule that matches inc, or the
// default route when none does. The returned slices are the caller's.
func (t *Table) Route(inc incident.Snapshot) incident.Route {
	for i := range t.rules {
		if t.rules[i].matches(&inc) {
			return cloneRoute(t.rules[i].route)
		}
	}
	return cloneRoute(t.def)
}

// Rules returns the names of the rules in the order they are tried.
func (t *Table) Rules() []string {
	names := make([]string, len(t.rules))
	for i, r := range t.rules {
		names[i] = r.name
	}
	return names
}

// Posted is a channel a rule posts incidents' messages in besides their
// own channels: its announce or post_to channel.
type Posted struct {
	Channel string
	// Rule names the rule, Key the setting: "announce" or "post_to".
	Rule, Key string
}

// Posted returns the announce and post_to channels the rules name, in
// rule order. An announce channel a rule inherits from the default route
// is not listed: it is the default's.
func (t *Table) Posted() []Posted {
	var out []Posted
	for _, r := range t.rules {
		if a := r.route.Announce; a != "" && a != t.def.Announce {
			out = append(out, Posted{Channel: a, Rule: r.name, Key: "announce"})
		}
		if p := r.route.PostChannel; p != "" {
			out = append(out, Posted{Channel: p, Rule: r.name, Key: "post_to"})
		}
	}
	return out
}

// matches reports whether every match condition of the rule holds for inc.
func (r *rule) matches(inc *incident.Snapshot) bool {
	if r.services != nil && !refMatches(inc.Service, r.services) {
		return false
	}
	if r.teams != nil && !slices.ContainsFunc(inc.Teams, func(t incident.Ref) bool { return refMatches(t, r.teams) }) {
		return false
	}
	if r.urgencies != nil && !containsFold(r.urgencies, string(inc.Urgency)) {
		return false
	}
	if r.priorities != nil && !priorityMatches(r.priorities, inc.Priority) {
		return false
	}
	if r.types != nil && !containsFold(r.types, inc.IncidentType) {
		return false
	}
	return true
}

// refMatches reports whether ref's name (case-insensitively) or id
// (exactly) is one of want.
func refMatches(ref incident.Ref, want []string) bool {
	for _, w := range want {
		if w == ref.ID || strings.EqualFold(w, ref.Summary) {
			return true
		}
	}
	return false
}

// priorityMatches reports whether the priority p is one of want, where
// "none" stands for an incident without a priority.
func priorityMatches(want []string, p string) bool {
	if p == "" {
		return slices.Contains(want, noPriority)
	}
	return containsFold(want, p)
}

// containsFold reports whether s is one of want, ignoring case. An empty
// s never matches (match values are never empty).
func containsFold(want []string, s string) bool {
	for _, w := range want {
		if strings.EqualFold(w, s) {
			return true
		}
	}
	return false
}

func cloneRoute(r incident.Route) incident.Route {
	r.InviteUsers = slices.Clone(r.InviteUsers)
	r.InviteGroups = slices.Clone(r.InviteGroups)
	return r
}
