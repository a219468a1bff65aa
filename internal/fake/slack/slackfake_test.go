package slack

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, s *Server, method string, args url.Values) map[string]any {
	t.Helper()
	if args == nil {
		args = url.Values{}
	}
	if !args.Has("token") {
		args.Set("token", DefaultToken)
	}
	resp, err := http.PostForm(s.URL+method, args)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: status %d, body not JSON: %v", method, resp.StatusCode, err)
	}
	return out
}

func wantError(t *testing.T, got map[string]any, code string) {
	t.Helper()
	if got["ok"] != false || got["error"] != code {
		t.Errorf("answer = %v, want ok:false error %q", got, code)
	}
}

func TestRules(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)

	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"inc-1"}, "token": {"xoxb-other"}}), "invalid_auth")
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"Inc 1"}}), "invalid_name_specials")
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {strings.Repeat("a", 81)}}), "invalid_name_maxlength")
	created := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}})
	id := created["channel"].(map[string]any)["id"].(string)
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"inc-1"}}), "name_taken")
	s.CreateChannel("old", true)
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"old"}}), "name_taken")
	other := s.CreateChannel("someone-elses", false)
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {other}, "text": {"hi"}}), "not_in_channel")
	wantError(t, call(t, s, "conversations.setTopic", url.Values{"channel": {id}, "topic": {strings.Repeat("t", 251)}}), "too_long")
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {strings.Repeat("x", 40001)}}), "msg_too_long")
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"x"},
		"blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]`}}), "invalid_blocks")
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"x"}, "thread_ts": {"1.2"}}), "thread_not_found")

	root := call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"root"},
		"blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"root"}}]`}})
	ts := root["ts"].(string)
	reply := call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"r1"}, "thread_ts": {ts}})
	// A reply to a reply joins the root's thread.
	call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"r2"}, "thread_ts": {reply["ts"].(string)}})
	// chat.update with text only drops the blocks, as Slack does.
	call(t, s, "chat.update", url.Values{"channel": {id}, "ts": {ts}, "text": {"edited"}})
	wantError(t, call(t, s, "chat.update", url.Values{"channel": {id}, "ts": {"9.9"}, "text": {"x"}}), "message_not_found")

	ch, _ := s.Channel(id)
	if got := len(ch.Replies(ts)); got != 2 {
		t.Errorf("thread has %d replies, want 2", got)
	}
	if top := ch.TopLevel(); len(top) != 1 || top[0].Text != "edited" || len(top[0].Blocks) != 0 || top[0].Edits != 1 {
		t.Errorf("root after text-only update = %+v, want text edited and blocks gone", top)
	}

	s.Archive(id)
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"x"}}), "is_archived")
}

func TestInvite(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	id := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}})["channel"].(map[string]any)["id"].(string)
	s.SetUser("UGONE", "user_not_found")

	wantError(t, call(t, s, "conversations.invite", url.Values{"channel": {id}, "users": {"U1,UGONE"}}), "user_not_found")
	if ch, _ := s.Channel(id); len(ch.Members) != 1 {
		t.Errorf("members after a failed invite without force = %v, want only the bot", ch.Members)
	}
	got := call(t, s, "conversations.invite", url.Values{"channel": {id}, "users": {"U1,UGONE"}, "force": {"true"}})
	wantError(t, got, "user_not_found")
	if errs, _ := got["errors"].([]any); len(errs) != 1 {
		t.Errorf("errors = %v, want one per failed user", got["errors"])
	}
	if ch, _ := s.Channel(id); strings.Join(ch.Members, ",") != BotUserID+",U1" {
		t.Errorf("members after force = %v, want the bot and U1", ch.Members)
	}
	wantError(t, call(t, s, "conversations.invite", url.Values{"channel": {id}, "users": {"U1"}}), "already_in_channel")
}

