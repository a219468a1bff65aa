package slackops

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// ErrMalformed means a signed request lacks what the app cannot act
// without: an interaction's payload field of JSON naming its team and
// user, or a command's team, user and command. The HTTP handler answers
// 400.
var ErrMalformed = errors.New("malformed Slack request")

// Interaction types the handler acts on. Others (view_closed, shortcut,
// block_suggestion, …) are parsed and answered 200 without acting.
const (
	TypeBlockActions   = "block_actions"
	TypeViewSubmission = "view_submission"
	TypeMessageAction  = "message_action"
)

// Interaction is one request to the interactivity URL: a button click
// (block_actions), a modal submission (view_submission) or a message
// shortcut (message_action).
type Interaction struct {
	Type string
	// TeamID is the workspace the request is for: team.id, or
	// user.team_id when team is null.
	TeamID string
	UserID string
	// UserTeamID is user.team_id: the user's own team, another than
	// TeamID for a user of another organisation in a shared channel (or,
	// on Enterprise Grid, the organisation's id).
	UserTeamID string
	// UserName is user.name, or user.username when name is absent (Slack
	// sends one or the other depending on the payload type).
	UserName  string
	TriggerID string
	// ResponseURL posts messages in response: the payload's response_url
	// for block_actions and message_action, the first of response_urls
	// for a view_submission whose view asked for one, else "".
	ResponseURL string
	// ChannelID is channel.id, or container.channel_id without one.
	ChannelID string
	// CallbackID is a message shortcut's callback_id, or a submitted
	// view's callback_id.
	CallbackID string
	// Action is the first action of a block_actions payload (Slack sends
	// one per click).
	Action BlockAction
	// Container is where a block action happened.
	Container Container
	// Message is the message a button was on or a shortcut was used on;
	// its TS falls back to container.message_ts.
	Message Message
	// View is the submitted modal of a view_submission.
	View View
}

// BlockAction is the interactive element a user used.
type BlockAction struct {
	ID      string // action_id
	BlockID string
	Value   string
}

// Container is the surface of a block action.
type Container struct {
	Type        string // message, view, message_attachment, …
	MessageTS   string
	ChannelID   string
	ThreadTS    string
	ViewID      string
	IsEphemeral bool
}

// Message is the message an interaction came from.
type Message struct {
	TS       string
	ThreadTS string
	User     string
	Text     string
}

// View is a submitted modal.
type View struct {
	ID              string
	CallbackID      string
	PrivateMetadata string
	// Values holds the plain_text_input values of the view's state by
	// block_id ("" for an input left empty). Other elements are left out.
	Values map[string]string
	// ResponseURLs are the response URLs Slack made for the view's
	// elements with response_url_enabled.
	ResponseURLs []ResponseURL
}

// ResponseURL is one entry of a view_submission's response_urls.
type ResponseURL struct {
	BlockID   string
	ActionID  string
	ChannelID string
	URL       string
}

// envelope is what every interaction payload is read for.
type envelope struct {
	Type string `json:"type"`
	// Team is null for an app installed on a whole Enterprise Grid org.
	Team *struct {
		ID string `json:"id"`
	} `json:"team"`
	User *struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
}

// wireInteraction is the part of the payloads the app acts on that it
// reads.
type wireInteraction struct {
	TriggerID   string `json:"trigger_id"`
	ResponseURL string `json:"response_url"`
	CallbackID  string `json:"callback_id"`
	Channel     *struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container *struct {
		Type        string `json:"type"`
		MessageTS   string `json:"message_ts"`
		ChannelID   string `json:"channel_id"`
		ThreadTS    string `json:"thread_ts"`
		ViewID      string `json:"view_id"`
		IsEphemeral bool   `json:"is_ephemeral"`
	} `json:"container"`
	Message *struct {
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
		User     string `json:"user"`
		Text     string `json:"text"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
	} `json:"actions"`
	View *struct {
		ID              string `json:"id"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		State           *struct {
			Values map[string]map[string]struct {
				Type  string  `json:"type"`
				Value *string `json:"value"`
			} `json:"values"`
		} `json:"state"`
		ResponseURLs []wireResponseURL `json:"response_urls"`
	} `json:"view"`
	ResponseURLs []wireResponseURL `json:"response_urls"`
}

