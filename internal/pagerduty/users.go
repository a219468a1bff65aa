package pagerduty

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/internal/emailaddr"
)

// Operations on users (see the incident operations).
const (
	opUser  = "pagerduty.user"
	opUsers = "pagerduty.users"
)

// maxUserPages bounds the pages of users read for one email address.
const maxUserPages = 5

// User is a PagerDuty user.
type User struct {
	ID, Name, Email string
	// Role is the user's PagerDuty role: owner, admin, user,
	// limited_user, observer, restricted_access, read_only_user, …
	Role string
	// Teams are the ids of the user's teams.
	Teams []string
}

// userJSON is PagerDuty's user.
type userJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
	// Teams are team references, on GET /users and GET /users/{id}
	// alike.
	Teams []struct {
		ID string `json:"id"`
	} `json:"teams"`
}

func (u userJSON) user() User {
	out := User{ID: u.ID, Name: u.Name, Email: strings.TrimSpace(u.Email), Role: u.Role}
	for _, t := range u.Teams {
		if t.ID != "" {
			out.Teams = append(out.Teams, t.ID)
		}
	}
	return out
}

// User returns the PagerDuty user id (GET /users/{id}). It fails with
// ErrNoUser when PagerDuty answers that it has no such user; a 404
// without PagerDuty's error body is a wrong PAGERDUTY_API_URL, not a
// missing user.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	op := opUser + " " + id
	var out struct {
		User userJSON `json:"user"`
	}
	err := c.get(ctx, op, "/users/"+escape(id), &out)
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && apiErr.fromPagerDuty:
		return User{}, &incident.Error{Kind: incident.KindRefused, Op: op, Err: &noUserError{id: id}}
	case err != nil:
		return User{}, err
	}
	return out.User.user(), nil
}

// UserByEmail returns the PagerDuty user whose email address is email,
// compared as emailaddr.Equal does: ASCII case folded, and an address
// beyond ASCII matching nobody (it is not even asked for). PagerDuty's
// query matches names and addresses by part, so GET /users?query=
// answers every user whose address contains email ("ann@x.com" finds
// "joann@x.com"); only an exact match counts. It fails with ErrNoUser
// when no user has the address. Its errors name the address by its
// emailaddr.Hash only, as they end up in logs.
func (c *Client) UserByEmail(ctx context.Context, email string) (User, error) {
	email = strings.TrimSpace(email)
	op := opUsers + " " + emailaddr.Hash(email)
	if _, ok := emailaddr.Key(email); !ok {
		return User{}, &incident.Error{Kind: incident.KindRefused, Op: op, Err: &noUserError{email: email}}
	}
	var found *User
	_, err := list(ctx, c, op, "/users", "users", url.Values{"query": {email}}, maxUserPages, func(u userJSON) bool {
		if emailaddr.Equal(u.Email, email) {
			found = new(u.user())
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return User{}, err
	case found == nil:
		return User{}, &incident.Error{Kind: incident.KindRefused, Op: op, Err: &noUserError{email: email}}
	}
	return *found, nil
}
