package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

// The Slack half of the loop: the page's buttons, note form and /inc box
// become the signed requests Slack would send the function for the
// person the page acts as, and the answers Slack would show only to them
// (ephemeral) are shown under the channel.

// Paths of the page's responder requests.
const (
	// ActPath clicks a root message's responder button: form fields
	// incident, action (incident_acknowledge, …) and user (a Slack user
	// id of People).
	ActPath = PagePath + "act"
	// SubmitPath submits the note modal the function opened: view (its
	// id), user and text.
	SubmitPath = PagePath + "submit"
	// CommandPath runs /inc: channel, user and text.
	CommandPath = PagePath + "command"
	// responsePath is the response_url the sandbox gives the function:
	// what the function posts there is the ephemeral answer.
	responsePath = PagePath + "respond/"
)

// slackRequestTimeout bounds a request to the function's Slack paths;
// the function answers Slack within 3 s.
const slackRequestTimeout = 10 * time.Second

// maxEphemerals is how many answers the page keeps under a channel.
const maxEphemerals = 3

// respondActions are the action ids of the root message's responder
// buttons.
var respondActions = []string{"incident_acknowledge", "incident_resolve", "incident_escalate", "incident_note", "incident_update", "incident_lead"}

// reminderActions are the action ids only a reminder to post a status
// update carries, besides Post update.
var reminderActions = []string{"incident_snooze_30m", "incident_snooze_2h"}

// ActAnswer is what a responder request answers the page, as JSON.
type ActAnswer struct {
	// Text is the answer only the responder sees (ephemeral), "" for none.
	Text string `json:"text,omitempty"`
	// View is the modal the function opened, to be filled in and
	// submitted to SubmitPath.
	View *ModalView `json:"view,omitempty"`
	// Errors are the modal's errors by block id: it stays open.
	Errors map[string]string `json:"errors,omitempty"`
}

// ModalView is a modal the function opened through views.open.
type ModalView struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Label  string `json:"label"`
	Submit string `json:"submit"`
}

// ephemeralView is an answer shown to one person under a channel.
type ephemeralView struct {
	At      string
	User    string // their name
	Command string // "/inc …" when the answer is a command's
	Text    template.HTML
	raw     string
}

// errNotFound marks request values that name nothing the sandbox has.
var errNotFound = errors.New("not found")

// act clicks a responder button on the incident's root message as the
// chosen person: Slack's block_actions payload, signed, to the function;
// the answer it posts to the response_url is the page's.
func (s *Sandbox) act(w http.ResponseWriter, r *http.Request) {
	incidentID, action, user := r.FormValue("incident"), r.FormValue("action"), r.FormValue("user")
	if !slices.Contains(respondActions, action) && !slices.Contains(reminderActions, action) {
		http.Error(w, fmt.Sprintf("action %q is not a responder button (want one of %s)", action, strings.Join(append(slices.Clone(respondActions), reminderActions...), ", ")), http.StatusBadRequest)
		return
	}
	if !s.isPerson(user) {
		http.Error(w, fmt.Sprintf("user %q is not a Slack user of the sandbox's people", user), http.StatusBadRequest)
		return
	}
	channel, ts, ok := s.rootOf(incidentID)
	if !ok {
		http.Error(w, fmt.Sprintf("no root message has buttons for incident %q", incidentID), http.StatusNotFound)
		return
	}
	ru, answers := s.responseURL()
	trigger := "TSB" + randomID()
	payload := map[string]any{
		"type": slackops.TypeBlockActions, "team": s.team(), "user": s.slackUser(user),
		"api_app_id": "ASANDBOX", "trigger_id": trigger, "response_url": ru,
		"channel":   map[string]any{"id": channel},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"message":   map[string]any{"ts": ts, "type": "message", "user": slackfake.BotUserID},
		"actions": []map[string]any{{
			"action_id": action, "block_id": "respond", "value": incidentID, "type": "button",
			"action_ts": fmt.Sprintf("%d.000000", time.Now().Unix()),
		}},
	}
	if _, err := s.interact(r.Context(), payload); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	ans := ActAnswer{Text: strings.Join(answers(), "\n"), View: s.viewOpenedBy(trigger)}
	s.addEphemeral(channel, user, "", ans.Text)
	writeAnswer(w, ans)
}

