package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

func (f *fakePDActions) Change(ctx context.Context, from, id string, ch incident.IncidentChange) error {
	var set []string
	for _, kv := range [][2]string{{"priority", ch.Priority}, {"urgency", string(ch.Urgency)}, {"title", ch.Title}, {"assignee", ch.Assignee}} {
		if kv[1] != "" {
			set = append(set, kv[0]+"="+kv[1])
		}
	}
	return f.do(ctx, "change "+id+" as "+from+": "+strings.Join(set, " "))
}

func (f *fakePDActions) Page(ctx context.Context, from, requesterID, id, message string, targets []incident.PageTarget) error {
	var ts []string
	for _, t := range targets {
		kind := "user"
		if t.Policy {
			kind = "policy"
		}
		ts = append(ts, kind+":"+t.ID)
	}
	return f.do(ctx, fmt.Sprintf("page %s as %s (requester %s) %v: %s", id, from, requesterID, ts, message))
}

// testGroups are the Slack user groups the fake Slack knows: SOPS has
// Bob and Ann (who has no PagerDuty user), SNOONE only Ann, SBIG more
// people than a page looks up.
var testGroups = map[string][]string{
	"SOPS": {"UBOB", "UANN"}, "SNOONE": {"UANN"}, "SBIG": bigGroup(30),
}

func bigGroup(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("UMEMBER%02d", i)
	}
	return ids
}

func (f *fakeResponderSlack) GroupMembers(ctx context.Context, group string) ([]string, error) {
	m, ok := testGroups[group]
	if !ok {
		return nil, fmt.Errorf("%s: %w", group, incident.ErrGroupNotFound)
	}
	return m, nil
}

// testPolicies are the escalation policies the fake PagerDuty knows.
var testPolicies = []incident.Ref{{ID: "PPOL", Summary: "Ops"}, {ID: "PDB", Summary: "Database"}, {ID: "PDBX", Summary: "Database Ops"}}

// Policies and OnCalls read: they fail with f.err but are not recorded
// among the calls, which are the writes.
func (f *fakePDActions) Policies(ctx context.Context, query string) ([]incident.Ref, error) {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	var out []incident.Ref
	for _, p := range testPolicies {
		if strings.Contains(strings.ToLower(p.Summary), strings.ToLower(query)) {
			out = append(out, p)
		}
	}
	return out, err
}

