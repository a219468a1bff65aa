package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// actions names what each operation was doing, for Explain.
var actions = map[string]string{
	opUser:     "look up a PagerDuty user",
	opUsers:    "look up your PagerDuty user",
	opIncident: "read this incident",
	opAck:      "acknowledge this incident",
	opResolve:  "resolve this incident",
	opPolicy:   "read this incident's escalation policy",
	opOnCalls:  "read who is on call for this incident's escalation policy",
	opEscalate: "escalate this incident",
	opAddNote:  "add a note to this incident",
	opNotes:    "read this incident's notes",
	opPast:     "read this incident's past incidents",

	opPriorities: "read the account's priorities",
	opUpdate:     "change this incident",
	opPage:       "page more responders",
	opPolicies:   "look up escalation policies",
	opServices:   "look up services",

	opStatusUpdate: "post a status update on this incident",

	opSubscriptions:      "list the webhook subscriptions",
	opSubscription:       "read the webhook subscription",
	opCreateSubscription: "create the webhook subscription",
	opPingSubscription:   "ping the webhook subscription",
}

// Explain returns one sentence a responder can read in Slack saying why
// err happened and what to do; "" for nil. It never names the token.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	action := "do that"
	var ie *incident.Error
	if errors.As(err, &ie) {
		if a, ok := actions[ie.Operation()]; ok {
			action = a
		}
	}
	var (
		noUser     *noUserError
		noPriority *unknownPriorityError
		lastLevel  *lastLevelError
		noAnswer   *NoAnswerError
		wrongURL   *WrongURLError
		apiErr     *APIError
	)
	switch {
	case errors.Is(err, ErrAlreadyResolved):
		return "This incident is already resolved in PagerDuty."
	case errors.Is(err, ErrAlreadyAcknowledged):
		return "This incident is already acknowledged in PagerDuty."
	case errors.As(err, &lastLevel):
		return fmt.Sprintf("PagerDuty cannot escalate further: this incident is at the last of the %d levels of its escalation policy, which does not repeat.", lastLevel.levels)
	case errors.As(err, &noPriority):
		return noPriority.Error() + "."
	case errors.Is(err, ErrNoPriorities):
		return "This PagerDuty account has no priorities (an admin turns them on in PagerDuty), so none can be set."
	case errors.As(err, &noUser) && noUser.id != "":
		return fmt.Sprintf("PagerDuty has no user %s.", noUser.id)
	case errors.As(err, &noUser):
		return fmt.Sprintf("PagerDuty has no user with the email address %s; ask a PagerDuty admin to add you or fix your address.", noUser.email)
	case errors.As(err, &noAnswer):
		return explainNoAnswer(ie, noAnswer, action)
	case errors.As(err, &wrongURL):
		return fmt.Sprintf("%s is not the PagerDuty REST API (HTTP 404); an admin must set PAGERDUTY_API_URL to %s, or https://api.eu.pagerduty.com for EU accounts.", wrongURL.URL, DefaultAPIURL)
	case errors.As(err, &apiErr):
		return explainAnswer(ie, apiErr, action)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "PagerDuty did not answer in time; try again or use the PagerDuty app."
	}
	return fmt.Sprintf("Could not %s in PagerDuty: %v.", action, err)
}

func explainNoAnswer(ie *incident.Error, e *NoAnswerError, action string) string {
	within := "in time"
	if e.Budget > 0 {
		within = "within " + roundBudget(e.Budget).String()
	}
	if ie != nil && ie.Kind == incident.KindMaybeDone {
		return fmt.Sprintf("PagerDuty did not answer %s, so it may or may not %s; check the incident in the PagerDuty app before trying again.", within, action)
	}
	if !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, context.Canceled) && !isTimeout(e.Err) {
		return fmt.Sprintf("Could not reach PagerDuty to %s (%v); try again or use the PagerDuty app.", action, e.Err)
	}
	return fmt.Sprintf("PagerDuty did not answer %s; try again or use the PagerDuty app.", within)
}

func explainAnswer(ie *incident.Error, e *APIError, action string) string {
	switch {
	case e.Status == http.StatusTooManyRequests:
		if ie != nil && ie.RetryAfter > 0 {
			return fmt.Sprintf("PagerDuty is rate limiting requests; try again in %s.", ie.RetryAfter)
		}
		return "PagerDuty is rate limiting requests; try again in a minute."
	case e.Status >= 500 && ie != nil && ie.Kind == incident.KindMaybeDone:
		return fmt.Sprintf("PagerDuty failed (%s), so it may or may not %s; check the incident in the PagerDuty app before trying again.", e, action)
	case e.Status >= 500:
		return fmt.Sprintf("PagerDuty failed (%s); try again or use the PagerDuty app.", e)
	case e.Status == http.StatusPaymentRequired:
		return fmt.Sprintf("PagerDuty refused to %s: the account's plan does not include it (HTTP 402).", action)
	case e.Status == http.StatusUnauthorized:
		return "PagerDuty refused PAGERDUTY_API_TOKEN (HTTP 401); an admin must set a valid REST API key."
	case e.Status == http.StatusForbidden:
		// A read-only key is refused every write with 403 too.
		return fmt.Sprintf("PagerDuty refused: you do not have permission to %s (%s); if nobody can, PAGERDUTY_API_TOKEN may be a read-only key.", action, e)
	case e.Code == codeRequesterNotFound:
		return fmt.Sprintf("PagerDuty refused to %s: it knows no user with your email address (%s).", action, e)
	case e.Status == http.StatusNotFound:
		return fmt.Sprintf("PagerDuty refused to %s: it does not exist or is not visible to PAGERDUTY_API_TOKEN (%s).", action, e)
	}
	return fmt.Sprintf("PagerDuty refused to %s (%s).", action, e)
}

// roundBudget shows a deadline as the caller set it: a 2 s budget has
// 1.9993 s left when the request starts.
func roundBudget(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return (d + 100*time.Millisecond).Truncate(time.Second)
	case d >= 10*time.Millisecond:
		return (d + 5*time.Millisecond).Truncate(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// isTimeout reports a network timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
