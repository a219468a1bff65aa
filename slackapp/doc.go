// Package slackapp speaks the Slack side of the incident channel's
// actions: it checks the signature of requests Slack sends to the app's
// interactivity and slash-command URLs, parses button clicks, modal
// submissions, message shortcuts and /inc commands, hands them to
// Actions and answers Slack within its 3 seconds.
//
// Verify is written here rather than wrapping slack-go's
// NewSecretsVerifier, which does the same HMAC: slack-go checks the
// 5-minute window against the process clock (time.Since), with no way to
// give it another or to check the signature alone, so neither the
// handler's injected clock nor a test against Slack's documented example
// (signed in 2018) can go through it; and its errors do not tell a
// missing signature from a missing timestamp, or a malformed signature
// from a wrong one, so mapping them to this package's errors would parse
// the headers again first. TestVerifyAgreesWithSlackGo holds the two to
// the same answers.
package slackapp
