package slack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// callJSON posts args as a JSON body with the token in Authorization, as
// slack-go does for views.open.
func callJSON(t *testing.T, s *Server, method string, args map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(args)
	req, _ := http.NewRequest(http.MethodPost, s.URL+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: body not JSON: %v", method, err)
	}
	return out
}

func TestAuthTestNamesTheTeam(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	got := call(t, s, "auth.test", nil)
	if got["team_id"] != DefaultTeamID || got["url"] != "https://fake.slack.com/" || got["user_id"] != BotUserID {
		t.Errorf("auth.test = %v, want team_id %s, url https://fake.slack.com/, user_id %s", got, DefaultTeamID, BotUserID)
	}
	s.SetTeam("T0ACME", "acme")
	if got := call(t, s, "auth.test", nil); got["team_id"] != "T0ACME" || got["url"] != "https://acme.slack.com/" {
		t.Errorf("auth.test after SetTeam = %v, want T0ACME at acme", got)
	}
}

func TestUsersInfo(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser("U0ADA", "ada@example.com", false)
	s.AddUser("U0GONE", "gone@example.com", true)

	user := func(got map[string]any) map[string]any {
		t.Helper()
		u, _ := got["user"].(map[string]any)
		if got["ok"] != true || u == nil {
			t.Fatalf("users.info = %v, want ok with a user", got)
		}
		return u
	}
	email := func(u map[string]any) any { return u["profile"].(map[string]any)["email"] }

	ada := user(call(t, s, "users.info", url.Values{"user": {"U0ADA"}}))
	if ada["id"] != "U0ADA" || ada["team_id"] != DefaultTeamID || email(ada) != "ada@example.com" || ada["deleted"] != false {
		t.Errorf("users.info U0ADA = %v, want her with her email", ada)
	}
	if gone := user(call(t, s, "users.info", url.Values{"user": {"U0GONE"}})); gone["deleted"] != true {
		t.Errorf("users.info of a deactivated user = %v, want deleted:true", gone)
	}
	if bot := user(call(t, s, "users.info", url.Values{"user": {BotUserID}})); bot["is_bot"] != true || email(bot) != nil {
		t.Errorf("users.info of the bot = %v, want is_bot and no email", bot)
	}
	wantError(t, call(t, s, "users.info", url.Values{"user": {"U0NOBODY"}}), "user_not_found")
	wantError(t, call(t, s, "users.info", nil), "user_not_found")

	s.HideEmails(true)
	if ada := user(call(t, s, "users.info", url.Values{"user": {"U0ADA"}})); email(ada) != nil {
		t.Errorf("users.info without users:read.email = %v, want no email", ada)
	}
}

const noteModal = `{"type":"modal","callback_id":"note","private_metadata":"P1234","title":{"type":"plain_text","text":"Add a note"},
"submit":{"type":"plain_text","text":"Add"},"blocks":[{"type":"input","block_id":"note","label":{"type":"plain_text","text":"Note"},
"element":{"type":"plain_text_input","action_id":"text","multiline":true}}]}`

func TestViewsOpen(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)

	got := callJSON(t, s, "views.open", map[string]any{"trigger_id": "1.2.abc", "view": json.RawMessage(noteModal)})
	v, _ := got["view"].(map[string]any)
	if got["ok"] != true || v["callback_id"] != "note" || v["private_metadata"] != "P1234" || !strings.HasPrefix(v["id"].(string), "V") {
		t.Fatalf("views.open = %v, want the view with its id", got)
	}
	views := s.Views()
	if len(views) != 1 || views[0].TriggerID != "1.2.abc" || views[0].ID != v["id"] {
		t.Fatalf("Views() = %+v, want the one opened", views)
	}
	var recorded map[string]any
	if err := json.Unmarshal(views[0].JSON, &recorded); err != nil || recorded["callback_id"] != "note" {
		t.Errorf("recorded view = %s, want the JSON sent", views[0].JSON)
	}

	// A form-encoded call works as well.
	if got := call(t, s, "views.open", url.Values{"trigger_id": {"9.9.form"}, "view": {noteModal}}); got["ok"] != true {
		t.Errorf("form-encoded views.open = %v, want ok", got)
	}

	s.ExpireTrigger("3.4.old")
	tests := []struct {
		name    string
		trigger string
		view    string
		want    string
	}{
		{"trigger used twice", "1.2.abc", noteModal, "exchanged_trigger_id"},
		{"trigger expired", "3.4.old", noteModal, "expired_trigger_id"},
		{"no trigger", "", noteModal, "invalid_trigger_id"},
		{"not a modal", "5.1", strings.Replace(noteModal, `"modal"`, `"home"`, 1), "invalid_arguments"},
		{"title too long", "5.2", strings.Replace(noteModal, "Add a note", strings.Repeat("n", 25), 1), "invalid_arguments"},
		{"input without submit", "5.3", strings.Replace(noteModal, `"submit":{"type":"plain_text","text":"Add"},`, "", 1), "invalid_arguments"},
		{"no view", "5.4", "", "invalid_arguments"},
		{"view not JSON", "5.5", "{", "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, s, "views.open", url.Values{"trigger_id": {tt.trigger}, "view": {tt.view}})
			wantError(t, got, tt.want)
			if tt.want == "invalid_arguments" {
				if md, _ := got["response_metadata"].(map[string]any); md == nil || md["messages"] == nil {
					t.Errorf("invalid_arguments answer = %v, want response_metadata.messages", got)
				}
			}
		})
	}
	if n := len(s.Views()); n != 2 {
		t.Errorf("Views() holds %d views after refusals, want 2", n)
	}
	if got := callJSON(t, s, "views.open", map[string]any{"trigger_id": "6.1"}); got["ok"] != false {
		t.Errorf("views.open without view = %v, want refused", got)
	}
}

func TestViewsOpenBadJSONBody(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"views.open", strings.NewReader("{"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	wantError(t, got, "invalid_json")
}

func TestGetPermalink(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	s.SetTeam("T0ACME", "acme")
	id := call(t, s, "conversations.create", url.Values{"name": {"inc-1"}})["channel"].(map[string]any)["id"].(string)
	root := call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"root"}})["ts"].(string)
	reply := call(t, s, "chat.postMessage", url.Values{"channel": {id}, "text": {"r"}, "thread_ts": {root}})["ts"].(string)

	want := "https://acme.slack.com/archives/" + id + "/p" + strings.Replace(root, ".", "", 1)
	if got := call(t, s, "chat.getPermalink", url.Values{"channel": {id}, "message_ts": {root}}); got["permalink"] != want || got["channel"] != id {
		t.Errorf("chat.getPermalink(root) = %v, want %s", got, want)
	}
	wantReply := "https://acme.slack.com/archives/" + id + "/p" + strings.Replace(reply, ".", "", 1) + "?thread_ts=" + root + "&cid=" + id
	if got := call(t, s, "chat.getPermalink", url.Values{"channel": {id}, "message_ts": {reply}}); got["permalink"] != wantReply {
		t.Errorf("chat.getPermalink(reply) = %v, want %s", got, wantReply)
	}
	wantError(t, call(t, s, "chat.getPermalink", url.Values{"channel": {id}, "message_ts": {"1.000001"}}), "message_not_found")
	wantError(t, call(t, s, "chat.getPermalink", url.Values{"channel": {"C404"}, "message_ts": {root}}), "channel_not_found")
}
