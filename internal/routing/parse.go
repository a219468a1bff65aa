package routing

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/incident-channels/incident-channels/incident"
)

// The file as written, read from the node tree. Match values and invitees
// are lists; the optional scalars are pointers so that "not given" can be
// told from a zero value.
type rawRule struct {
	Name     string
	Match    *rawMatch
	Channel  *bool
	Prefix   *string
	Private  *bool
	Invite   list
	Announce *string
	PostTo   *string
}

type rawMatch struct {
	Service      list
	Team         list
	Urgency      list
	Priority     list
	IncidentType list
}

// The keys of each mapping, for the unknown-key errors.
var (
	fileKeys  = []string{"rules"}
	ruleKeys  = []string{"name", "match", "channel", "prefix", "private", "invite", "announce", "post_to"}
	matchKeys = []string{"service", "team", "urgency", "priority", "incident_type"}
)

// list is one string or a list of strings. A list given empty ([]) is
// not nil, so it can be told from a field left out.
type list []string

// noPriority is the priority match value for incidents without a priority.
const noPriority = "none"

// Slack ids and handles as the rules file gives them.
var (
	userIDRe      = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupIDRe     = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	groupHandleRe = regexp.MustCompile(`^@[a-z0-9._-]+$`)
	channelIDRe   = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
)

// problem is one thing wrong with the file; rule is the index of the rule
// it is about, or -1 for the file as a whole.
type problem struct {
	rule int
	msg  string
}

// parser collects the problems of one Parse call.
type parser struct {
	rules    []rawRule
	broken   map[int]bool // rules whose values are not all known
	problems []problem
	merges   int // mappings brought in by merge keys so far
}

func (p *parser) add(rule int, format string, args ...any) {
	p.problems = append(p.problems, problem{rule, fmt.Sprintf(format, args...)})
}

// addAt adds a problem of rule (-1: the file) at the position of n, and
// marks the rule broken: its values may be missing because of it, so
// checking them would only add noise.
func (p *parser) addAt(rule int, n *yaml.Node, format string, args ...any) {
	if rule >= 0 {
		p.broken[rule] = true
	}
	p.add(rule, "line %d:%d: %s", n.Line, n.Column, fmt.Sprintf(format, args...))
}

// Parse parses a rules file (YAML, or JSON, which is YAML too). def is
// the route of an incident that no rule matches, and gives a rule's
// defaults. Every problem found is reported, joined with errors.Join,
// each naming the rule and the field.
//
// The checks: the file has at least one rule; no unknown keys, keys given
// twice or values of the wrong kind (with the line and column); every
// rule has a unique name; match fields are not empty and urgency is high
// or low; prefix is a valid channel name part; invitees are Slack user
// ids, user group ids or @handles; announce and post_to are channel ids
// (announce may be none); post_to only with channel: false, and prefix,
// private, invite and announce only without it; no rule comes after one
// that matches every incident.
func Parse(data []byte, def incident.Route) (*Table, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, errors.New("the file is empty: it needs a rules: list with at least one rule (see routing.example.yaml)")
	}
	p := &parser{broken: map[int]bool{}}
	p.file(doc.Content[0])
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF && (err != nil || len(next.Content) > 0 && !isNull(next.Content[0])) {
		p.add(-1, "line %d: a second YAML document begins here, and only the first is read: remove the '---' and put all rules in one rules: list", next.Line)
	}

	t := &Table{def: cloneRoute(def)}
	if len(p.rules) == 0 && len(p.problems) == 0 {
		p.add(-1, "no rules: the file needs a rules: list with at least one rule (see routing.example.yaml)")
	}
	names := map[string]int{}
	catchAll := -1
	for i, rr := range p.rules {
		if catchAll >= 0 {
			p.add(i, "unreachable: rule %d %q has no match block, so it matches every incident before this rule is tried; move this rule above it, or give %q a match block",
				catchAll+1, p.rules[catchAll].Name, p.rules[catchAll].Name)
		}
		name := strings.TrimSpace(rr.Name)
		rr.Name, p.rules[i].Name = name, name
		if p.broken[i] {
			// Its values may be missing because of the problems
			// reported for it: checking them would only add noise.
			continue
		}
		switch j, dup := names[name]; {
		case name == "":
			p.add(i, "name is missing: give every rule a unique name (it shows in logs and errors)")
		case dup:
			p.add(i, "name %q is already the name of rule %d: rule names must be unique", name, j+1)
		default:
			names[name] = i
		}
		r := p.compile(i, rr, def)
		t.rules = append(t.rules, r)
		if rr.Match == nil && catchAll < 0 {
			catchAll = i
		}
	}
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	return t, nil
}

