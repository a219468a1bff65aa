package incident

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// invites invites the plan's users, groups and people, and reports who
// cannot be added: Decide then plans the note naming them (InviteNote).
func (x *executor) invites(ctx context.Context) {
	p, a := x.p, x.a
	cannot, err := a.invite(ctx, x.st.ChannelID, p)
	if err != nil {
		x.failed(ctx, stepInvite, "", nil, err)
		return
	}
	x.locked(func(r *Results) {
		r.CannotInvite = append(r.CannotInvite, cannot...)
		r.Invitees = append(r.Invitees, p.Invite...)
		r.Invitees = append(r.Invitees, p.InviteGroups...)
		for _, u := range p.InvitePeople {
			r.PeopleDone = append(r.PeopleDone, u.ID)
		}
	})
}

func (a *attempt) invite(ctx context.Context, channelID string, p Plan) (cannot []string, err error) {
	// The look-ups are independent: run them at once, so the invite waits
	// for the slowest, not for their sum.
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		errs  error
		users = slices.Clone(p.Invite)
		names = map[string]string{} // Slack user id → PagerDuty name
	)
	add := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	for _, g := range p.InviteGroups {
		wg.Go(func() {
			members, err := a.slack.GroupMembers(ctx, g)
			switch {
			case IsRetryable(err):
				add(func() { errs = errors.Join(errs, err) })
			case err != nil:
				a.log.WarnContext(ctx, "cannot list user group members", "incident_id", a.ev.IncidentID, "group", g, "error", err.Error())
				reason := "cannot be read"
				if errors.Is(err, ErrGroupNotFound) {
					reason = "not found"
				}
				add(func() { cannot = append(cannot, "user group "+g+" ("+reason+")") })
			default:
				add(func() { users = append(users, members...) })
			}
		})
	}
	if len(p.InvitePeople) > 0 {
		wg.Go(func() {
			found, missing, err := a.cfg.Directory.SlackUsers(ctx, p.InvitePeople)
			if IsRetryable(err) {
				add(func() { errs = errors.Join(errs, err) })
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// A refused PagerDuty token, say: retrying will not help.
				// Responders learn from the thread whom to fetch by hand.
				a.log.ErrorContext(ctx, "cannot look up PagerDuty users; they are not invited", "incident_id", a.ev.IncidentID, "error", err.Error())
				for _, r := range p.InvitePeople {
					cannot = append(cannot, OrDash(r.Summary)+" (look-up failed; see the function's logs)")
				}
			}
			for _, r := range p.InvitePeople {
				if id, ok := found[r.ID]; ok {
					users = append(users, id)
					names[id] = r.Summary
				}
			}
			for _, m := range missing {
				cannot = append(cannot, OrDash(m.User.Summary)+" ("+m.Reason+")")
			}
		})
	}
	wg.Wait()
	if errs != nil {
		return nil, errs
	}
	// The same people give the same line, whatever order they answered
	// in: the note is keyed by its text.
	slices.Sort(cannot)
	slices.Sort(users)
	users = slices.Compact(users)
	if len(users) == 0 {
		return cannot, nil
	}
	failed, err := a.slack.Invite(ctx, channelID, users)
	if IsRetryable(err) || errors.Is(err, ErrChannelArchived) {
		return nil, err
	}
	if err != nil {
		a.log.WarnContext(ctx, "invite users failed; not retried", "incident_id", a.ev.IncidentID, "channel_id", channelID, "error", err.Error())
	}
	for _, f := range failed {
		name := names[f.UserID]
		if name == "" {
			name = f.UserID
		}
		cannot = append(cannot, name+" ("+f.Reason+")")
	}
	return cannot, nil
}