func (f *fakePDActions) Services(ctx context.Context, query string) ([]incident.ServicePolicy, error) {
	var out []incident.ServicePolicy
	for _, s := range []incident.ServicePolicy{{Service: "Checkout API", Policy: incident.Ref{ID: "PPOL", Summary: "Ops"}}, {Service: "Checkout Web", Policy: incident.Ref{ID: "PPOL", Summary: "Ops"}}} {
		if strings.Contains(strings.ToLower(s.Service), strings.ToLower(query)) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakePDActions) OnCalls(ctx context.Context, policyID string) ([]incident.OnCall, error) {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if policyID != "PPOL" {
		return nil, err
	}
	until := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	return []incident.OnCall{
		{Level: 1, User: "Ada Lovelace", Schedule: "Primary <eu>", Until: until},
		{Level: 1, User: "Alan Turing", Schedule: "Primary <us>", Until: until},
		{Level: 2, User: "Grace Hopper"},
	}, err
}

// TestParseArguments: the subcommands that change the incident, page or
// ask who is on call keep their argument as Slack sent it (mentions
// escaped); a note's text becomes plain.
func TestParseArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want incident.Request
	}{
		{"priority P2", incident.Request{Kind: incident.RequestPriority, Note: "P2"}},
		{"URGENCY  low", incident.Request{Kind: incident.RequestUrgency, Note: "low"}},
		{"title Disk &amp; DB down", incident.Request{Kind: incident.RequestTitle, Note: "Disk &amp; DB down"}},
		{"reassign <@UBOB|bob>", incident.Request{Kind: incident.RequestReassign, Note: "<@UBOB|bob>"}},
		{"page <@UBOB|bob> join\nthe bridge", incident.Request{Kind: incident.RequestPage, Note: "<@UBOB|bob> join\nthe bridge"}},
		{"oncall", incident.Request{Kind: incident.RequestOnCall}},
		{"oncall Database Ops", incident.Request{Kind: incident.RequestOnCall, Note: "Database Ops"}},
		{"note ask <@UBOB|bob> &lt;now&gt;", incident.Request{Kind: incident.RequestNote, Note: "ask @bob <now>"}},
	}
	for _, tt := range tests {
		if got := incident.ParseCommand(tt.text); got != tt.want {
			t.Errorf("ParseCommand(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

// TestPlainText: what Slack escapes in a command reads as plain text in
// PagerDuty.
func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a &amp; b &lt;c&gt;", "a & b <c>"},
		{"ask <@U1|ada> and <@U2>", "ask @ada and @U2"},
		{"in <#C1|ops> <!here> <!subteam^S1|@dba> <!subteam^S2>", "in #ops @here @dba @subteam^S2"},
		{"see <https://x.test/a|the runbook> or <https://x.test/b>", "see the runbook (https://x.test/a) or https://x.test/b"},
		{"mail <mailto:a@x.test|a@x.test>", "mail a@x.test"},
		{"unclosed <@U1", "unclosed <@U1"},
	}
	for _, tt := range tests {
		if got := incident.PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestResponderChanges: each change and page calls PagerDuty once, as
// the asker, with what they named, and says what it did.
func TestResponderChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		wantCall string
		wantText string
	}{
		{"priority", "priority p2", "change Q1 as ada@example.com: priority=p2", "Set #42's priority to p2"},
		{"urgency", "urgency LOW", "change Q1 as ada@example.com: urgency=low", "Set #42's urgency to low"},
		{"title", "title Disk &amp; <@UBOB|bob> down", "change Q1 as ada@example.com: title=Disk & @bob down", "Renamed #42 to “Disk &amp; @bob down”"},
		{"reassign", "reassign <@UBOB|bob>", "change Q1 as ada@example.com: assignee=PBOB", "Reassigned #42 to Bob"},
		{"page people", "page <@UBOB|bob> <@UADA> join the bridge &amp; check db-1",
			"page Q1 as ada@example.com (requester PADA) [user:PBOB user:PADA]: join the bridge & check db-1", "Paged Bob, Ada Lovelace for #42"},
		{"page a user group and a person in it", "page <!subteam^SOPS|@ops> <@UBOB> db-1",
			"page Q1 as ada@example.com (requester PADA) [user:PBOB]: db-1", "Paged Bob for #42"},
		{"page a policy, the longest name that fits", "page database ops look at db-1",
			"page Q1 as ada@example.com (requester PADA) [policy:PDBX]: look at db-1", "Paged Database Ops for #42"},
		{"page without a message", "page Ops",
			"page Q1 as ada@example.com (requester PADA) [policy:PPOL]: Please help with #42 DB down", "Paged Ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, "triggered")
			req := incident.ParseCommand(tt.text)
			req.UserID, req.ChannelID = "UADA", "C42"
			a := h.do(req)
			if calls := h.pd.Calls(); len(calls) != 1 || calls[0] != tt.wantCall {
				t.Errorf("PagerDuty calls = %q, want [%q]", calls, tt.wantCall)
			}
			if !strings.HasPrefix(a.Text, "✓ "+tt.wantText) || !strings.Contains(a.Text, "as Ada Lovelace") {
				t.Errorf("answer = %q, want ✓ %s… as Ada Lovelace", a.Text, tt.wantText)
			}
		})
	}
}

