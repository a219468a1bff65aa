package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
)

// fakePDActions records the calls made and answers with err after delay.
type fakePDActions struct {
	mu    sync.Mutex
	calls []string
	err   error
	delay time.Duration
	level int
	// started, when set, is told of each call as it starts.
	started chan string
	// inFlight and maxInFlight count the calls running at once.
	inFlight, maxInFlight int
}

func (f *fakePDActions) do(ctx context.Context, call string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	err, delay, started := f.err, f.delay, f.started
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if started != nil {
		started <- call
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

func (f *fakePDActions) Acknowledge(ctx context.Context, from, id string) error {
	return f.do(ctx, "ack "+id+" as "+from)
}
func (f *fakePDActions) Resolve(ctx context.Context, from, id string) error {
	return f.do(ctx, "resolve "+id+" as "+from)
}
func (f *fakePDActions) Escalate(ctx context.Context, from, id, policy string, assignees []string) (int, error) {
	return f.level, f.do(ctx, fmt.Sprintf("escalate %s as %s (policy %s, assignees %v)", id, from, policy, assignees))
}
func (f *fakePDActions) AddNote(ctx context.Context, from, id, content string) error {
	return f.do(ctx, "note "+id+" as "+from+": "+content)
}
func (f *fakePDActions) PostStatusUpdate(ctx context.Context, from, id, message string) error {
	return f.do(ctx, "update "+id+" as "+from+": "+message)
}

func (f *fakePDActions) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type fakeActors map[string]incident.Actor

var errNoPagerDutyUser = errors.New("no PagerDuty user has the email ann@example.com")

func (f fakeActors) Lookup(ctx context.Context, id string) (incident.Actor, error) {
	if a, ok := f[id]; ok {
		return a, nil
	}
	return incident.Actor{}, errNoPagerDutyUser
}

func (f fakeActors) Reload(ctx context.Context, id string) (incident.Actor, error) {
	return f.Lookup(ctx, id)
}

type fakeResponderSlack struct {
	mu sync.Mutex
	// forms are the note forms opened: "incident in channel".
	forms []string
	// files are the files shared: "name in channel/thread" and content.
	files    []sharedFile
	err      error
	shareErr error
}

type sharedFile struct{ Where, Name, Title, Content string }

func (f *fakeResponderSlack) ShareFile(ctx context.Context, channelID, threadTS, name, title, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shareErr != nil {
		return f.shareErr
	}
	f.files = append(f.files, sharedFile{Where: channelID + "/" + threadTS, Name: name, Title: title, Content: content})
	return nil
}

func (f *fakeResponderSlack) OpenNoteForm(ctx context.Context, trigger, incidentID, channelID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.forms = append(f.forms, incidentID+" in "+channelID)
	return nil
}
func (f *fakeResponderSlack) OpenUpdateForm(ctx context.Context, trigger, incidentID, channelID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.forms = append(f.forms, "update of "+incidentID+" in "+channelID)
	return nil
}
func (f *fakeResponderSlack) Permalink(ctx context.Context, ch, ts string) (string, error) {
	return "https://acme.slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", ""), nil
}
func (f *fakeResponderSlack) UserName(ctx context.Context, id string) (string, error) {
	if id == "UGONE" {
		return "", errors.New("users.info UGONE: user_not_found")
	}
	return "Bob Builder", nil
}

type responderHarness struct {
	r     *incident.Responder
	pd    *fakePDActions
	slack *fakeResponderSlack
	store *store.Memory
}

// newResponderHarness has incident Q1 (#42, in channel C42) in status.
func newResponderHarness(t *testing.T, status incident.Status) *responderHarness {
	t.Helper()
	h := &responderHarness{pd: &fakePDActions{level: 2}, slack: &fakeResponderSlack{}, store: store.NewMemory()}
	h.put(t, status, "")
	h.r = incident.NewResponder(incident.ResponderOptions{
		Incidents: h.store, Claims: &store.MemoryClaims{}, Slack: h.slack, PagerDuty: h.pd,
		Actors: fakeActors{"UADA": {PagerDutyID: "PADA", Name: "Ada Lovelace", Email: "ada@example.com", Role: "user"},
			"UBOB": {PagerDutyID: "PBOB", Name: "Bob", Email: "bob@example.com", Role: "admin"},
			"UOBS": {PagerDutyID: "POBS", Name: "Olga", Email: "olga@example.com", Role: "observer"}},
	})
	return h
}

func (h *responderHarness) put(t *testing.T, status incident.Status, ackedBy string) {
	t.Helper()
	err := h.store.Update(context.Background(), "Q1", "", func(st *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		st.Snapshot = incident.Snapshot{ID: "Q1", Number: 42, Title: "DB down", Status: status, Complete: true,
			EscalationPolicy: incident.Ref{ID: "PPOL", Summary: "Ops"}, Assignees: []incident.Ref{{ID: "PADA"}}}
		st.ChannelID, st.AckedBy = "C42", ackedBy
		return incident.ChangeState, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (h *responderHarness) do(req incident.Request) incident.Answer {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return h.r.Do(ctx, req)
}

// TestResponderActs: each action calls PagerDuty once, as the clicking user,
// and says what it did.
func TestResponderActs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      incident.Request
		wantCall string
		wantText string
	}{
		{"acknowledge", incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1"}, "ack Q1 as ada@example.com", "Acknowledged #42"},
		{"resolve", incident.Request{Kind: incident.RequestResolve, ChannelID: "C42"}, "resolve Q1 as ada@example.com", "Resolved #42"},
		{"escalate", incident.Request{Kind: incident.RequestEscalate, IncidentID: "Q1"}, "escalate Q1 as ada@example.com (policy PPOL, assignees [PADA])", "level 2 of Ops"},
		{"note", incident.Request{Kind: incident.RequestNote, ChannelID: "C42", Note: "db-1 restarted"}, "note Q1 as ada@example.com: db-1 restarted", "Added your note"},
		{"timeline", incident.Request{Kind: incident.RequestTimeline, ChannelID: "C42", Message: incident.Message{Text: "failover done", UserID: "UBOB", TS: "1700000000.000100"}},
			"note Q1 as ada@example.com: failover done\n— Bob Builder in Slack: https://acme.slack.com/archives/C42/p1700000000000100", "Added your note"},
		{"status update", incident.Request{Kind: incident.RequestUpdate, ChannelID: "C42", Note: " Rolled back; error rate falling. "},
			"update Q1 as ada@example.com: Rolled back; error rate falling.", "Posted your status update on #42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, "triggered")
			tt.req.UserID = "UADA"
			a := h.do(tt.req)
			if calls := h.pd.Calls(); len(calls) != 1 || calls[0] != tt.wantCall {
				t.Errorf("PagerDuty calls = %q, want [%q]", calls, tt.wantCall)
			}
			if !strings.Contains(a.Text, tt.wantText) || !strings.Contains(a.Text, "Ada Lovelace") {
				t.Errorf("answer = %q, want it to say %q as Ada Lovelace", a.Text, tt.wantText)
			}
		})
	}
}

// TestFollowUps: /inc followup notes a follow-up in the incident's record,
// each text once (a double submission or a replay adds it once), escaped
// in the answers; /inc followups lists them; neither calls PagerDuty.
func TestFollowUps(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "resolved")
	if a := h.do(incident.Request{Kind: incident.RequestFollowUps, ChannelID: "C42", UserID: "UBOB"}); !strings.Contains(a.Text, "no follow-ups yet") {
		t.Errorf("followups of none = %q, want it to say there are none", a.Text)
	}
	for _, text := range []string{"Alert on pool <size>", "  Alert on pool <size> ", "Runbook for failover"} {
		h.do(incident.Request{Kind: incident.RequestFollowUp, ChannelID: "C42", UserID: "UBOB", Note: text})
	}
	if a := h.do(incident.Request{Kind: incident.RequestFollowUp, ChannelID: "C42", UserID: "UBOB", Note: " "}); !strings.Contains(a.Text, "needs some text") {
		t.Errorf("empty follow-up answer = %q, want it to ask for text", a.Text)
	}
	st, _, err := h.store.Get(context.Background(), "Q1", "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Alert on pool <size>", "Runbook for failover"}, st.FollowUps); diff != "" {
		t.Errorf("follow-ups stored (-want +got):\n%s", diff)
	}
	a := h.do(incident.Request{Kind: incident.RequestFollowUps, ChannelID: "C42", UserID: "UBOB"})
	if !strings.Contains(a.Text, "1. Alert on pool &lt;size&gt;") || !strings.Contains(a.Text, "2. Runbook for failover") {
		t.Errorf("followups = %q, want both, numbered and escaped", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %q, want none", calls)
	}
	// Who may add one is who may act: an observer may not.
	if a := h.do(incident.Request{Kind: incident.RequestFollowUp, ChannelID: "C42", UserID: "UOBS", Note: "Observe more"}); !strings.Contains(a.Text, "observer") {
		t.Errorf("observer's follow-up answer = %q, want the role's refusal", a.Text)
	}
	if st, _, _ := h.store.Get(context.Background(), "Q1", ""); len(st.FollowUps) != 2 {
		t.Errorf("follow-ups after an observer's = %q, want the 2 before", st.FollowUps)
	}
	if mem, ok := incident.MemoryOf(st); !ok || !cmp.Equal(mem.FollowUps, st.FollowUps) {
		t.Errorf("memory follow-ups = %v (%v), want the incident's", mem.FollowUps, ok)
	}
}

// TestResolveWithNote: /inc resolve <text> adds the text as a note first,
// so it is the last note before the resolution (the incident's memory
// keeps it as its resolution note); a note PagerDuty refuses resolves
// nothing.
func TestResolveWithNote(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	a := h.do(incident.Request{Kind: incident.RequestResolve, ChannelID: "C42", UserID: "UADA", Note: "failed over to db-2"})
	want := []string{"note Q1 as ada@example.com: failed over to db-2", "resolve Q1 as ada@example.com"}
	if diff := cmp.Diff(want, h.pd.Calls()); diff != "" {
		t.Errorf("PagerDuty calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(a.Text, "Resolved #42") || !strings.Contains(a.Text, "with your note") {
		t.Errorf("answer = %q, want it to say resolved with the note", a.Text)
	}

	failing := newResponderHarness(t, "triggered")
	failing.pd.err = &incident.Error{Kind: incident.KindRefused, Op: "note", Err: errors.New("refused")}
	failing.do(incident.Request{Kind: incident.RequestResolve, ChannelID: "C42", UserID: "UADA", Note: "failed over"})
	if calls := failing.pd.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "note ") {
		t.Errorf("PagerDuty calls after a refused note = %q, want the note only", calls)
	}
}

// TestNoCallNeeded: what the stored incident shows done, or what cannot
// be done, answers without calling PagerDuty.
func TestNoCallNeeded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   incident.Status
		req      incident.Request
		wantText string
	}{
		{"acknowledge an acknowledged incident", "acknowledged", incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"}, "already acknowledged by Ada"},
		{"resolve a resolved incident", "resolved", incident.Request{Kind: incident.RequestResolve, IncidentID: "Q1", UserID: "UADA"}, "already resolved"},
		{"no PagerDuty user", "triggered", incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UANN"}, errNoPagerDutyUser.Error()},
		{"outside an incident channel", "triggered", incident.Request{Kind: incident.RequestAcknowledge, ChannelID: "CRANDOM", UserID: "UADA"}, "not an incident channel"},
		{"unknown incident", "triggered", incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q9", UserID: "UADA"}, "does not know incident Q9"},
		{"empty note", "triggered", incident.Request{Kind: incident.RequestNote, ChannelID: "C42", UserID: "UADA"}, "needs some text"},
		{"empty status update", "triggered", incident.Request{Kind: incident.RequestUpdate, ChannelID: "C42", UserID: "UADA", Note: " \n "}, "status update needs some text"},
		{"status update outside an incident channel", "triggered", incident.Request{Kind: incident.RequestUpdate, ChannelID: "CRANDOM", UserID: "UADA", Note: "x"}, "not an incident channel"},
		{"status update by an observer", "triggered", incident.Request{Kind: incident.RequestUpdate, ChannelID: "C42", UserID: "UOBS", Note: "x"}, "may not change incidents"},
		{"status", "acknowledged", incident.Request{Kind: incident.RequestStatus, ChannelID: "C42", UserID: "UANN"}, "Status: *acknowledged* (first by Ada)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, tt.status)
			h.put(t, tt.status, "Ada")
			if a := h.do(tt.req); !strings.Contains(a.Text, tt.wantText) {
				t.Errorf("answer = %q, want %q in it", a.Text, tt.wantText)
			}
			if calls := h.pd.Calls(); len(calls) != 0 {
				t.Errorf("PagerDuty calls = %q, want none", calls)
			}
		})
	}
}

// TestDoubleClick: two clicks at once (two responders acknowledging, or
// one submitting a note twice) make one PagerDuty call; the other click
// waits for it and hears who did it, not an error.
func TestDoubleClick(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		req   incident.Request
		users []string
	}{
		{incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1"}, []string{"UADA", "UBOB"}},
		{incident.Request{Kind: incident.RequestNote, ChannelID: "C42", Note: "rolling back"}, []string{"UADA", "UADA"}},
	} {
		req := tt.req
		t.Run(string(req.Kind), func(t *testing.T) {
			t.Parallel()
			h := newResponderHarness(t, "triggered")
			h.pd.delay = 50 * time.Millisecond
			answers := make([]incident.Answer, 2)
			var wg sync.WaitGroup
			for i, user := range tt.users {
				wg.Go(func() {
					r := req
					r.UserID = user
					answers[i] = h.do(r)
				})
			}
			wg.Wait()
			if calls := h.pd.Calls(); len(calls) != 1 {
				t.Fatalf("PagerDuty calls = %q, want exactly one", calls)
			}
			texts := answers[0].Text + " | " + answers[1].Text
			if !strings.Contains(texts, "✓") || !strings.Contains(texts, "> just ") {
				t.Errorf("answers = %q, want one done and one naming who just did it", texts)
			}
		})
	}
}

// TestWaitOnFailedClaim: a click that finds another's claim waits for
// it; when that one fails, it acts itself rather than report an
// acknowledgement that never happened. Two responders adding the same
// words each add their own note.
func TestWaitOnFailedClaim(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.delay, h.pd.err, h.pd.started = 80*time.Millisecond, errors.New("HTTP 502"), make(chan string, 2)
	first := make(chan incident.Answer, 1)
	go func() {
		first <- h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"})
	}()
	<-h.pd.started // the first holds the claim and is calling PagerDuty
	h.pd.mu.Lock()
	h.pd.err = nil
	h.pd.mu.Unlock()
	second := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UBOB"})
	if a := <-first; !strings.Contains(a.Text, "502") {
		t.Errorf("first answer = %q, want the failure", a.Text)
	}
	if !strings.HasPrefix(second.Text, "✓") || !strings.Contains(second.Text, "as Bob") {
		t.Errorf("second answer = %q, want it acknowledged by Bob", second.Text)
	}
	h2 := newResponderHarness(t, "triggered")
	for _, u := range []string{"UADA", "UBOB"} {
		if a := h2.do(incident.Request{Kind: incident.RequestNote, IncidentID: "Q1", UserID: u, Note: "mitigated"}); !strings.HasPrefix(a.Text, "✓") {
			t.Errorf("%s's note = %q, want added", u, a.Text)
		}
	}
}

// TestReadOnlyRole: a PagerDuty observer is told their role may not
// change incidents; PagerDuty is not called.
func TestReadOnlyRole(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	a := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UOBS"})
	if !strings.Contains(a.Text, "*observer* role") {
		t.Errorf("answer = %q, want the role explained", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %q, want none", calls)
	}
}

// TestFailureReleases: PagerDuty refusing or not answering in time gives
// the explanation, and the next click tries again.
func TestFailureReleases(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.err = errors.New("PagerDuty refused: you do not have permission (HTTP 403)")
	if a := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"}); !strings.Contains(a.Text, "HTTP 403") {
		t.Errorf("answer = %q, want the refusal explained", a.Text)
	}
	h.pd.err, h.pd.delay = nil, time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	a := h.r.Do(ctx, incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"})
	if took := time.Since(start); took > 700*time.Millisecond || !strings.Contains(a.Text, "deadline") {
		t.Errorf("slow PagerDuty: answer %q after %v, want the deadline explained at the deadline", a.Text, took)
	}
	h.pd.delay = 0
	if a := h.do(incident.Request{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"}); !strings.HasPrefix(a.Text, "✓") {
		t.Errorf("retry answer = %q, want done", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 3 {
		t.Errorf("PagerDuty calls = %d, want 3 (each try reached PagerDuty)", len(calls))
	}
}

// TestNoteForm: the Add note button opens the form naming the incident
// and channel, calling nothing else; a note submitted from it that fails
// is shown in the form.
func TestNoteForm(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	if a := h.do(incident.Request{Kind: incident.RequestNoteForm, IncidentID: "Q1", ChannelID: "C42", UserID: "UADA", TriggerID: "T1"}); a.Text != "" {
		t.Errorf("answer = %q, want none (the form opens)", a.Text)
	}
	if len(h.slack.forms) != 1 || h.slack.forms[0] != "Q1 in C42" {
		t.Fatalf("note forms opened = %q, want the one of Q1 in C42", h.slack.forms)
	}
	a := h.do(incident.Request{Kind: incident.RequestNote, IncidentID: "Q1", UserID: "UANN", Note: "hi", FromForm: true})
	if a.FormError == "" || a.Text != "" {
		t.Errorf("answer = %+v, want the failure shown in the form", a)
	}
	h.slack.err = errors.New("expired_trigger_id")
	if a := h.do(incident.Request{Kind: incident.RequestNoteForm, IncidentID: "Q1", UserID: "UADA", TriggerID: "T2"}); !strings.Contains(a.Text, "/inc note") {
		t.Errorf("form failure answer = %q, want the alternative", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 0 {
		t.Errorf("PagerDuty calls = %q, want none", calls)
	}
}

// TestNotEnabled: without PagerDuty, acting says what to set; status and
// help still work.
func TestNotEnabled(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	r := incident.NewResponder(incident.ResponderOptions{Incidents: st, Claims: &store.MemoryClaims{}, Slack: &fakeResponderSlack{}})
	a := r.Do(context.Background(), incident.Request{Kind: incident.RequestHelp})
	if !strings.Contains(a.Text, "PAGERDUTY_API_TOKEN") {
		t.Errorf("help = %q, want what to set", a.Text)
	}
	err := st.Update(context.Background(), "Q1", "", func(s *incident.State, _ *incident.EventRecord) (incident.Change, error) {
		s.Snapshot, s.ChannelID = incident.Snapshot{ID: "Q1", Status: "triggered", Complete: true}, "C42"
		return incident.ChangeState, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Do(context.Background(), incident.Request{Kind: incident.RequestAcknowledge, ChannelID: "C42", UserID: "UADA"}); !strings.Contains(a.Text, "PAGERDUTY_API_TOKEN") {
		t.Errorf("/inc ack = %q, want what to set", a.Text)
	}
	if a := r.Do(context.Background(), incident.Request{Kind: incident.RequestStatus, ChannelID: "C42", UserID: "UADA"}); !strings.Contains(a.Text, "triggered") {
		t.Errorf("/inc status = %q, want the status", a.Text)
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want incident.Request
	}{
		{"", incident.Request{Kind: incident.RequestHelp}},
		{"ack", incident.Request{Kind: incident.RequestAcknowledge}},
		{" Acknowledge ", incident.Request{Kind: incident.RequestAcknowledge}},
		{"resolve", incident.Request{Kind: incident.RequestResolve}},
		{"resolve  failed over to db-2 ", incident.Request{Kind: incident.RequestResolve, Note: "failed over to db-2"}},
		{"escalate", incident.Request{Kind: incident.RequestEscalate}},
		{"status", incident.Request{Kind: incident.RequestStatus}},
		{"note", incident.Request{Kind: incident.RequestNoteForm}},
		{"note  db-1 is back ", incident.Request{Kind: incident.RequestNote, Note: "db-1 is back"}},
		{"note\tafter a tab", incident.Request{Kind: incident.RequestNote, Note: "after a tab"}},
		{"note\nfirst line\nsecond", incident.Request{Kind: incident.RequestNote, Note: "first line\nsecond"}},
		{"followup  add an alert on pool size ", incident.Request{Kind: incident.RequestFollowUp, Note: "add an alert on pool size"}},
		{"follow-up x", incident.Request{Kind: incident.RequestFollowUp, Note: "x"}},
		{"followups", incident.Request{Kind: incident.RequestFollowUps}},
		{"Export", incident.Request{Kind: incident.RequestExport}},
		{"Follow-ups", incident.Request{Kind: incident.RequestFollowUps}},
		{"reboot", incident.Request{Kind: incident.RequestHelp, Unknown: "reboot"}},
		{"update", incident.Request{Kind: incident.RequestUpdateForm}},
		{"update Rolled back; watching", incident.Request{Kind: incident.RequestUpdate, Note: "Rolled back; watching"}},
		{"update <@U0BOB123|bob> rolled back db &amp; cache", incident.Request{Kind: incident.RequestUpdate, Note: "@bob rolled back db & cache"}},
		{"lead", incident.Request{Kind: incident.RequestLead}},
		{"lead <@U0BOB123|bob>", incident.Request{Kind: incident.RequestLead, Target: "U0BOB123"}},
		{"lead <@W0BOB123>", incident.Request{Kind: incident.RequestLead, Target: "W0BOB123"}},
		{"lead bob", incident.Request{Kind: incident.RequestLead, Unknown: "bob"}},
		{"lead <@U0BOB123> <@U0ANN456>", incident.Request{Kind: incident.RequestLead, Unknown: "<@U0BOB123> <@U0ANN456>"}},
		{"lead <!channel>", incident.Request{Kind: incident.RequestLead, Unknown: "<!channel>"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := incident.ParseCommand(tt.text); got != tt.want {
				t.Errorf("ParseCommand(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

// TestNoteAnswerLost: a note whose answer never came may be in PagerDuty:
// the same note again is refused rather than added twice.
func TestNoteAnswerLost(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.err = &incident.Error{Kind: incident.KindMaybeDone, Op: "pagerduty notes.create", Err: context.DeadlineExceeded}
	h.do(incident.Request{Kind: incident.RequestNote, ChannelID: "C42", UserID: "UADA", Note: "failing over"})
	h.pd.err = nil
	if a := h.do(incident.Request{Kind: incident.RequestNote, ChannelID: "C42", UserID: "UADA", Note: "failing over"}); !strings.Contains(a.Text, "not done twice") {
		t.Errorf("the same note after a lost answer = %q, want refused", a.Text)
	}
	if calls := h.pd.Calls(); len(calls) != 1 {
		t.Errorf("PagerDuty calls = %q, want one", calls)
	}
}

// FuzzParseCommand: any /inc text parses to a known kind; a note keeps
// its text, and only help carries an unknown word.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "ack", "note db-1 is back", "NOTE  x", "status", "reboot now", "\u00a0ack", "note\t\n"} {
		f.Add(s)
	}
	known := map[incident.RequestKind]bool{incident.RequestHelp: true, incident.RequestAcknowledge: true, incident.RequestResolve: true,
		incident.RequestEscalate: true, incident.RequestStatus: true, incident.RequestNote: true, incident.RequestNoteForm: true}
	f.Fuzz(func(t *testing.T, text string) {
		req := incident.ParseCommand(text)
		if !known[req.Kind] {
			t.Fatalf("ParseCommand(%q).Kind = %q", text, req.Kind)
		}
		if req.Kind == incident.RequestNote && (req.Note == "" || !strings.Contains(text, req.Note)) {
			t.Fatalf("ParseCommand(%q) note = %q", text, req.Note)
		}
		if req.Unknown != "" && req.Kind != incident.RequestHelp {
			t.Fatalf("ParseCommand(%q) = %+v", text, req)
		}
	})
}

// TestStatusChangesOneAtATime: an acknowledgement and a resolution
// clicked at once reach PagerDuty one after the other, each answered as
// done (the first's read never races the second's write); a note does
// not wait for them.
func TestStatusChangesOneAtATime(t *testing.T) {
	t.Parallel()
	h := newResponderHarness(t, "triggered")
	h.pd.delay = 60 * time.Millisecond
	reqs := []incident.Request{
		{Kind: incident.RequestAcknowledge, IncidentID: "Q1", UserID: "UADA"},
		{Kind: incident.RequestResolve, IncidentID: "Q1", UserID: "UBOB"},
	}
	answers := make([]incident.Answer, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { answers[i] = h.do(req) })
	}
	wg.Wait()
	for i, a := range answers {
		if !strings.HasPrefix(a.Text, "✓") {
			t.Errorf("%s answered %q, want done", reqs[i].Kind, a.Text)
		}
	}
	if calls := h.pd.Calls(); len(calls) != 2 || h.pd.maxInFlight != 1 {
		t.Errorf("PagerDuty calls %q, %d at once; want both, one at a time", calls, h.pd.maxInFlight)
	}
}
