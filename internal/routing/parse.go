package routing

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/incident-channels/incident-channels/incident"
)

// The file as written. Match values and invitees are lists; the optional
// scalars are pointers so that "not given" can be told from a zero value.
type rawFile struct {
	Rules []rawRule `yaml:"rules"`
}

type rawRule struct {
	Name     string    `yaml:"name"`
	Match    *rawMatch `yaml:"match"`
	Channel  *bool     `yaml:"channel"`
	Prefix   *string   `yaml:"prefix"`
	Private  *bool     `yaml:"private"`
	Invite   list      `yaml:"invite"`
	Announce *string   `yaml:"announce"`
	PostTo   *string   `yaml:"post_to"`
}

type rawMatch struct {
	Service      list `yaml:"service"`
	Team         list `yaml:"team"`
	Urgency      list `yaml:"urgency"`
	Priority     list `yaml:"priority"`
	IncidentType list `yaml:"incident_type"`
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

// UnmarshalYAML accepts a scalar or a sequence of scalars. Its errors are
// *yaml.TypeError so the decoder goes on and reports every problem.
func (l *list) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = list{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(list, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			switch {
			case c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null":
				out = append(out, "") // reported as an empty entry
			case c.Kind == yaml.ScalarNode:
				out = append(out, c.Value)
			default:
				return typeError(c.Line, "expected a list of plain values, got %s inside it", kindName(c))
			}
		}
		*l = out
		return nil
	}
	return typeError(n.Line, "expected one value or a list of values, got %s", kindName(n))
}

func typeError(line int, format string, args ...any) *yaml.TypeError {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)}}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "a value"
}

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
	raw      rawFile
	spans    []span // where each rule is in the file, from the node tree
	broken   map[int]bool
	problems []problem
}

// span is the lines a rule takes in the file.
type span struct{ first, last int }

func (p *parser) add(rule int, format string, args ...any) {
	p.problems = append(p.problems, problem{rule, fmt.Sprintf(format, args...)})
}