// compile checks one rule and turns it into its route, with the defaults
// of def filled in.
func (p *parser) compile(i int, rr rawRule, def incident.Route) rule {
	r := rule{name: rr.Name}
	if m := rr.Match; m != nil {
		if m.Service == nil && m.Team == nil && m.Urgency == nil && m.Priority == nil && m.IncidentType == nil {
			p.add(i, "match is empty: give at least one of %s, or leave match out to match every incident", strings.Join(matchKeys, ", "))
		}
		r.services = p.values(i, "match.service", m.Service)
		r.teams = p.values(i, "match.team", m.Team)
		r.urgencies = p.values(i, "match.urgency", m.Urgency)
		for k, u := range r.urgencies {
			r.urgencies[k] = strings.ToLower(u)
			if v := incident.Urgency(r.urgencies[k]); v != incident.UrgencyHigh && v != incident.UrgencyLow {
				p.add(i, "match.urgency: %q is not high or low", u)
			}
		}
		r.priorities = p.values(i, "match.priority", m.Priority)
		for k, v := range r.priorities {
			if strings.EqualFold(v, noPriority) {
				r.priorities[k] = noPriority
			}
		}
		r.types = p.values(i, "match.incident_type", m.IncidentType)
	}

	route := incident.Route{Rule: rr.Name, Channel: rr.Channel == nil || *rr.Channel}
	if !route.Channel {
		for _, f := range []struct {
			key   string
			given bool
		}{{"prefix", rr.Prefix != nil}, {"private", rr.Private != nil}, {"invite", rr.Invite != nil}, {"announce", rr.Announce != nil}} {
			if f.given {
				p.add(i, "%s has no effect with channel: false (the incident gets no channel of its own): remove %s, or set channel: true", f.key, f.key)
			}
		}
		if rr.PostTo != nil {
			route.PostChannel = p.channelID(i, "post_to", *rr.PostTo, false)
		}
		r.route = route
		return r
	}

	if rr.PostTo != nil {
		p.add(i, "post_to requires channel: false (an incident with a channel of its own is posted there): set channel: false, or remove post_to")
	}
	route.Prefix = def.Prefix
	if rr.Prefix != nil {
		prefix := strings.TrimSpace(*rr.Prefix)
		if slug := incident.Slug(prefix, 40); slug != prefix || prefix == "" {
			like := ""
			if slug != "" {
				like = fmt.Sprintf(" (like %q)", slug)
			}
			p.add(i, "prefix: %q is not a valid channel name part: use 1-40 lowercase letters, digits, '-' or '_'%s", prefix, like)
		}
		route.Prefix = prefix
	}
	route.Private = rr.Private != nil && *rr.Private
	route.InviteUsers = slices.Clone(def.InviteUsers)
	if rr.Invite != nil {
		if len(rr.Invite) == 0 {
			p.add(i, "invite is empty: list Slack user ids, user group ids or @handles, or remove invite")
		}
		for _, v := range rr.Invite {
			v = strings.TrimSpace(v)
			switch {
			case userIDRe.MatchString(v):
				route.InviteUsers = append(route.InviteUsers, v)
			case groupIDRe.MatchString(v), groupHandleRe.MatchString(v):
				route.InviteGroups = append(route.InviteGroups, v)
			default:
				p.add(i, "invite: %s", badInvitee(v))
			}
		}
	}
	route.InviteUsers = dedup(route.InviteUsers)
	route.InviteGroups = dedup(route.InviteGroups)
	route.Announce = def.Announce
	if rr.Announce != nil {
		route.Announce = p.channelID(i, "announce", *rr.Announce, true)
	}
	r.route = route
	return r
}

