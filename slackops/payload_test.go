package slackops

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixture returns testdata/name as an interactivity request's form.
func fixture(t testing.TB, name string) url.Values {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}
}

func TestParseInteractionFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want Interaction
	}{
		{"button in a message", "block_actions.json", Interaction{
			Type: TypeBlockActions, TeamID: "T9TK3CUKW", UserID: "UA8RXUSPL", UserTeamID: "T9TK3CUKW", UserName: "jtorrance",
			TriggerID:   "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
			ResponseURL: "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
			ChannelID:   "CBR2V3XEX",
			Action:      BlockAction{ID: "WaXA", BlockID: "=qXel", Value: "click_me_123"},
			Container:   Container{Type: "message_attachment", MessageTS: "1548261231.000200", ChannelID: "CBR2V3XEX"},
			Message:     Message{TS: "1548261231.000200", User: "UAJ2RU415", Text: "This content can't be displayed."},
		}},
		{"modal submitted", "view_submission.json", Interaction{
			Type: TypeViewSubmission, TeamID: "T1234567", UserID: "U1234567", UserName: "example-user",
			ResponseURL: "https://hooks.slack.com/app/ABC12312/1234567890/A100B100C100d100",
			CallbackID:  "modal-with-inputs",
			View: View{
				ID: "VNHU13V36", CallbackID: "modal-with-inputs", PrivateMetadata: "shhh-its-secret",
				// The conversations_select of target_channel is not a
				// plain_text_input: left out.
				Values: map[string]string{"multiline": "This is my example inputted value"},
				ResponseURLs: []ResponseURL{{BlockID: "target_channel", ActionID: "target_select", ChannelID: "C123B12DE",
					URL: "https://hooks.slack.com/app/ABC12312/1234567890/A100B100C100d100"}},
			},
		}},
		{"message shortcut", "message_action.json", Interaction{
			Type: TypeMessageAction, TeamID: "T0MJRM1A7", UserID: "U0D15K92L", UserName: "dr_maomao",
			TriggerID:   "13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536",
			ResponseURL: "https://hooks.slack.com/app-actions/T0MJR11A4/21974584944/yk1S9ndf35Q1flupVG5JbpM6",
			ChannelID:   "D0LFFBKLZ", CallbackID: "chirp_message",
			Message: Message{TS: "1516229207.000133", User: "U0MJRG1AL", Text: "World's smallest big cat! <https://youtube.com/watch?v=W86cTIoMv2U>"},
		}},
		{"modal closed: a type the app does not act on", "view_closed.json", Interaction{
			Type: "view_closed", TeamID: "TXXXXXX", UserID: "UXXXXXX", UserName: "dreamweaver",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseInteraction(fixture(t, tt.file))
			if err != nil {
				t.Fatalf("ParseInteraction(%s) error = %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseInteraction(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParseInteractionShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    Interaction
	}{
		{"message container without channel or message: both from the container",
			`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1","name":"ada"},"container":{"type":"message","message_ts":"1.2","channel_id":"C1","thread_ts":"1.1"},"actions":[{"action_id":"ack","value":"P1"},{"action_id":"second"}]}`,
			Interaction{Type: TypeBlockActions, TeamID: "T1", UserID: "U1", UserName: "ada", ChannelID: "C1",
				Action:    BlockAction{ID: "ack", Value: "P1"},
				Container: Container{Type: "message", MessageTS: "1.2", ChannelID: "C1", ThreadTS: "1.1"},
				Message:   Message{TS: "1.2", ThreadTS: "1.1"}}},
		{"org install: team null, team from the user",
			`{"type":"message_action","team":null,"user":{"id":"U1","username":"ada","team_id":"T9"},"callback_id":"timeline"}`,
			Interaction{Type: TypeMessageAction, TeamID: "T9", UserID: "U1", UserTeamID: "T9", UserName: "ada", CallbackID: "timeline"}},
		{"response_urls at the top level, empty input is present and empty",
			`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"view":{"callback_id":"note","state":{"values":{"note":{"text":{"type":"plain_text_input","value":null}}}}},"response_urls":[{"response_url":"https://hooks.slack.com/x"}]}`,
			Interaction{Type: TypeViewSubmission, TeamID: "T1", UserID: "U1", CallbackID: "note", ResponseURL: "https://hooks.slack.com/x",
				View: View{CallbackID: "note", Values: map[string]string{"note": ""}, ResponseURLs: []ResponseURL{{URL: "https://hooks.slack.com/x"}}}}},
		{"unknown type: odd fields are not read",
			`{"type":"block_suggestion","team":{"id":"T1"},"user":{"id":"U1"},"actions":"not a list","view":7}`,
			Interaction{Type: "block_suggestion", TeamID: "T1", UserID: "U1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseInteraction(url.Values{"payload": {tt.payload}})
			if err != nil {
				t.Fatalf("ParseInteraction error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseInteraction mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInteractionMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		form url.Values
	}{
		{"no payload field", url.Values{"type": {"block_actions"}}},
		{"empty payload", url.Values{"payload": {""}}},
		{"not JSON", url.Values{"payload": {"{type:block_actions"}}},
		{"JSON but not an object", url.Values{"payload": {`["block_actions"]`}}},
		{"null", url.Values{"payload": {"null"}}},
		{"no type", url.Values{"payload": {`{"team":{"id":"T1"},"user":{"id":"U1"}}`}}},
		{"no team", url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"}}`}}},
		{"no user id", url.Values{"payload": {`{"type":"block_actions","team":{"id":"T1"},"user":{"name":"ada"}}`}}},
		{"team id not a string", url.Values{"payload": {`{"type":"block_actions","team":{"id":1},"user":{"id":"U1"}}`}}},
		{"actions not a list", url.Values{"payload": {`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"actions":{}}`}}},
		{"view_submission without view", url.Values{"payload": {`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"}}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseInteraction(tt.form); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseInteraction = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "command.form"))
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCommand(form)
	if err != nil {
		t.Fatalf("ParseCommand(command.form) error = %v", err)
	}
	want := Command{
		TeamID: "T1DC2JH3J", ChannelID: "G8PSS9T3V", ChannelName: "foobar", UserID: "U2CERLKJA", UserName: "roadrunner",
		Command: "/webhook-collect", Text: "",
		ResponseURL: "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
		TriggerID:   "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseCommand(command.form) mismatch (-want +got):\n%s", diff)
	}

	for _, drop := range []string{"team_id", "user_id", "command"} {
		f := url.Values{}
		for k, v := range form {
			if k != drop {
				f[k] = v
			}
		}
		if _, err := ParseCommand(f); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCommand(without %s) = %v, want ErrMalformed", drop, err)
		}
	}
}

func FuzzParseInteraction(f *testing.F) {
	for _, name := range []string{"block_actions.json", "view_submission.json", "message_action.json", "view_closed.json"} {
		f.Add(fixture(f, name).Get("payload"))
	}
	f.Add(`{"type":"view_submission","team":null,"user":{"id":"U","team_id":"T"},"view":{"state":{"values":{"b":{"a":{"type":"plain_text_input","value":null}}}}}}`)
	f.Fuzz(func(t *testing.T, payload string) {
		in, err := ParseInteraction(url.Values{"payload": {payload}})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseInteraction error %v is not ErrMalformed", err)
			}
			return
		}
		if in.Type == "" || in.TeamID == "" || in.UserID == "" {
			t.Fatalf("ParseInteraction = %+v without error, want Type, TeamID and UserID", in)
		}
		if in.Type == TypeViewSubmission && in.View.Values == nil {
			t.Fatalf("view_submission parsed with nil Values")
		}
	})
}