type wireResponseURL struct {
	BlockID     string `json:"block_id"`
	ActionID    string `json:"action_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// ParseInteraction reads the payload field of an interactivity request.
// It returns ErrMalformed, wrapped with the reason, for a missing payload,
// JSON that is not an object, a payload without type, team id (team.id,
// or user.team_id when team is null) or user.id, and, for the types the
// app acts on, fields not of their documented JSON type. Other types
// parse with only Type, TeamID, UserID and UserName set: their fields are
// not read, so they cannot fail.
func ParseInteraction(form url.Values) (Interaction, error) {
	raw := form.Get("payload")
	if raw == "" {
		return Interaction{}, fmt.Errorf("%w: no payload field", ErrMalformed)
	}
	var env envelope
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return Interaction{}, fmt.Errorf("%w: payload: %v", ErrMalformed, jsonReason(err))
	}
	if env.Type == "" {
		return Interaction{}, fmt.Errorf("%w: payload has no type", ErrMalformed)
	}
	in := Interaction{Type: env.Type}
	if env.User != nil {
		in.UserID, in.UserName = env.User.ID, cmp.Or(env.User.Name, env.User.Username)
		in.TeamID, in.UserTeamID = env.User.TeamID, env.User.TeamID
	}
	if env.Team != nil {
		in.TeamID = cmp.Or(env.Team.ID, in.TeamID)
	}
	if in.TeamID == "" || in.UserID == "" {
		return Interaction{}, fmt.Errorf("%w: %.40q payload needs team.id and user.id", ErrMalformed, env.Type)
	}
	switch env.Type {
	case TypeBlockActions, TypeViewSubmission, TypeMessageAction:
	default:
		return in, nil
	}
	var w wireInteraction
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Interaction{}, fmt.Errorf("%w: %s payload: %v", ErrMalformed, env.Type, jsonReason(err))
	}
	in.TriggerID, in.CallbackID = w.TriggerID, w.CallbackID
	if w.Container != nil {
		c := w.Container
		in.Container = Container{Type: c.Type, MessageTS: c.MessageTS, ChannelID: c.ChannelID,
			ThreadTS: c.ThreadTS, ViewID: c.ViewID, IsEphemeral: c.IsEphemeral}
	}
	if w.Channel != nil {
		in.ChannelID = w.Channel.ID
	}
	in.ChannelID = cmp.Or(in.ChannelID, in.Container.ChannelID)
	if w.Message != nil {
		in.Message = Message{TS: w.Message.TS, ThreadTS: w.Message.ThreadTS, User: w.Message.User, Text: w.Message.Text}
	}
	in.Message.TS = cmp.Or(in.Message.TS, in.Container.MessageTS)
	in.Message.ThreadTS = cmp.Or(in.Message.ThreadTS, in.Container.ThreadTS)
	if len(w.Actions) > 0 {
		a := w.Actions[0]
		in.Action = BlockAction{ID: a.ActionID, BlockID: a.BlockID, Value: a.Value}
	}
	switch env.Type {
	case TypeBlockActions, TypeMessageAction:
		in.ResponseURL = w.ResponseURL
	case TypeViewSubmission:
		if w.View == nil {
			return Interaction{}, fmt.Errorf("%w: view_submission payload has no view", ErrMalformed)
		}
		v := w.View
		in.View = View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Values: map[string]string{}}
		in.CallbackID = v.CallbackID
		if v.State != nil {
			for blockID, elements := range v.State.Values {
				// An input block holds one element; of several, the
				// first plain_text_input by action_id is taken, so the
				// answer does not depend on map order.
				for _, actionID := range slices.Sorted(maps.Keys(elements)) {
					if e := elements[actionID]; e.Type == "plain_text_input" {
						if e.Value != nil {
							in.View.Values[blockID] = *e.Value
						} else {
							in.View.Values[blockID] = ""
						}
						break
					}
				}
			}
		}
		// Slack's SDKs read response_urls at the top level of the
		// payload; the documented example has it inside view.
		for _, r := range append(w.ResponseURLs, v.ResponseURLs...) {
			in.View.ResponseURLs = append(in.View.ResponseURLs, ResponseURL{
				BlockID: r.BlockID, ActionID: r.ActionID, ChannelID: r.ChannelID, URL: r.ResponseURL})
		}
		if len(in.View.ResponseURLs) > 0 {
			in.ResponseURL = in.View.ResponseURLs[0].URL
		}
	}
	return in, nil
}

// Command is one slash command invocation (/inc …).
type Command struct {
	TeamID      string
	ChannelID   string
	ChannelName string
	UserID      string
	UserName    string
	// Command is the command typed, with its slash ("/inc").
	Command string
	// Text is what follows the command, as typed.
	Text        string
	ResponseURL string
	TriggerID   string
}

// ParseCommand reads a slash command request's form. It returns
// ErrMalformed, wrapped with the reason, when team_id, user_id or command
// is missing.
func ParseCommand(form url.Values) (Command, error) {
	cmd := Command{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"team_id", cmd.TeamID}, {"user_id", cmd.UserID}, {"command", cmd.Command}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Command{}, fmt.Errorf("%w: slash command without %s", ErrMalformed, strings.Join(missing, ", "))
	}
	return cmd, nil
}

// jsonReason says why JSON did not decode without quoting the input.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s, want %s", cmp.Or(typ.Field, "the payload"), typ.Value, typ.Type)
	}
	return "invalid JSON"
}
