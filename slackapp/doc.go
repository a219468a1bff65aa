// Package slackapp speaks the Slack side of the incident channel's
// actions: it checks the signature of requests Slack sends to the app's
// interactivity and slash-command URLs, parses button clicks, modal
// submissions, message shortcuts and /inc commands, hands them to
// Actions and answers Slack within its 3 seconds.
package slackapp