// TestChangeRefusedBeforePagerDuty: a bad argument, a change the stored
// incident already shows, someone without a PagerDuty user or a role
// that may not act is answered plainly, and PagerDuty is not written.
func TestChangeRefusedBeforePagerDuty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   incident.Status
		user     string
		text     string
		wantText string
	}{
		{"no priority", "triggered", "UADA", "priority", "Name a priority"},
		{"the priority it has", "triggered", "UADA", "priority p1", "#42 is already P1"},
		{"an urgency that is none", "triggered", "UADA", "urgency medium", "Urgency is `high` or `low`"},
		{"the urgency it has", "triggered", "UADA", "urgency high", "already high urgency"},
		{"empty title", "triggered", "UADA", "title  ", "A title needs some text"},
		{"the title it has", "triggered", "UADA", "title DB down", "already has that title"},
		{"reassign to no one", "triggered", "UADA", "reassign", "Name one person"},
		{"reassign by name", "triggered", "UADA", "reassign bob", "Name one person"},
		{"reassign to two", "triggered", "UADA", "reassign <@UBOB> <@UADA>", "Name one person"},
		{"reassign to someone without a PagerDuty user", "triggered", "UADA", "reassign <@UANN|ann>", "<@UANN> has no PagerDuty user"},
		{"reassign a resolved incident", "resolved", "UADA", "reassign <@UBOB>", "#42 is resolved"},
		{"reassign as an observer", "triggered", "UOBS", "reassign <@UBOB>", "*observer* role"},
		{"change without a PagerDuty user", "triggered", "UANN", "urgency low", errNoPagerDutyUser.Error()},
		{"page no one", "triggered", "UADA", "page", "Name whom to page"},
		{"page an unknown user group", "triggered", "UADA", "page <!subteam^S1|@dba> help", "Slack has no user group <!subteam^S1>"},
		{"page a user group of no PagerDuty users", "triggered", "UADA", "page <!subteam^SNOONE> help", "No one in those user groups has a PagerDuty user"},
		{"page a big user group", "triggered", "UADA", "page <!subteam^SBIG>", "more than 25 people"},
		{"page an unknown policy", "triggered", "UADA", "page Payments please", "no escalation policy whose name starts “Payments please”"},
		{"page a name that only starts a policy's", "triggered", "UADA", "page Data now", "no escalation policy"},
		{"page someone without a PagerDuty user", "triggered", "UADA", "page <@UANN> help", "<@UANN> has no PagerDuty user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, tt.status)
			if err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
				st.Snapshot.Priority, st.Snapshot.Urgency = "P1", incident.UrgencyHigh
				return incident.ChangeState, nil
			}); err != nil {
				t.Fatal(err)
			}
			req := incident.ParseCommand(tt.text)
			req.UserID, req.ChannelID = tt.user, "C42"
			if a := h.do(req); !strings.Contains(a.Text, tt.wantText) || strings.HasPrefix(a.Text, "✓") {
				t.Errorf("answer = %q, want %q in it", a.Text, tt.wantText)
			}
			if calls := h.pd.Calls(); len(calls) != 0 {
				t.Errorf("PagerDuty calls = %q, want none", calls)
			}
		})
	}
}

// TestChangeOutsideIncidentChannel: a change needs an incident.
func TestChangeOutsideIncidentChannel(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	for _, text := range []string{"priority P2", "urgency low", "title x", "reassign <@UBOB>", "page <@UBOB>"} {
		req := incident.ParseCommand(text)
		req.UserID, req.ChannelID = "UADA", "CRANDOM"
		if a := h.do(req); !strings.Contains(a.Text, "not an incident channel") {
			t.Errorf("/inc %s outside an incident channel = %q, want it to say so", text, a.Text)
		}
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %q, want none", calls)
	}
}

