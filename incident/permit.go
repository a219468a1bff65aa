package incident

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// PagerDuty's account roles, the role field of its users.
const (
	RoleOwner               = "owner"
	RoleAdmin               = "admin"
	RoleUser                = "user"
	RoleLimitedUser         = "limited_user"
	RoleRestrictedAccess    = "restricted_access"
	RoleObserver            = "observer"
	RoleReadOnlyUser        = "read_only_user"
	RoleReadOnlyLimitedUser = "read_only_limited_user"
)

// ActingRoles are the PagerDuty roles that may change incidents, the
// default of ACT_ROLES: owners, admins and users on any incident,
// limited users and restricted-access users on their own teams'
// (TeamScopedRole). Observers and the read-only roles may not, and a
// role PagerDuty adds later is refused until it is known.
var ActingRoles = []string{RoleOwner, RoleAdmin, RoleUser, RoleLimitedUser, RoleRestrictedAccess}

// ReadOnlyRoles are the PagerDuty roles that may not change incidents.
var ReadOnlyRoles = []string{RoleObserver, RoleReadOnlyUser, RoleReadOnlyLimitedUser}

// TeamScopedRole reports whether PagerDuty lets the role act only on the
// incidents of the user's own teams.
func TeamScopedRole(role string) bool {
	return role == RoleLimitedUser || role == RoleRestrictedAccess
}

// actor returns the PagerDuty user the Slack user of req acts as, once
// they may act on st's incident, or the answer saying why not. A refusal
// by role or team read from the cache is checked once more on a fresh
// look-up, so that a promotion or a new team takes effect at once.
func (r *Responder) actor(ctx context.Context, req Request, st State) (Actor, Answer, bool) {
	actor, err := r.o.Actors.Lookup(ctx, req.UserID)
	if err != nil {
		r.o.Log.WarnContext(ctx, "Slack user may not act on PagerDuty", "slack_user_id", req.UserID, "error", err.Error())
		return Actor{}, Answer{Text: r.o.Explain(err)}, false
	}
	why := r.refusal(actor, st.Snapshot)
	if why != "" && actor.FromCache {
		fresh, err := r.o.Actors.Reload(ctx, req.UserID)
		if err != nil {
			r.o.Log.WarnContext(ctx, "Slack user not looked up again", "slack_user_id", req.UserID, "error", err.Error())
			return Actor{}, Answer{Text: r.o.Explain(err)}, false
		}
		actor, why = fresh, r.refusal(fresh, st.Snapshot)
	}
	if why != "" {
		r.o.Log.InfoContext(ctx, "PagerDuty role may not act", "slack_user_id", req.UserID, "pagerduty_user_id", actor.PagerDutyID,
			"role", actor.Role, "incident_id", st.Snapshot.ID)
		return Actor{}, Answer{Text: why}, false
	}
	return actor, Answer{}, true
}

// refusal says why actor may not change inc, as PagerDuty would refuse
// them and as ACT_ROLES narrows it; "" when they may.
func (r *Responder) refusal(actor Actor, inc Snapshot) string {
	who := "Your PagerDuty user (" + slackEscape(actor.Name) + ") has the *" + slackEscape(OrDash(actor.Role)) + "* role"
	switch {
	case !slices.Contains(ActingRoles, actor.Role):
		return who + ", which may not change incidents; ask a PagerDuty admin, or someone on call."
	case !slices.Contains(r.actRoles(), actor.Role):
		return who + "; here only " + strings.Join(r.actRoles(), ", ") +
			" may act on incidents from Slack (ACT_ROLES). Use the PagerDuty app, or ask someone who may."
	case TeamScopedRole(actor.Role) && !sharesTeam(actor.Teams, inc.Teams):
		teams := "no team"
		switch {
		case len(inc.Teams) > 0:
			teams = teamNames(inc.Teams)
		case !inc.Complete:
			// Only a reference to the incident was seen so far.
			teams = "teams not known here yet"
		}
		return who + ", which may change only the incidents of your PagerDuty teams, and " + numberOrID(inc) +
			" belongs to " + teams + ". Ask someone on call, or a PagerDuty admin to add you to the team."
	}
	return ""
}

// actRoles are the roles that may act here (ACT_ROLES).
func (r *Responder) actRoles() []string {
	if len(r.o.ActRoles) == 0 {
		return ActingRoles
	}
	return r.o.ActRoles
}

// sharesTeam reports whether one of the user's team ids is one of the
// incident's teams.
func sharesTeam(userTeams []string, incidentTeams []Ref) bool {
	for _, t := range incidentTeams {
		if t.ID != "" && slices.Contains(userTeams, t.ID) {
			return true
		}
	}
	return false
}

// teamNames lists teams by name (their id without one), escaped.
func teamNames(teams []Ref) string {
	names := make([]string, 0, len(teams))
	for _, t := range teams {
		names = append(names, slackEscape(cmp.Or(t.Summary, t.ID)))
	}
	return strings.Join(names, ", ")
}

// ExternalUserText is the answer to a Slack user of another organisation
// (Slack Connect), who may not act here.
const ExternalUserText = "Only members of this Slack workspace can act on incidents from Slack, and your account is from another organisation. Ask someone of the team on call."

// SlackUser is what Slack says of a user who asks to act (users.info),
// as the app's own workspace sees them: only the workspace's own people
// act (see people.Actors).
type SlackUser struct {
	// Email is the profile's address; "" when Slack shows none.
	Email string
	// External is set for a user of another organisation (Slack Connect):
	// their team is not the app's workspace, nor its Enterprise Grid
	// organisation, or Slack marks them is_stranger.
	External bool
	// Deleted is set for a deactivated account.
	Deleted bool
	// Bot is set for bots and app users.
	Bot bool
	// Guest is set for multi- and single-channel guests (is_restricted,
	// is_ultra_restricted).
	Guest bool
	// EmailConfirmed is Slack's is_email_confirmed: only a confirmed
	// address proves the PagerDuty user with that address is this person.
	EmailConfirmed bool
}