// values trims a match field's values; nil when the field is not given.
func (p *parser) values(i int, field string, l list) []string {
	if l == nil {
		return nil
	}
	if len(l) == 0 {
		p.add(i, "%s is empty: give a value or a list of values, or remove %s", field, field)
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if v = strings.TrimSpace(v); v == "" {
			p.add(i, "%s has an empty value: remove the empty entry", field)
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// channelID checks a channel id field; allowNone lets "none" through as
// "" (announce: none turns announcing off).
func (p *parser) channelID(i int, field, v string, allowNone bool) string {
	v = strings.TrimSpace(v)
	switch {
	case allowNone && strings.EqualFold(v, "none"):
		return ""
	case channelIDRe.MatchString(v):
		return v
	}
	how := "use a channel id like C0123ABCD (in Slack: the channel's details, at the bottom of About)"
	if strings.HasPrefix(v, "#") {
		how = "use the channel's id, like C0123ABCD, not its name (in Slack: the channel's details, at the bottom of About)"
	}
	if allowNone {
		how += ", or none for no announcements"
	} else if strings.EqualFold(v, "none") {
		how = "to post nothing, remove post_to"
	}
	p.add(i, "%s: %q is not a Slack channel id: %s", field, v, how)
	return ""
}

// badInvitee says why v is not a Slack user or group, and how to fix it.
func badInvitee(v string) string {
	switch {
	case v == "":
		return "an empty entry: remove it"
	case groupHandleRe.MatchString(strings.ToLower(v)) && strings.HasPrefix(v, "@"):
		return fmt.Sprintf("%q: user group handles are lowercase: write %q", v, strings.ToLower(v))
	case strings.Contains(v, "@"):
		return fmt.Sprintf("%q is not a Slack user id: give the member id (U…, in Slack: the profile's ⋮ menu, Copy member ID), not an email address; a user group is @handle or S…", v)
	}
	return fmt.Sprintf("%q is not a Slack user id (U… or W…), user group id (S…) or user group @handle", v)
}

// dedup removes repeated values, keeping the first of each.
func dedup(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// file reads the rules from the document's root node. Every problem of
// shape (a key unknown or given no value, a value of the wrong kind) is
// reported at its line and column, the rule it is in known from the walk.
func (p *parser) file(root *yaml.Node) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		p.addAt(-1, root, "the file must be a mapping with a rules: list, got %s", describe(root))
		return
	}
	for _, kv := range p.pairs(-1, root) {
		switch {
		case kv.key.Value != "rules":
			p.unknownKey(-1, kv.key, fileKeys, "at the top of the file")
		case isNull(kv.value):
			// Reported as no rules.
		case kv.value.Kind != yaml.SequenceNode:
			p.addAt(-1, kv.value, "rules must be a list of rules, each starting with '- name:', got %s", describe(kv.value))
		default:
			for i, n := range kv.value.Content {
				p.rules = append(p.rules, p.rule(i, resolve(n)))
			}
		}
	}
}

// rule reads rule i from its node.
func (p *parser) rule(i int, n *yaml.Node) rawRule {
	var rr rawRule
	if n.Kind != yaml.MappingNode {
		p.addAt(i, n, "a rule must be a mapping of keys, starting with name:, got %s", describe(n))
		return rr
	}
	for _, kv := range p.pairs(i, n) {
		key, v := kv.key, kv.value
		switch {
		case !slices.Contains(ruleKeys, key.Value):
			p.unknownKey(i, key, ruleKeys, "in a rule")
			continue
		case isNull(v) && key.Value == "match":
			// A match that lost its values must not quietly match
			// every incident.
			p.addAt(i, key, "match is empty: give at least one of %s, or remove match to match every incident", strings.Join(matchKeys, ", "))
			continue
		case isNull(v):
			p.addAt(i, key, "%s is empty: give it a value, or remove %s", key.Value, key.Value)
			continue
		}
		switch key.Value {
		case "name":
			if s := p.text(i, v); s != nil {
				rr.Name = *s
			}
		case "match":
			rr.Match = p.match(i, v)
		case "channel":
			rr.Channel = p.boolean(i, v)
		case "prefix":
			rr.Prefix = p.text(i, v)
		case "private":
			rr.Private = p.boolean(i, v)
		case "invite":
			rr.Invite = p.list(i, v)
		case "announce":
			rr.Announce = p.text(i, v)
		case "post_to":
			rr.PostTo = p.text(i, v)
		}
	}
	return rr
}

// match reads rule i's match block from its node.
func (p *parser) match(i int, n *yaml.Node) *rawMatch {
	if n.Kind != yaml.MappingNode {
		p.addAt(i, n, "match must be a mapping of fields, like {service: Checkout API, urgency: high}, got %s", describe(n))
		return nil
	}
	m := &rawMatch{}
	fields := map[string]*list{
		"service": &m.Service, "team": &m.Team, "urgency": &m.Urgency, "priority": &m.Priority, "incident_type": &m.IncidentType,
	}
	for _, kv := range p.pairs(i, n) {
		field, ok := fields[kv.key.Value]
		switch {
		case !ok:
			p.unknownKey(i, kv.key, matchKeys, "in match")
		case isNull(kv.value):
			p.addAt(i, kv.key, "match.%s is empty: give a value or a list of values, or remove %s", kv.key.Value, kv.key.Value)
		default:
			*field = p.list(i, kv.value)
		}
	}
	return m
}

// list reads one value or a list of values; nil after a problem. A null
// in the list is an empty entry, which the checks of the values report.
func (p *parser) list(i int, n *yaml.Node) list {
	switch n.Kind {
	case yaml.ScalarNode:
		return list{n.Value}
	case yaml.SequenceNode:
		out := make(list, 0, len(n.Content))
		for _, c := range n.Content {
			switch c = resolve(c); {
			case isNull(c):
				out = append(out, "")
			case c.Kind == yaml.ScalarNode:
				out = append(out, c.Value)
			default:
				p.addAt(i, c, "expected a list of plain values, got %s inside it", describe(c))
				return nil
			}
		}
		return out
	}
	p.addAt(i, n, "expected one value or a list of values, got %s", describe(n))
	return nil
}

// text reads one value as written (a number too); nil after a problem.
func (p *parser) text(i int, n *yaml.Node) *string {
	if n.Kind != yaml.ScalarNode {
		p.addAt(i, n, "expected one value, got %s", describe(n))
		return nil
	}
	s := n.Value
	return &s
}

// boolean reads true or false, as YAML decodes them into a bool; nil
// after a problem.
func (p *parser) boolean(i int, n *yaml.Node) *bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.addAt(i, n, "expected true or false, got %s", describe(n))
		return nil
	}
	return &b
}

