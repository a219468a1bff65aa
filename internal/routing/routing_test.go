package routing

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
)

// def is the route without rules, as the function builds it.
var def = incident.Route{
	Channel:     true,
	Prefix:      "inc",
	InviteUsers: []string{"U0DEF1", "U0DEF2"},
	Announce:    "C0ANNOUNCE",
}

func mustParse(t testing.TB, src string) *Table {
	t.Helper()
	tab, err := Parse([]byte(src), def)
	if err != nil {
		t.Fatalf("Parse:\n%v\nsource:\n%s", err, src)
	}
	return tab
}

// snap builds an incident snapshot with the fields routing looks at.
func snap(service, serviceID, urgency, priority, incType string, teams ...incident.Ref) incident.Snapshot {
	return incident.Snapshot{
		ID:           "Q1",
		Urgency:      incident.Urgency(urgency),
		Priority:     priority,
		Service:      incident.Ref{ID: serviceID, Type: "service_reference", Summary: service},
		Teams:        teams,
		IncidentType: incType,
	}
}

func team(name, id string) incident.Ref {
	return incident.Ref{ID: id, Type: "team_reference", Summary: name}
}

func TestRouteDecisions(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		inc   incident.Snapshot
		want  string // the rule that matches; "" for the default route
	}{
		{"service by name", `{rules: [{name: r, match: {service: Checkout API}}]}`,
			snap("Checkout API", "PXYZ", "high", "P1", ""), "r"},
		{"service name ignores case", `{rules: [{name: r, match: {service: checkout api}}]}`,
			snap("Checkout API", "PXYZ", "high", "P1", ""), "r"},
		{"service by id", `{rules: [{name: r, match: {service: PABC123}}]}`,
			snap("Checkout API", "PABC123", "high", "P1", ""), "r"},
		{"service id is exact", `{rules: [{name: r, match: {service: pabc123}}]}`,
			snap("Checkout API", "PABC123", "high", "P1", ""), ""},
		{"service any of a list", `{rules: [{name: r, match: {service: [Billing, Checkout API]}}]}`,
			snap("Checkout API", "PXYZ", "high", "", ""), "r"},
		{"service values are trimmed", `{rules: [{name: r, match: {service: "  Checkout API "}}]}`,
			snap("Checkout API", "PXYZ", "high", "", ""), "r"},
		{"other service", `{rules: [{name: r, match: {service: Billing}}]}`,
			snap("Checkout API", "PXYZ", "high", "P1", ""), ""},
		{"team: any of the incident's teams by name", `{rules: [{name: r, match: {team: payments}}]}`,
			snap("S", "P1S", "high", "", "", team("Platform", "PT1"), team("Payments", "PT2")), "r"},
		{"team by id", `{rules: [{name: r, match: {team: [PT9, PT2]}}]}`,
			snap("S", "P1S", "high", "", "", team("Platform", "PT1"), team("Payments", "PT2")), "r"},
		{"no team matches", `{rules: [{name: r, match: {team: [Security, PT9]}}]}`,
			snap("S", "P1S", "high", "", "", team("Platform", "PT1")), ""},
		{"incident without teams", `{rules: [{name: r, match: {team: Platform}}]}`,
			snap("S", "P1S", "high", "", ""), ""},
		{"urgency high", `{rules: [{name: r, match: {urgency: high}}]}`,
			snap("S", "P1S", "high", "", ""), "r"},
		{"urgency low does not match high", `{rules: [{name: r, match: {urgency: low}}]}`,
			snap("S", "P1S", "high", "", ""), ""},
		{"urgency list and case", `{rules: [{name: r, match: {urgency: [LOW, High]}}]}`,
			snap("S", "P1S", "low", "", ""), "r"},
		{"priority", `{rules: [{name: r, match: {priority: [P1, P2]}}]}`,
			snap("S", "P1S", "high", "P2", ""), "r"},
		{"priority ignores case", `{rules: [{name: r, match: {priority: sev-1}}]}`,
			snap("S", "P1S", "high", "SEV-1", ""), "r"},
		{"priority not in the list", `{rules: [{name: r, match: {priority: [P1, P2]}}]}`,
			snap("S", "P1S", "high", "P3", ""), ""},
		{"priority none matches no priority", `{rules: [{name: r, match: {priority: none}}]}`,
			snap("S", "P1S", "high", "", ""), "r"},
		{"priority None, any case", `{rules: [{name: r, match: {priority: [P1, None]}}]}`,
			snap("S", "P1S", "high", "", ""), "r"},
		{"priority none does not match a priority", `{rules: [{name: r, match: {priority: none}}]}`,
			snap("S", "P1S", "high", "P5", ""), ""},
		{"a priority list does not match no priority", `{rules: [{name: r, match: {priority: [P1]}}]}`,
			snap("S", "P1S", "high", "", ""), ""},
		{"incident type", `{rules: [{name: r, match: {incident_type: [major, Security]}}]}`,
			snap("S", "P1S", "high", "", "security"), "r"},
		{"incident type differs", `{rules: [{name: r, match: {incident_type: security}}]}`,
			snap("S", "P1S", "high", "", "incident_default"), ""},
		{"incident without type", `{rules: [{name: r, match: {incident_type: security}}]}`,
			snap("S", "P1S", "high", "", ""), ""},
		{"all fields must match", `{rules: [{name: r, match: {service: Checkout API, urgency: high, priority: P1}}]}`,
			snap("Checkout API", "PXYZ", "high", "P1", ""), "r"},
		{"one field that fails is enough", `{rules: [{name: r, match: {service: Checkout API, urgency: high, priority: P1}}]}`,
			snap("Checkout API", "PXYZ", "high", "P2", ""), ""},
		{"no match block matches everything", `{rules: [{name: r}]}`,
			snap("", "", "", "", ""), "r"},
		{"first match wins", `{rules: [{name: first, match: {urgency: high}}, {name: second, match: {service: S}}]}`,
			snap("S", "P1S", "high", "", ""), "first"},
		{"later rule when the first does not match", `{rules: [{name: first, match: {urgency: low}}, {name: second, match: {service: S}}, {name: third}]}`,
			snap("S", "P1S", "high", "", ""), "second"},
		{"catch-all last", `{rules: [{name: first, match: {urgency: low}}, {name: rest}]}`,
			snap("S", "P1S", "high", "", ""), "rest"},
		{"no rule matches: default", `{rules: [{name: a, match: {urgency: low}}, {name: b, match: {service: Other}}]}`,
			snap("S", "P1S", "high", "", ""), ""},
		{"empty snapshot matches no field", `{rules: [{name: a, match: {service: S}}, {name: b, match: {team: T}}, {name: c, match: {urgency: high}}]}`,
			incident.Snapshot{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.rules).Route(tt.inc)
			if got.Rule != tt.want {
				t.Errorf("Route chose rule %q, want %q", got.Rule, tt.want)
			}
			if tt.want == "" {
				if diff := cmp.Diff(def, got); diff != "" {
					t.Errorf("no rule matched, but the route is not def (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRouteFields(t *testing.T) {
	inc := snap("S", "P1S", "high", "P1", "")
	tests := []struct {
		name string
		rule string
		want incident.Route
	}{
		{"defaults inherited", `name: r`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc", InviteUsers: []string{"U0DEF1", "U0DEF2"}, Announce: "C0ANNOUNCE"}},
		{"everything set",
			`name: r
    prefix: pay
    private: true
    invite: [U012AB3CD, W0ENTERPR, S0123ABCD, "@sre-oncall"]
    announce: C0PAYMENTS`,
			incident.Route{Rule: "r", Channel: true, Prefix: "pay", Private: true,
				InviteUsers:  []string{"U0DEF1", "U0DEF2", "U012AB3CD", "W0ENTERPR"},
				InviteGroups: []string{"S0123ABCD", "@sre-oncall"},
				Announce:     "C0PAYMENTS"}},
		{"announce none", `{name: r, announce: none}`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc", InviteUsers: []string{"U0DEF1", "U0DEF2"}}},
		{"announce None, any case", `{name: r, announce: " None "}`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc", InviteUsers: []string{"U0DEF1", "U0DEF2"}}},
		{"explicit channel true, private false", `{name: r, channel: true, private: false}`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc", InviteUsers: []string{"U0DEF1", "U0DEF2"}, Announce: "C0ANNOUNCE"}},
		{"invitees merged with the defaults, deduplicated, order kept",
			`{name: r, invite: [U0NEW, U0DEF2, " U0NEW ", "@ops", S0GRP, "@ops", U0DEF1]}`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc",
				InviteUsers:  []string{"U0DEF1", "U0DEF2", "U0NEW"},
				InviteGroups: []string{"@ops", "S0GRP"},
				Announce:     "C0ANNOUNCE"}},
		{"invite as one value", `{name: r, invite: "@ops"}`,
			incident.Route{Rule: "r", Channel: true, Prefix: "inc", InviteUsers: []string{"U0DEF1", "U0DEF2"}, InviteGroups: []string{"@ops"}, Announce: "C0ANNOUNCE"}},
		{"post only", `{name: r, channel: false, post_to: C0LOWPRIO}`,
			incident.Route{Rule: "r", PostChannel: "C0LOWPRIO"}},
		{"recorded only", `{name: r, channel: false}`,
			incident.Route{Rule: "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "rules:\n  - " + tt.rule + "\n"
			got := mustParse(t, src).Route(inc)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouteReturnsCopies(t *testing.T) {
	tab := mustParse(t, `{rules: [{name: r, match: {urgency: high}, invite: [U0X, "@g"]}]}`)
	for _, inc := range []incident.Snapshot{snap("S", "P", "high", "", ""), snap("S", "P", "low", "", "")} {
		first := tab.Route(inc)
		for i := range first.InviteUsers {
			first.InviteUsers[i] = "changed"
		}
		for i := range first.InviteGroups {
			first.InviteGroups[i] = "changed"
		}
		again := tab.Route(inc)
		if strings.Contains(strings.Join(append(again.InviteUsers, again.InviteGroups...), ","), "changed") {
			t.Errorf("changing a returned route changed the table: %+v", again)
		}
	}
	if def.InviteUsers[0] != "U0DEF1" {
		t.Errorf("the table changed def: %v", def.InviteUsers)
	}
}

func TestRules(t *testing.T) {
	tab := mustParse(t, `{rules: [{name: a, match: {urgency: low}}, {name: " b "}]}`)
	if diff := cmp.Diff([]string{"a", "b"}, tab.Rules()); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
}

// TestPosted: the channels rules post in besides incidents' own, each
// with the rule and setting naming it; the default announce channel a
// rule inherits is the default's, not the rule's.
func TestPosted(t *testing.T) {
	tab := mustParse(t, `rules:
  - name: payments
    match: {service: Checkout}
    announce: C0PAYMENTS
  - name: quiet
    match: {urgency: low}
    announce: none
  - name: sev2
    match: {priority: P2}
  - name: rest
    channel: false
    post_to: C0LOW
`)
	want := []Posted{{Channel: "C0PAYMENTS", Rule: "payments", Key: "announce"}, {Channel: "C0LOW", Rule: "rest", Key: "post_to"}}
	if diff := cmp.Diff(want, tab.Posted()); diff != "" {
		t.Errorf("Posted (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want are parts of the error, each expected on one line of it
		// (every problem is one line).
		want []string
	}{
		{"empty file", ``, []string{"the file is empty"}},
		{"only comments", "# nothing yet\n", []string{"the file is empty"}},
		{"no rules key", "{}\n", []string{"no rules"}},
		{"empty rules", "rules: []\n", []string{"no rules"}},
		{"null rules", "rules:\n", []string{"no rules"}},
		{"not YAML", "rules: [\n", []string{"not valid YAML"}},
		{"top level is a list", "- name: a\n", []string{"line 1:1: the file must be a mapping with a rules: list, got a list"}},
		{"rules is not a list", "rules: {name: a}\n", []string{"line 1:8: rules must be a list of rules"}},
		{"unknown top-level key", "rules: [{name: a}]\nrule: []\n", []string{`line 2:1: unknown key "rule" at the top of the file: did you mean rules?`}},
		{"unknown rule key", "rules:\n  - name: a\n    chanel: false\n",
			[]string{`rule 1 "a": line 3:5: unknown key "chanel" in a rule: did you mean channel?`}},
		{"unknown match key", "rules:\n  - name: a\n    match:\n      servce: X\n",
			[]string{`rule 1 "a": line 4:7: unknown key "servce" in match: did you mean service?`}},
		{"unknown key far from any", "rules:\n  - name: a\n    colour: red\n",
			[]string{`rule 1 "a": line 3:5: unknown key "colour" in a rule: the keys are name, match,`}},
		{"unknown key in one-line JSON names the rule and column", `{"rules": [{"name": "a"}, {"name": "b", "x": 1}]}`,
			[]string{`rule 2 "b": line 1:41: unknown key "x" in a rule`, `rule 2 "b": unreachable: rule 1 "a" has no match block`}},
		{"wrong type", "rules:\n  - name: a\n    private: yes please\n",
			[]string{`rule 1 "a": line 3:14: expected true or false, got "yes please"`}},
		{"match not a mapping", "rules:\n  - name: a\n    match: low\n",
			[]string{`rule 1 "a": line 3:12: match must be a mapping of fields, like {service: Checkout API, urgency: high}, got "low"`}},
		{"match value a mapping", "rules:\n  - name: a\n    match:\n      service: {name: X}\n",
			[]string{`rule 1 "a": line 4:16: expected one value or a list of values, got a mapping`}},
		{"match list of lists", "rules:\n  - name: a\n    match:\n      service: [[X]]\n",
			[]string{`rule 1 "a": line 4:17: expected a list of plain values, got a list inside it`}},
		{"rule not a mapping", "rules:\n  - just a name\n", []string{`rule 1: line 2:5: a rule must be a mapping of keys, starting with name:, got "just a name"`}},
		{"name a list", "rules:\n  - name: [a, b]\n", []string{"rule 1: line 2:11: expected one value, got a list"}},
		{"key given twice", "rules:\n  - name: a\n    match: {urgency: low}\n    name: b\n",
			[]string{`rule 1 "a": line 4:5: name is given twice (first on line 2): keep one`}},
		{"unknown key merged in", "rules:\n  - &base {name: a, match: {urgency: low}, colour: red}\n  - {<<: *base, name: b}\n",
			[]string{`rule 1 "a": line 2:44: unknown key "colour"`, `rule 2 "b": line 2:44: unknown key "colour"`}},
		{"merge of a value", "rules:\n  - {<<: x, name: a}\n", []string{`rule 1 "a": line 2:10: << merges a mapping or a list of them, got "x"`}},
		{"name missing", "rules:\n  - match: {urgency: low}\n", []string{"rule 1: name is missing"}},
		{"name blank", "rules:\n  - name: ' '\n", []string{"rule 1: name is missing"}},
		{"name empty", "rules:\n  - name:\n", []string{"rule 1: line 2:5: name is empty"}},
		{"name duplicated", "rules:\n  - {name: a, match: {urgency: low}}\n  - {name: b, match: {urgency: high}}\n  - {name: a, match: {service: S}}\n",
			[]string{`rule 3 "a": name "a" is already the name of rule 1`}},
		{"match empty", "rules:\n  - name: a\n    match: {}\n", []string{`rule 1 "a": match is empty: give at least one of service, team`}},
		{"match null", "rules:\n  - name: a\n    match:\n", []string{`rule 1 "a": line 3:5: match is empty`}},
		{"match value null", "rules:\n  - name: a\n    match:\n      service:\n", []string{`rule 1 "a": line 4:7: match.service is empty`}},
		{"match value empty list", "rules:\n  - {name: a, match: {team: []}}\n", []string{`rule 1 "a": match.team is empty`}},
		{"match value empty string", "rules:\n  - {name: a, match: {priority: ''}}\n", []string{`rule 1 "a": match.priority has an empty value`}},
		{"match value blank in a list", "rules:\n  - {name: a, match: {incident_type: [major, ' ']}}\n", []string{`rule 1 "a": match.incident_type has an empty value`}},
		{"match value null in a list", "rules:\n  - {name: a, match: {service: [X, ~]}}\n", []string{`rule 1 "a": match.service has an empty value`}},
		{"urgency misspelt", "rules:\n  - {name: payments, match: {urgency: hgh}}\n", []string{`rule 1 "payments": match.urgency: "hgh" is not high or low`}},
		{"urgency misspelt in a list", "rules:\n  - {name: a, match: {urgency: [high, medium]}}\n", []string{`rule 1 "a": match.urgency: "medium" is not high or low`}},
		{"prefix invalid", "rules:\n  - {name: a, prefix: Pay Ops}\n", []string{`rule 1 "a": prefix: "Pay Ops" is not a valid channel name part: use 1-40 lowercase letters, digits, '-' or '_' (like "pay-ops")`}},
		{"prefix too long", "rules:\n  - {name: a, prefix: " + strings.Repeat("p", 41) + "}\n", []string{`rule 1 "a": prefix: "ppp`}},
		{"prefix empty string", "rules:\n  - {name: a, prefix: ''}\n", []string{`rule 1 "a": prefix: "" is not a valid channel name part`}},
		{"invite lowercase id", "rules:\n  - {name: a, invite: [u012ab3cd]}\n", []string{`rule 1 "a": invite: "u012ab3cd" is not a Slack user id (U… or W…), user group id (S…) or user group @handle`}},
		{"invite email", "rules:\n  - {name: a, invite: [ada@example.com]}\n", []string{`rule 1 "a": invite: "ada@example.com" is not a Slack user id: give the member id`}},
		{"invite handle in capitals", "rules:\n  - {name: a, invite: ['@SRE-Oncall']}\n", []string{`rule 1 "a": invite: "@SRE-Oncall": user group handles are lowercase: write "@sre-oncall"`}},
		{"invite empty entry", "rules:\n  - {name: a, invite: [U0X, '']}\n", []string{`rule 1 "a": invite: an empty entry`}},
		{"invite empty list", "rules:\n  - {name: a, invite: []}\n", []string{`rule 1 "a": invite is empty`}},
		{"announce channel name", "rules:\n  - {name: a, announce: '#incidents'}\n", []string{`rule 1 "a": announce: "#incidents" is not a Slack channel id: use the channel's id, like C0123ABCD, not its name`}},
		{"announce lowercase", "rules:\n  - {name: a, announce: c0abc}\n", []string{`rule 1 "a": announce: "c0abc" is not a Slack channel id: use a channel id like C0123ABCD (in Slack: the channel's details, at the bottom of About), or none for no announcements`}},
		{"post_to bad", "rules:\n  - {name: a, channel: false, post_to: lowprio}\n", []string{`rule 1 "a": post_to: "lowprio" is not a Slack channel id`}},
		{"post_to none", "rules:\n  - {name: a, channel: false, post_to: none}\n", []string{`rule 1 "a": post_to: "none" is not a Slack channel id: to post nothing, remove post_to`}},
		{"post_to with a channel", "rules:\n  - {name: a, post_to: C0LOWPRIO}\n", []string{`rule 1 "a": post_to requires channel: false`}},
		{"post_to with channel: true", "rules:\n  - {name: a, channel: true, post_to: C0LOWPRIO}\n", []string{`rule 1 "a": post_to requires channel: false`}},
		{"channel false with channel settings",
			"rules:\n  - {name: a, channel: false, private: true, prefix: pay, invite: [U0X], announce: none}\n",
			[]string{
				`rule 1 "a": prefix has no effect with channel: false`,
				`rule 1 "a": private has no effect with channel: false`,
				`rule 1 "a": invite has no effect with channel: false`,
				`rule 1 "a": announce has no effect with channel: false`,
			}},
		{"unreachable after a catch-all",
			"rules:\n  - {name: all}\n  - {name: low, match: {urgency: low}}\n  - {name: more}\n",
			[]string{
				`rule 2 "low": unreachable: rule 1 "all" has no match block, so it matches every incident before this rule is tried; move this rule above it, or give "all" a match block`,
				`rule 3 "more": unreachable: rule 1 "all"`,
			}},
		{"second document", "rules: [{name: a}]\n---\nrules: [{name: b}]\n", []string{"a second YAML document begins here"}},
		{"problems of several rules at once",
			"rules:\n  - name: a\n    match: {urgency: hgh}\n  - name: b\n    prefix: B!\n    announce: '#x'\n",
			[]string{`rule 1 "a": match.urgency`, `rule 2 "b": prefix`, `rule 2 "b": announce`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Parse([]byte(tt.src), def)
			if err == nil {
				t.Fatalf("Parse succeeded (rules %v), want an error with %q", tab.Rules(), tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, w)
				}
				if !found {
					t.Errorf("error does not have %q on a line:\n%v", w, err)
				}
			}
			if len(lines) != len(tt.want) {
				t.Errorf("error has %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
		})
	}
}

func TestParseAcceptsQuirks(t *testing.T) {
	for name, src := range map[string]string{
		"document marker":   "---\nrules: [{name: a}]\n",
		"trailing marker":   "rules: [{name: a}]\n---\n",
		"numbers as values": "rules:\n  - {name: 7, match: {service: 12345, priority: 1}}\n",
		"anchors":           "rules:\n  - {name: a, match: {service: &s [X, Y]}}\n  - {name: b, match: {service: *s, urgency: low}}\n",
		"alias in a list":   "rules:\n  - {name: a, match: {service: [&x X, Y]}}\n  - {name: b, match: {service: [*x]}}\n",
		"tabs in JSON":      "{\n\t\"rules\": [\n\t\t{\"name\": \"a\"}\n\t]\n}\n",
		"YAML 1.1 booleans": "rules:\n  - {name: a, channel: yes, private: on}\n",
	} {
		t.Run(name, func(t *testing.T) { mustParse(t, src) })
	}
}

// A rule may take keys from another with YAML's merge key; its own keys
// win.
func TestParseMergeKeys(t *testing.T) {
	tab := mustParse(t, "rules:\n"+
		"  - &pay {name: pay, match: {service: Checkout API, urgency: high}, private: true, prefix: pay}\n"+
		"  - {<<: *pay, name: pay-low, match: {service: Checkout API, urgency: low}}\n")
	got := tab.Route(incident.Snapshot{Service: incident.Ref{Summary: "Checkout API"}, Urgency: "low"})
	if got.Rule != "pay-low" || !got.Private || got.Prefix != "pay" {
		t.Errorf("Route = %+v, want rule pay-low, private, prefix pay (merged from pay)", got)
	}
}

func TestJSON(t *testing.T) {
	src, err := json.MarshalIndent(map[string]any{
		"rules": []map[string]any{
			{"name": "pay", "match": map[string]any{"service": []string{"Checkout API"}, "urgency": "high"}, "private": true, "invite": []string{"@pay"}},
			{"name": "low", "match": map[string]any{"urgency": "low"}, "channel": false, "post_to": "C0LOWPRIO"},
		},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tab := mustParse(t, string(src))
	if got := tab.Route(snap("checkout api", "P", "high", "", "")); got.Rule != "pay" || !got.Private || got.InviteGroups[0] != "@pay" {
		t.Errorf("high urgency checkout: %+v", got)
	}
	if got := tab.Route(snap("Other", "P", "low", "", "")); got.Rule != "low" || got.Channel || got.PostChannel != "C0LOWPRIO" {
		t.Errorf("low urgency: %+v", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing, def); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load of a missing file: %v, want an error naming %s", err, missing)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - {name: a, match: {urgency: hgh}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, def); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `rule 1 "a": match.urgency`) {
		t.Errorf("Load of a bad file: %v, want an error naming %s and the rule", err, bad)
	}

	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("rules:\n  - {name: a, match: {urgency: low}, channel: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(good, def)
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Route(snap("S", "P", "low", "", "")); got.Rule != "a" || got.Channel {
		t.Errorf("route: %+v", got)
	}
}

// TestExampleFile keeps routing.example.yaml valid and its comments true.
func TestExampleFile(t *testing.T) {
	tab, err := Load("../../routing.example.yaml", def)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"payments-critical", "security", "platform-major", "low-urgency", "synthetic-checks", "unprioritised"}
	if diff := cmp.Diff(want, tab.Rules()); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		inc  incident.Snapshot
		want incident.Route
	}{
		{"checkout P1", snap("Checkout API", "PXYZ", "high", "P1", ""),
			incident.Route{Rule: "payments-critical", Channel: true, Prefix: "pay", Private: true,
				InviteUsers: []string{"U0DEF1", "U0DEF2", "U012AB3CD"}, InviteGroups: []string{"@payments-oncall"}, Announce: "C0PAYMENTS"}},
		{"checkout by id, P2, low urgency", snap("Renamed", "PABC123", "low", "P2", ""),
			incident.Route{Rule: "payments-critical", Channel: true, Prefix: "pay", Private: true,
				InviteUsers: []string{"U0DEF1", "U0DEF2", "U012AB3CD"}, InviteGroups: []string{"@payments-oncall"}, Announce: "C0PAYMENTS"}},
		{"security", snap("Auth", "PAUTH", "high", "P3", "Security"),
			incident.Route{Rule: "security", Channel: true, Prefix: "sec", Private: true,
				InviteUsers: []string{"U0DEF1", "U0DEF2"}, InviteGroups: []string{"S0123ABCD"}}},
		{"platform, high urgency", snap("Kubernetes", "PK8S", "high", "P3", "", team("Platform", "PTEAM01")),
			incident.Route{Rule: "platform-major", Channel: true, Prefix: "inc",
				InviteUsers: []string{"U0DEF1", "U0DEF2"}, InviteGroups: []string{"@sre-oncall"}, Announce: "C0ANNOUNCE"}},
		{"checkout P3, low urgency", snap("Checkout API", "PABC123", "low", "P3", ""),
			incident.Route{Rule: "low-urgency", PostChannel: "C0LOWPRIO"}},
		{"synthetic checks", snap("Synthetic Checks", "PSYN", "high", "P1", ""),
			incident.Route{Rule: "synthetic-checks"}},
		{"no priority", snap("Search", "PSEARCH", "high", "", ""),
			incident.Route{Rule: "unprioritised", PostChannel: "C0TRIAGE"}},
		{"falls through to the default", snap("Search", "PSEARCH", "high", "P3", ""), def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tab.Route(tt.inc)); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
		})
	}
}

// A mapping that merges itself, or merges that multiply, end in one
// problem rather than a walk without end.
func TestParseMergeBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n  - &m0 {name: a, match: {urgency: low}}\n")
	for level := 1; level <= 6; level++ {
		fmt.Fprintf(&b, "  - &m%d {name: r%d, match: {urgency: high}, <<: [", level, level)
		for k := range 10 {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*m%d", level-1)
		}
		b.WriteString("]}\n")
	}
	for name, src := range map[string]string{
		"merges itself":   "rules:\n  - &a {name: x, <<: *a}\n",
		"merges multiply": b.String(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(src), def)
			if err == nil || strings.Count(err.Error(), "merges over 1000 mappings") != 1 {
				t.Errorf("Parse = %v, want one problem of too many merges", err)
			}
		})
	}
}