func TestFaults(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.Fail("conversations.create", Fault{Status: 429, RetryAfter: 3}, Fault{Error: "fatal_error", Apply: true})

	resp, err := http.PostForm(s.URL+"conversations.create", url.Values{"token": {DefaultToken}, "name": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("first call = %d Retry-After %q, want 429 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"a"}}), "fatal_error")
	if _, ok := s.Channel("a"); !ok {
		t.Errorf("an Apply fault did not carry the call out")
	}
	if n := s.Calls("conversations.create"); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}

	s.Fail("auth.test", Fault{Reset: true})
	if _, err := http.PostForm(s.URL+"auth.test", url.Values{"token": {DefaultToken}}); err == nil {
		t.Errorf("a Reset fault answered")
	}

	s.Fail("auth.test", Fault{Delay: 300 * time.Millisecond})
	start := time.Now()
	if got := call(t, s, "auth.test", nil); got["ok"] != true {
		t.Errorf("slow call = %v, want ok", got)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("slow call took %v, want at least 300ms", d)
	}

	ran := 0
	s.Fail("conversations.create", Fault{Run: func() {
		if _, ok := s.Channel("b"); ok {
			t.Errorf("Run called after the call took effect")
		}
		ran++
	}})
	call(t, s, "conversations.create", url.Values{"name": {"b"}})
	call(t, s, "conversations.create", url.Values{"name": {"c"}})
	if _, ok := s.Channel("b"); !ok || ran != 1 {
		t.Errorf("a Run fault ran %d times, channel b made %v; want once, and the call carried out", ran, ok)
	}
}

func channelID(t *testing.T, got map[string]any) string {
	t.Helper()
	ch, ok := got["channel"].(map[string]any)
	if !ok {
		t.Fatalf("answer = %v, want a channel", got)
	}
	return ch["id"].(string)
}

func names(got map[string]any) []string {
	var out []string
	chs, _ := got["channels"].([]any)
	for _, c := range chs {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	return out
}

// TestConversationsInfoSharing: conversations.info tells a channel shared
// with another organisation (Slack Connect) as Slack does.
func TestConversationsInfoSharing(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	id := s.CreateChannel("announce", false)
	info := func() map[string]any {
		ch, _ := call(t, s, "conversations.info", url.Values{"channel": {id}})["channel"].(map[string]any)
		return ch
	}
	if ch := info(); ch["is_ext_shared"] != false || ch["is_shared"] != false {
		t.Errorf("conversations.info of a channel not shared = %v, want is_shared and is_ext_shared false", ch)
	}
	s.ShareExternally(id)
	if ch := info(); ch["is_ext_shared"] != true || ch["is_shared"] != true || ch["is_org_shared"] != false {
		t.Errorf("conversations.info of a channel shared with another organisation = %v, want is_shared and is_ext_shared true", ch)
	}
}

func TestPrivateChannels(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	created := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}, "is_private": {"true"}})
	id := channelID(t, created)
	if created["channel"].(map[string]any)["is_private"] != true {
		t.Errorf("created = %v, want is_private", created)
	}
	call(t, s, "conversations.create", url.Values{"name": {"inc-2"}, "is_private": {"false"}})
	hidden := s.CreatePrivateChannel("someone-elses-secret")
	wantError(t, call(t, s, "conversations.create", url.Values{"name": {"someone-elses-secret"}}), "name_taken")

	if got := names(call(t, s, "conversations.list", nil)); strings.Join(got, ",") != "inc-2" {
		t.Errorf("list (default types) = %v, want the public channel only", got)
	}
	if got := names(call(t, s, "conversations.list", url.Values{"types": {"public_channel,private_channel"}})); strings.Join(got, ",") != "inc-1,inc-2" {
		t.Errorf("list (public and private) = %v, want both of the bot's channels and not the hidden one", got)
	}
	if got := names(call(t, s, "conversations.list", url.Values{"types": {"private_channel"}})); strings.Join(got, ",") != "inc-1" {
		t.Errorf("list (private) = %v, want inc-1", got)
	}

	// A private channel the bot is not in is invisible to it.
	wantError(t, call(t, s, "chat.postMessage", url.Values{"channel": {hidden}, "text": {"x"}}), "channel_not_found")
	wantError(t, call(t, s, "conversations.join", url.Values{"channel": {hidden}}), "channel_not_found")
	wantError(t, call(t, s, "conversations.info", url.Values{"channel": {hidden}}), "channel_not_found")
	wantError(t, call(t, s, "conversations.join", url.Values{"channel": {id}}), "method_not_supported_for_channel_type")
	s.AddMembers(hidden, BotUserID)
	if got := call(t, s, "chat.postMessage", url.Values{"channel": {hidden}, "text": {"x"}}); got["ok"] != true {
		t.Errorf("post after the bot was invited = %v", got)
	}
	if ch, _ := s.Channel(hidden); !ch.Private || ch.Creator != HumanUserID || len(ch.Messages) != 1 || ch.Messages[0].User != BotUserID {
		t.Errorf("hidden channel = %+v", ch)
	}
}

