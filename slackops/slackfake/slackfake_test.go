package slackfake

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
}
