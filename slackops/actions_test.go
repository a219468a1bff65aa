package slackops_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

func TestSlackUser(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t)
	fake.AddUser("U0ADA", "ada@example.com", false)
	fake.AddUser("U0GONE", "gone@example.com", true)
	fake.AddUser("U0EXT", "eve@other.example", false)
	fake.SetTraits("U0EXT", slackfake.UserTraits{TeamID: "T0OTHER"})
	fake.AddUser("U0STRANGE", "stranger@other.example", false)
	fake.SetTraits("U0STRANGE", slackfake.UserTraits{Stranger: true})
	fake.AddUser("U0GUEST", "guest@example.com", false)
	fake.SetTraits("U0GUEST", slackfake.UserTraits{UltraRestricted: true})
	fake.AddUser("U0APP", "app@example.com", false)
	fake.SetTraits("U0APP", slackfake.UserTraits{AppUser: true})
	fake.AddUser("U0NEW", "new@example.com", false)
	fake.SetTraits("U0NEW", slackfake.UserTraits{EmailUnconfirmed: true})
	for _, tt := range []struct {
		id   string
		want incident.SlackUser
	}{
		{"U0ADA", incident.SlackUser{Email: "ada@example.com", EmailConfirmed: true}},
		{"U0GONE", incident.SlackUser{Email: "gone@example.com", Deleted: true, EmailConfirmed: true}},
		{"U0EXT", incident.SlackUser{Email: "eve@other.example", External: true, EmailConfirmed: true}},
		{"U0STRANGE", incident.SlackUser{Email: "stranger@other.example", External: true, EmailConfirmed: true}},
		{"U0GUEST", incident.SlackUser{Email: "guest@example.com", Guest: true, EmailConfirmed: true}},
		{"U0APP", incident.SlackUser{Email: "app@example.com", Bot: true, EmailConfirmed: true}},
		{"U0NEW", incident.SlackUser{Email: "new@example.com"}},
		{slackfake.BotUserID, incident.SlackUser{Bot: true}},
	} {
		if got, err := c.SlackUser(ctx(t), tt.id); err != nil || got != tt.want {
			t.Errorf("SlackUser(%s) = %+v, %v; want %+v", tt.id, got, err, tt.want)
		}
	}
	if _, err := c.SlackUser(ctx(t), "U0NOBODY"); !errors.Is(err, incident.ErrUserNotFound) {
		t.Errorf("SlackUser(unknown) = %v, want ErrUserNotFound", err)
	}
	fake.HideEmails(true)
	if got, err := c.SlackUser(ctx(t), "U0ADA"); err != nil || got.Email != "" {
		t.Errorf("SlackUser without users:read.email = %+v, %v; want no email", got, err)
	}
	fake.HideEmails(false)
	fake.Fail("users.info", slackfake.Fault{Status: 429, RetryAfter: 7})
	_, err := c.SlackUser(ctx(t), "U0ADA")
	var ie *incident.Error
	if !errors.As(err, &ie) || ie.Kind != incident.KindTransient {
		t.Errorf("SlackUser rate limited = %v, want a transient *incident.Error", err)
	}
}

func TestWorkspaceOwns(t *testing.T) {
	t.Parallel()
	grid := slackops.Workspace{TeamID: "T0ACME", EnterpriseID: "E0ACME"}
	for _, tt := range []struct {
		ws   slackops.Workspace
		team string
		want bool
	}{
		{slackops.Workspace{TeamID: "T0ACME"}, "T0ACME", true},
		{slackops.Workspace{TeamID: "T0ACME"}, "T0OTHER", false},
		{slackops.Workspace{TeamID: "T0ACME"}, "", false},
		{grid, "E0ACME", true},
		{grid, "E0OTHER", false},
		{slackops.Workspace{}, "", false},
	} {
		if got := tt.ws.Owns(tt.team); got != tt.want {
			t.Errorf("%+v.Owns(%q) = %t, want %t", tt.ws, tt.team, got, tt.want)
		}
	}
}

func noteView(title string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Add", false, false),
		CallbackID:      "note",
		PrivateMetadata: "Q1",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("note", slack.NewTextBlockObject(slack.PlainTextType, "Note", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "text")),
		}},
	}
}

func TestOpenView(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t)
	if err := c.OpenView(ctx(t), "1.2.abc", noteView("Add a note")); err != nil {
		t.Fatalf("OpenView = %v, want nil", err)
	}
	views := fake.Views()
	if len(views) != 1 || views[0].TriggerID != "1.2.abc" || !strings.Contains(string(views[0].JSON), `"callback_id":"note"`) {
		t.Fatalf("fake's views = %+v, want the note modal", views)
	}

	fake.ExpireTrigger("3.4.old")
	tests := []struct {
		name      string
		trigger   string
		view      slack.ModalViewRequest
		wantCode  string
		expired   bool
		wantInErr string
	}{
		{"expired trigger", "3.4.old", noteView("Add a note"), "expired_trigger_id", true, "3 s"},
		{"trigger used twice", "1.2.abc", noteView("Add a note"), "exchanged_trigger_id", true, "used already"},
		{"title too long", "5.6.new", noteView(strings.Repeat("n", 25)), "invalid_arguments", false, "/view/title"},
		{"no trigger", "", noteView("Add a note"), "invalid_arguments", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.OpenView(ctx(t), tt.trigger, tt.view)
			var ie *incident.Error
			var ae *slackops.APIError
			if !errors.As(err, &ie) || ie.Kind != incident.KindRefused || !errors.As(err, &ae) || ae.Code != tt.wantCode {
				t.Fatalf("OpenView = %v, want a refused *incident.Error with code %s", err, tt.wantCode)
			}
			if got := errors.Is(err, slackops.ErrTriggerExpired); got != tt.expired {
				t.Errorf("errors.Is(%v, ErrTriggerExpired) = %v, want %v", err, got, tt.expired)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("OpenView error %q does not say %q", err, tt.wantInErr)
			}
		})
	}
}

func TestPermalink(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t)
	fake.SetTeam("T0ACME", "acme")
	id, err := c.CreateChannel(ctx(t), "inc-1-permalink", false)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.PostRoot(ctx(t), id, incident.Root{Incident: snapshot})
	if err != nil {
		t.Fatal(err)
	}
	want := "https://acme.slack.com/archives/" + id + "/p" + strings.Replace(ts, ".", "", 1)
	if got, err := c.Permalink(ctx(t), id, ts); err != nil || got != want {
		t.Errorf("Permalink = %q, %v, want %q", got, err, want)
	}
	if _, err := c.Permalink(ctx(t), id, "1.000009"); !errors.Is(err, incident.ErrRootGone) {
		t.Errorf("Permalink(deleted message) = %v, want ErrRootGone", err)
	}
}

func TestWorkspaceAsksOnce(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t)
	fake.SetTeam("T0ACME", "acme")
	fake.Fail("auth.test", slackfake.Fault{Status: 503})
	if _, err := c.Workspace(ctx(t)); err == nil {
		t.Fatal("Workspace with auth.test failing = nil error, want one")
	}
	for range 3 {
		if got, err := c.Workspace(ctx(t)); err != nil || got.TeamID != "T0ACME" {
			t.Fatalf("Workspace = %+v, %v, want T0ACME", got, err)
		}
	}
	// The bot's user id came with the same answer.
	if _, _, err := c.FindChannel(ctx(t), []string{"none"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("auth.test"); n != 2 {
		t.Errorf("auth.test calls = %d, want 2: one failed, then one kept", n)
	}
}