func TestUsers(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	id := channelID(t, call(t, s, "conversations.create", url.Values{"name": {"inc-1"}}))

	// Without a directory every id is a user.
	if got := call(t, s, "conversations.invite", url.Values{"channel": {id}, "users": {"UANY"}}); got["ok"] != true {
		t.Errorf("invite before AddUser = %v, want ok", got)
	}

	s.AddUser("UADA", "ada@example.com", false)
	s.AddUser("UGONE", "gone@example.com", true)
	s.AddUser("UIN", "in@example.com", false)
	s.AddMembers(id, "UIN")

	got := call(t, s, "users.lookupByEmail", url.Values{"email": {"ADA@example.com"}})
	if u, _ := got["user"].(map[string]any); got["ok"] != true || u["id"] != "UADA" || u["deleted"] != false {
		t.Errorf("lookupByEmail(ada) = %v", got)
	}
	wantError(t, call(t, s, "users.lookupByEmail", url.Values{"email": {"nobody@example.com"}}), "users_not_found")
	wantError(t, call(t, s, "users.lookupByEmail", url.Values{"email": {"gone@example.com"}}), "users_not_found")

	got = call(t, s, "conversations.invite", url.Values{"channel": {id}, "users": {"UADA,UGONE,UNKNOWN,UIN"}, "force": {"true"}})
	wantError(t, got, "user_is_deactivated")
	want := map[string]string{"UGONE": "user_is_deactivated", "UNKNOWN": "user_not_found", "UIN": "already_in_channel"}
	errs, _ := got["errors"].([]any)
	for _, e := range errs {
		e := e.(map[string]any)
		if want[e["user"].(string)] != e["error"] || e["ok"] != false {
			t.Errorf("per-user error %v, want %v", e, want)
		}
		delete(want, e["user"].(string))
	}
	if len(want) != 0 {
		t.Errorf("errors = %v, missing %v", errs, want)
	}
	if ch, _ := s.Channel(id); strings.Join(ch.Members, ",") != BotUserID+",UANY,UIN,UADA" {
		t.Errorf("members = %v, want UADA invited", ch.Members)
	}

	s.Fail("users.lookupByEmail", Fault{Status: 429, RetryAfter: 1})
	resp, err := http.PostForm(s.URL+"users.lookupByEmail", url.Values{"token": {DefaultToken}, "email": {"ada@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Errorf("lookupByEmail with a fault = %d, want 429", resp.StatusCode)
	}
}

func TestUserGroups(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUserGroup("S0SRE", "sre", "U1", "U2")
	s.AddUserGroup("S0OLD", "old", "U3")
	s.DisableUserGroup("S0OLD")

	got := call(t, s, "usergroups.list", nil)
	gs, _ := got["usergroups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["handle"] != "sre" || gs[0].(map[string]any)["id"] != "S0SRE" {
		t.Errorf("usergroups.list = %v, want the enabled group only", got)
	}
	if gs, _ := call(t, s, "usergroups.list", url.Values{"include_disabled": {"true"}})["usergroups"].([]any); len(gs) != 2 {
		t.Errorf("usergroups.list(include_disabled) = %v, want both", gs)
	}
	got = call(t, s, "usergroups.users.list", url.Values{"usergroup": {"S0SRE"}})
	if users, _ := got["users"].([]any); len(users) != 2 || users[0] != "U1" {
		t.Errorf("usergroups.users.list = %v", got)
	}
	wantError(t, call(t, s, "usergroups.users.list", url.Values{"usergroup": {"S0NONE"}}), "no_such_subteam")
	wantError(t, call(t, s, "usergroups.users.list", url.Values{"usergroup": {"S0OLD"}}), "no_such_subteam")
	if got := call(t, s, "usergroups.users.list", url.Values{"usergroup": {"S0OLD"}, "include_disabled": {"true"}}); got["ok"] != true {
		t.Errorf("usergroups.users.list(disabled, include_disabled) = %v", got)
	}

	s.Fail("usergroups.users.list", Fault{Error: "ratelimited"})
	wantError(t, call(t, s, "usergroups.users.list", url.Values{"usergroup": {"S0SRE"}}), "ratelimited")
	s.Fail("usergroups.list", Fault{Status: 503})
	resp, err := http.PostForm(s.URL+"usergroups.list", url.Values{"token": {DefaultToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || s.Calls("usergroups.list") != 3 {
		t.Errorf("usergroups.list with a fault = %d (%d calls), want 503 on the third call", resp.StatusCode, s.Calls("usergroups.list"))
	}
}

func TestAddMessageHistory(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	id := channelID(t, call(t, s, "conversations.create", url.Values{"name": {"inc-1"}}))
	call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"mine"}})
	s.AddMessage(id, Message{User: "UOTHER", Text: "theirs", Metadata: json.RawMessage(`{"event_type":"x","event_payload":{}}`)})
	got := call(t, s, "conversations.history", url.Values{"channel": {id}, "include_all_metadata": {"true"}})
	msgs, _ := got["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["user"] != "UOTHER" || msgs[1].(map[string]any)["user"] != BotUserID {
		t.Errorf("history = %v, want the other user's message first, then the bot's", msgs)
	}
}