// unknownKey reports key, not one of keys, suggesting the one it is
// likely a misspelling of.
func (p *parser) unknownKey(rule int, key *yaml.Node, keys []string, where string) {
	if s := closest(key.Value, keys); s != "" {
		p.addAt(rule, key, "unknown key %q %s: did you mean %s? (the keys are %s)", key.Value, where, s, strings.Join(keys, ", "))
		return
	}
	p.addAt(rule, key, "unknown key %q %s: the keys are %s", key.Value, where, strings.Join(keys, ", "))
}

// pair is one key of a mapping and its value, alias resolved.
type pair struct{ key, value *yaml.Node }

// maxMerges bounds the mappings merge keys bring into one file: a mapping
// may merge itself through an alias, and merges of merges multiply.
const maxMerges = 1000

// pairs are the keys and values of mapping n, in order, with the keys of
// mappings merged in by "<<" (YAML's merge key) that n does not give
// itself. A key given twice is a problem of rule.
func (p *parser) pairs(rule int, n *yaml.Node) []pair {
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, v := n.Content[k], resolve(n.Content[k+1])
		if key.ShortTag() == "!!merge" {
			merged = append(merged, p.merge(rule, key, v)...)
			continue
		}
		if first, dup := seen[key.Value]; dup {
			p.addAt(rule, key, "%s is given twice (first on line %d): keep one", key.Value, first.Line)
			continue
		}
		seen[key.Value] = key
		own = append(own, pair{key, v})
	}
	for _, kv := range merged {
		if _, given := seen[kv.key.Value]; !given {
			seen[kv.key.Value] = kv.key
			own = append(own, kv)
		}
	}
	return own
}

// merge is the pairs a merge key brings: those of its mapping, or of each
// mapping of its list, the first given winning.
func (p *parser) merge(rule int, key, v *yaml.Node) []pair {
	sources := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	}
	var out []pair
	for _, m := range sources {
		if m = resolve(m); m.Kind != yaml.MappingNode {
			p.addAt(rule, m, "<< merges a mapping or a list of them, got %s", describe(m))
			continue
		}
		if p.merges++; p.merges > maxMerges {
			if p.merges == maxMerges+1 {
				p.addAt(rule, key, "<< merges over %d mappings: does a mapping merge itself?", maxMerges)
			}
			return out
		}
		out = append(out, p.pairs(rule, m)...)
	}
	return out
}

// resolve is the node an alias refers to, or n.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is for an error: a list, a mapping, or the value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "a value"
}

// closest returns the key nearest to s if it is within two edits.
func closest(s string, keys []string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		if d := editDistance(strings.ToLower(s), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// err joins the problems, those of the whole file first and then rule by
// rule, each rule's named.
func (p *parser) err() error {
	slices.SortStableFunc(p.problems, func(a, b problem) int { return cmp.Compare(a.rule, b.rule) })
	errs := make([]error, len(p.problems))
	for k, pr := range p.problems {
		if pr.rule < 0 {
			errs[k] = errors.New(pr.msg)
			continue
		}
		label := fmt.Sprintf("rule %d", pr.rule+1)
		if pr.rule < len(p.rules) && strings.TrimSpace(p.rules[pr.rule].Name) != "" {
			label += fmt.Sprintf(" %q", strings.TrimSpace(p.rules[pr.rule].Name))
		}
		errs[k] = errors.New(label + ": " + pr.msg)
	}
	return errors.Join(errs...)
}