// TestChangeRefusedByPagerDuty: PagerDuty's refusal is told, escaped,
// and changes nothing here: a change may be asked again at once, and
// once made, the same one right after is not made twice.
func TestChangeRefusedByPagerDuty(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.err = errors.New("PagerDuty has no priority P9; its priorities are P1, P2 <x>")
	req := incident.ParseCommand("priority P9")
	req.UserID, req.ChannelID = "UADA", "C42"
	if a := h.do(req); a.Text != "PagerDuty has no priority P9; its priorities are P1, P2 &lt;x&gt;" {
		t.Errorf("answer = %q, want PagerDuty's refusal, escaped", a.Text)
	}
	h.pd.mu.Lock()
	h.pd.err = nil
	h.pd.mu.Unlock()
	req = incident.ParseCommand("priority P2")
	req.UserID, req.ChannelID = "UADA", "C42"
	if a := h.do(req); !strings.HasPrefix(a.Text, "✓") {
		t.Errorf("answer after the refusal = %q, want it done", a.Text)
	}
	if a := h.do(req); !strings.Contains(a.Text, "just set this priority") {
		t.Errorf("the same change again right after = %q, want it named as just done", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 2 {
		t.Errorf("PagerDuty calls = %q, want the refused one and one change", calls)
	}
}

// TestSameChangeAtOnce: the same change asked twice at once (a double
// submit, two responders) is made once; a different change is another.
func TestSameChangeAtOnce(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.delay = 50 * time.Millisecond
	answers := make([]incident.Answer, 3)
	var wg sync.WaitGroup
	for i, c := range []struct{ user, text string }{{"UADA", "priority P2"}, {"UBOB", "priority p2"}, {"UADA", "priority P3"}} {
		wg.Go(func() {
			req := incident.ParseCommand(c.text)
			req.UserID, req.ChannelID = c.user, "C42"
			answers[i] = h.do(req)
		})
	}
	wg.Wait()
	calls := h.pd.Calls()
	if len(calls) != 2 {
		t.Fatalf("PagerDuty calls = %q, want one per distinct change", calls)
	}
	texts := answers[0].Text + " | " + answers[1].Text
	if !strings.Contains(texts, "✓") || !strings.Contains(texts, "> just set this priority") {
		t.Errorf("answers = %q, want one done and one naming who just did it", texts)
	}
}

// downActors is fakeActors whose look-up of UDOWN fails for now (PagerDuty
// did not answer).
type downActors struct{ fakeActors }

func (d downActors) Lookup(ctx context.Context, id string) (incident.Actor, error) {
	if id == "UDOWN" {
		return incident.Actor{}, &incident.Error{Kind: incident.KindTransient, Op: "pagerduty.users", Err: errors.New("PagerDuty did not answer in time")}
	}
	return d.fakeActors.Lookup(ctx, id)
}

// TestNamedPersonLookupFails: a person named whose look-up failed is not
// called one without a PagerDuty user: the failure is told, and nothing
// is changed or paged. A user group's member without one is left out,
// and the answer counts them.
func TestNamedPersonLookupFails(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.r = incident.NewResponder(incident.ResponderOptions{
		Incidents: h.store, Claims: &store.MemoryClaims{}, Slack: h.slack, PagerDuty: h.pd,
		Actors: downActors{fakeActors{"UADA": {PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "user"},
			"UBOB": {PagerDutyID: "PBOB", Name: "Bob", Email: "bob@example.com", Role: "admin"}}},
	})
	for _, text := range []string{"reassign <@UDOWN>", "page <@UBOB> <@UDOWN> help"} {
		req := incident.ParseCommand(text)
		req.UserID, req.ChannelID = "UADA", "C42"
		if a := h.do(req); !strings.Contains(a.Text, "PagerDuty did not answer in time") || strings.Contains(a.Text, "has no PagerDuty user") {
			t.Errorf("/inc %s = %q, want the failure told", text, a.Text)
		}
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %q, want none", calls)
	}
	req := incident.ParseCommand("page <!subteam^SOPS>")
	req.UserID, req.ChannelID = "UADA", "C42"
	if a := h.do(req); !strings.HasSuffix(a.Text, "1 member of the user groups, without a PagerDuty user, left out.") {
		t.Errorf("/inc page @ops = %q, want Ann counted as left out", a.Text)
	}
}

// TestPageMaybeSent: a page PagerDuty may have taken without answering is
// not sent again right after: the same page is answered as just sent.
func TestPageMaybeSent(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.err = &incident.Error{Kind: incident.KindMaybeDone, Op: "pagerduty.responder_requests", Err: errors.New("no answer from PagerDuty")}
	req := incident.ParseCommand("page <@UBOB> join")
	req.UserID, req.ChannelID = "UADA", "C42"
	if a := h.do(req); !strings.Contains(a.Text, "no answer from PagerDuty") {
		t.Errorf("first page = %q, want the lost answer told", a.Text)
	}
	h.pd.mu.Lock()
	h.pd.err = nil
	h.pd.mu.Unlock()
	if a := h.do(req); !strings.Contains(a.Text, "just sent this page") {
		t.Errorf("the same page again = %q, want it named as just sent", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 1 {
		t.Errorf("PagerDuty calls = %q, want one", calls)
	}
}