// submit submits the modal the function opened, with text in its input,
// as the chosen person: Slack's view_submission payload.
func (s *Sandbox) submit(w http.ResponseWriter, r *http.Request) {
	viewID, user, text := r.FormValue("view"), r.FormValue("user"), r.FormValue("text")
	if !s.isPerson(user) {
		http.Error(w, fmt.Sprintf("user %q is not a Slack user of the sandbox's people", user), http.StatusBadRequest)
		return
	}
	v, err := s.openedView(viewID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	// The state holds the text in the view's first text input, as Slack
	// reports it by block id and action id.
	values := map[string]any{}
	for _, b := range v.Blocks {
		if b.Type == "input" && b.Element.Type == "plain_text_input" {
			values[b.BlockID] = map[string]any{b.Element.ActionID: map[string]any{"type": "plain_text_input", "value": text}}
			break
		}
	}
	payload := map[string]any{
		"type": slackops.TypeViewSubmission, "team": s.team(), "user": s.slackUser(user),
		"api_app_id": "ASANDBOX", "trigger_id": "TSB" + randomID(),
		"view": map[string]any{
			"id": viewID, "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata,
			"state": map[string]any{"values": values},
		},
		// The note modal asks for no response_url (Slack makes them only
		// for conversation selects), so none is sent: like Slack, a
		// submitted note shows no answer, only the thread reply PagerDuty's
		// webhook brings.
		"response_urls": []any{},
	}
	body, err := s.interact(r.Context(), payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var ans ActAnswer
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &resp) == nil && resp.ResponseAction == "errors" {
		ans.Errors = resp.Errors
	}
	writeAnswer(w, ans)
}

// command runs /inc text in the channel as the chosen person; the answer
// is the body of the function's reply, as Slack shows it.
func (s *Sandbox) command(w http.ResponseWriter, r *http.Request) {
	channelID, user, text := r.FormValue("channel"), r.FormValue("user"), strings.TrimSpace(r.FormValue("text"))
	if !s.isPerson(user) {
		http.Error(w, fmt.Sprintf("user %q is not a Slack user of the sandbox's people", user), http.StatusBadRequest)
		return
	}
	ch, ok := s.Slack.Channel(channelID)
	if !ok || ch.ID != channelID {
		http.Error(w, fmt.Sprintf("no channel %q", channelID), http.StatusNotFound)
		return
	}
	ru, answers := s.responseURL()
	trigger := "TSB" + randomID()
	form := url.Values{
		"token": {"sandbox"}, "team_id": {slackfake.DefaultTeamID}, "team_domain": {slackfake.DefaultDomain},
		"channel_id": {ch.ID}, "channel_name": {ch.Name}, "user_id": {user}, "user_name": {slackName(s.userNames[user])},
		"command": {"/inc"}, "text": {text}, "api_app_id": {"ASANDBOX"}, "response_url": {ru}, "trigger_id": {trigger},
	}
	status, body, err := s.postSlack(r.Context(), slackops.PathCommands, form)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("the function answered /inc with %d: %s", status, strings.TrimSpace(string(body)))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var reply struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(body, &reply) // an empty body is no answer
	texts := append([]string{reply.Text}, answers()...)
	ans := ActAnswer{Text: strings.TrimSpace(strings.Join(texts, "\n")), View: s.viewOpenedBy(trigger)}
	s.addEphemeral(ch.ID, user, strings.TrimSpace("/inc "+text), ans.Text)
	writeAnswer(w, ans)
}

// interact posts an interaction payload to the function and returns the
// body of its 200.
func (s *Sandbox) interact(ctx context.Context, payload map[string]any) ([]byte, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	status, body, err := s.postSlack(ctx, slackops.PathInteractions, url.Values{"payload": {string(p)}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("the function answered the %s with %d: %s", payload["type"], status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// postSlack sends form to the function's path signed as Slack signs it.
func (s *Sandbox) postSlack(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, slackRequestTimeout)
	defer cancel()
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	ts, sig := slackops.SignRequest([]byte(s.SlackSecret), time.Now(), body)
	req.Header.Set(slackops.HeaderTimestamp, ts)
	req.Header.Set(slackops.HeaderSignature, sig)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// responseURL makes a response_url for one request and returns it with
// the function that takes (and forgets) what was posted to it. The
// function posts before it answers the request, so everything has
// arrived once the request is answered.
func (s *Sandbox) responseURL() (string, func() []string) {
	token := randomID()
	s.mu.Lock()
	s.responses[token] = []string{}
	s.mu.Unlock()
	return s.base + responsePath + token, func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		texts := s.responses[token]
		delete(s.responses, token)
		return texts
	}
}

// respond takes what the function posts to a response_url.
func (s *Sandbox) respond(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
		http.Error(w, "not a JSON message", http.StatusBadRequest)
		return
	}
	token := r.PathValue("token")
	s.mu.Lock()
	texts, ok := s.responses[token]
	if ok && m.Text != "" {
		s.responses[token] = append(texts, m.Text)
	}
	s.mu.Unlock()
	if !ok {
		// Slack answers an expired or unknown response_url this way.
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
}

// rootOf finds the message with the incident's responder buttons.
func (s *Sandbox) rootOf(incidentID string) (channelID, ts string, ok bool) {
	if incidentID == "" {
		return "", "", false
	}
	for _, c := range s.Slack.Channels() {
		for _, m := range c.TopLevel() {
			var blocks []struct {
				BlockID  string `json:"block_id"`
				Elements []struct {
					Value string `json:"value"`
				} `json:"elements"`
			}
			if json.Unmarshal(m.Blocks, &blocks) != nil {
				continue
			}
			for _, b := range blocks {
				for _, e := range b.Elements {
					if b.BlockID == "respond" && e.Value == incidentID {
						return c.ID, m.TS, true
					}
				}
			}
		}
	}
	return "", "", false
}

// openedViewJSON is what the sandbox reads of a modal the function
// opened.
type openedViewJSON struct {
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
	Title           struct {
		Text string `json:"text"`
	} `json:"title"`
	Submit struct {
		Text string `json:"text"`
	} `json:"submit"`
	Blocks []struct {
		Type    string `json:"type"`
		BlockID string `json:"block_id"`
		Label   struct {
			Text string `json:"text"`
		} `json:"label"`
		Element struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
		} `json:"element"`
	} `json:"blocks"`
}

// openedView reads the modal the fake Slack opened with id.
func (s *Sandbox) openedView(id string) (openedViewJSON, error) {
	for _, v := range s.Slack.Views() {
		if v.ID == id && id != "" {
			var out openedViewJSON
			if err := json.Unmarshal(v.JSON, &out); err != nil {
				return out, fmt.Errorf("view %s: %w", id, err)
			}
			return out, nil
		}
	}
	return openedViewJSON{}, fmt.Errorf("view %q: %w (the function opened no such modal)", id, errNotFound)
}

// viewOpenedBy returns the modal the function opened with the trigger,
// nil for none.
func (s *Sandbox) viewOpenedBy(trigger string) *ModalView {
	for _, v := range s.Slack.Views() {
		if v.TriggerID != trigger {
			continue
		}
		o, err := s.openedView(v.ID)
		if err != nil {
			return nil
		}
		mv := &ModalView{ID: v.ID, Title: o.Title.Text, Submit: o.Submit.Text}
		for _, b := range o.Blocks {
			if b.Type == "input" {
				mv.Label = b.Label.Text
				break
			}
		}
		return mv
	}
	return nil
}

// addEphemeral keeps an answer to show under the channel.
func (s *Sandbox) addEphemeral(channelID, user, command, text string) {
	if text == "" {
		return
	}
	e := ephemeralView{At: time.Now().Format("15:04:05"), User: s.userNames[user], Command: command, raw: text}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.ephemerals[channelID], e)
	s.ephemerals[channelID] = list[max(0, len(list)-maxEphemerals):]
}

// ephemeralsOf returns the answers shown under the channel, rendered.
func (s *Sandbox) ephemeralsOf(channelID string, channels map[string]string) []ephemeralView {
	s.mu.Lock()
	list := slices.Clone(s.ephemerals[channelID])
	s.mu.Unlock()
	for i := range list {
		list[i].Text = mrkdwn(list[i].raw, channels)
	}
	return list
}

// isPerson reports whether id is the Slack account of one of People.
func (s *Sandbox) isPerson(id string) bool {
	return id != "" && slices.ContainsFunc(People, func(p Person) bool { return p.SlackID == id })
}

// team is the payload's team: the fake Slack's workspace.
func (s *Sandbox) team() map[string]any {
	return map[string]any{"id": slackfake.DefaultTeamID, "domain": slackfake.DefaultDomain}
}

// slackUser is the payload's user.
func (s *Sandbox) slackUser(id string) map[string]any {
	name := slackName(s.userNames[id])
	return map[string]any{"id": id, "username": name, "name": name, "team_id": slackfake.DefaultTeamID}
}

// slackName is a Slack handle made from a person's name.
func slackName(name string) string {
	first, _, _ := strings.Cut(strings.ToLower(name), " ")
	return first
}

func writeAnswer(w http.ResponseWriter, ans ActAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ans)
}

// randomID is 16 random hex digits.
func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