// Parse parses a rules file (YAML, or JSON, which is YAML too). def is
// the route of an incident that no rule matches, and gives a rule's
// defaults. Every problem found is reported, joined with errors.Join,
// each naming the rule and the field.
//
// The checks: the file has at least one rule; no unknown keys (with the
// line); every rule has a unique name; match fields are not empty and
// urgency is high or low; prefix is a valid channel name part; invitees
// are Slack user ids, user group ids or @handles; announce and post_to
// are channel ids (announce may be none); post_to only with channel:
// false, and prefix, private, invite and announce only without it; no
// rule comes after one that matches every incident.
func Parse(data []byte, def incident.Route) (*Table, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, errors.New("the file is empty: it needs a rules: list with at least one rule (see routing.example.yaml)")
	}
	p := &parser{broken: map[int]bool{}}
	p.scan(doc.Content[0])

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var te *yaml.TypeError
	switch err := dec.Decode(&p.raw); {
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			p.decodeProblem(msg)
		}
	case err != nil:
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF && (err != nil || len(next.Content) > 0 && !isNull(next.Content[0])) {
		p.add(-1, "line %d: a second YAML document begins here, and only the first is read: remove the '---' and put all rules in one rules: list", next.Line)
	}

	t := &Table{def: cloneRoute(def)}
	if len(p.raw.Rules) == 0 && len(p.problems) == 0 {
		p.add(-1, "no rules: the file needs a rules: list with at least one rule (see routing.example.yaml)")
	}
	names := map[string]int{}
	catchAll := -1
	for i, rr := range p.raw.Rules {
		if catchAll >= 0 {
			p.add(i, "unreachable: rule %d %q has no match block, so it matches every incident before this rule is tried; move this rule above it, or give %q a match block",
				catchAll+1, p.raw.Rules[catchAll].Name, p.raw.Rules[catchAll].Name)
		}
		name := strings.TrimSpace(rr.Name)
		rr.Name, p.raw.Rules[i].Name = name, name
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

// scan walks the node tree: it records where each rule is, and reports
// keys given no value (service:) which the typed decoding cannot tell from
// keys left out, so a match that lost its value does not quietly match
// every incident.
func (p *parser) scan(root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		return
	}
	var rules *yaml.Node
	for k := 0; k+1 < len(root.Content); k += 2 {
		if root.Content[k].Value == "rules" {
			rules = root.Content[k+1]
		}
	}
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return
	}
	for i, n := range rules.Content {
		p.spans = append(p.spans, span{n.Line, lastLine(n)})
		if n.Kind != yaml.MappingNode {
			continue
		}
		for k := 0; k+1 < len(n.Content); k += 2 {
			key, val := n.Content[k], n.Content[k+1]
			switch {
			case isNull(val) && key.Value == "match":
				p.add(i, "line %d: match is empty: give at least one of %s, or remove match to match every incident", key.Line, strings.Join(matchKeys, ", "))
				p.broken[i] = true
			case isNull(val):
				p.add(i, "line %d: %s is empty: give it a value, or remove %s", key.Line, key.Value, key.Value)
				p.broken[i] = true
			}
			if key.Value != "match" || val.Kind != yaml.MappingNode {
				continue
			}
			for m := 0; m+1 < len(val.Content); m += 2 {
				if isNull(val.Content[m+1]) {
					f := val.Content[m]
					p.add(i, "line %d: match.%s is empty: give a value or a list of values, or remove %s", f.Line, f.Value, f.Value)
					p.broken[i] = true
				}
			}
		}
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// lastLine is the last line of any node under n (aliases not followed).
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

var (
	lineRe          = regexp.MustCompile(`^line (\d+): `)
	unknownFieldRe  = regexp.MustCompile(`^field (.*) not found in type routing\.(\w+)$`)
	cannotDecodeRe  = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	expectedForType = map[string]string{
		"bool":              "expected true or false",
		"string":            "expected one value",
		"routing.rawMatch":  "match must be a mapping of fields, like {service: Checkout API, urgency: high}",
		"routing.rawRule":   "a rule must be a mapping of keys, starting with name:",
		"[]routing.rawRule": "rules must be a list of rules, each starting with '- name:'",
		"routing.rawFile":   "the file must be a mapping with a rules: list",
	}
)

// decodeProblem turns one of yaml's type errors into a problem of the
// rule on its line, in the file's words rather than Go's, and marks the
// rule broken.
func (p *parser) decodeProblem(msg string) {
	line := 0
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		keys, where := fileKeys, "at the top of the file"
		switch m[2] {
		case "rawRule":
			keys, where = ruleKeys, "in a rule"
		case "rawMatch":
			keys, where = matchKeys, "in match"
		}
		msg = fmt.Sprintf("unknown key %q %s: the keys are %s", m[1], where, strings.Join(keys, ", "))
		if s := closest(m[1], keys); s != "" {
			msg = fmt.Sprintf("unknown key %q %s: did you mean %s? (the keys are %s)", m[1], where, s, strings.Join(keys, ", "))
		}
	} else if m := cannotDecodeRe.FindStringSubmatch(msg); m != nil {
		got := "a value"
		switch m[1] {
		case "!!seq":
			got = "a list"
		case "!!map":
			got = "a mapping"
		}
		if m[2] != "" {
			got = fmt.Sprintf("%q", m[2])
		}
		want, ok := expectedForType[m[3]]
		if !ok {
			want = "expected " + m[3]
		}
		msg = want + ", got " + got
	}
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	// The rule whose lines hold the problem; none when the line is
	// outside every rule, or several rules share it (one-line JSON).
	rule := -1
	for i, s := range p.spans {
		if line >= s.first && line <= s.last {
			p.broken[i] = true
			if rule == -1 {
				rule = i
			} else {
				rule = -2
			}
		}
	}
	p.add(max(rule, -1), "%s", msg)
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
		if pr.rule < len(p.raw.Rules) && strings.TrimSpace(p.raw.Rules[pr.rule].Name) != "" {
			label += fmt.Sprintf(" %q", strings.TrimSpace(p.raw.Rules[pr.rule].Name))
		}
		errs[k] = errors.New(label + ": " + pr.msg)
	}
	return errors.Join(errs...)
}
