package slackops

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Slack's worked example, from "Verifying requests from Slack"
// (https://docs.slack.dev/authentication/verifying-requests-from-slack):
// the documented signing secret, timestamp and slash-command body give the
// documented signature. The body is testdata/command.form.
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = "1531420618"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

var docTime = time.Unix(1531420618, 0)

func headers(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set(HeaderTimestamp, ts)
	}
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	return h
}

func TestVerifySlackExample(t *testing.T) {
	t.Parallel()
	if err := VerifyRequest([][]byte{[]byte(docSecret)}, headers(docTimestamp, docSignature), []byte(docBody), docTime); err != nil {
		t.Errorf("VerifyRequest(Slack's example) = %v, want nil", err)
	}
	ts, sig := SignRequest([]byte(docSecret), docTime, []byte(docBody))
	if ts != docTimestamp || sig != docSignature {
		t.Errorf("SignRequest(Slack's example) = %q, %q, want %q, %q", ts, sig, docTimestamp, docSignature)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret, old := []byte("current-secret"), []byte("previous-secret")
	body := []byte("payload=%7B%7D")
	now := time.Unix(1_700_000_000, 0)
	ts, sig := SignRequest(secret, now, body)
	_, oldSig := SignRequest(old, now, body)
	tests := []struct {
		name    string
		secrets [][]byte
		header  http.Header
		body    []byte
		now     time.Time
		want    error
	}{
		{"valid", [][]byte{secret}, headers(ts, sig), body, now, nil},
		{"signed with the previous secret during rotation", [][]byte{secret, old}, headers(ts, oldSig), body, now, nil},
		{"previous secret no longer accepted", [][]byte{secret}, headers(ts, oldSig), body, now, ErrBadSignature},
		{"body changed", [][]byte{secret}, headers(ts, sig), []byte("payload=%7B%7D "), now, ErrBadSignature},
		{"no secrets", nil, headers(ts, sig), body, now, ErrBadSignature},
		{"missing signature", [][]byte{secret}, headers(ts, ""), body, now, ErrMissingSignature},
		{"signature not v0", [][]byte{secret}, headers(ts, "v1="+sig[3:]), body, now, ErrMissingSignature},
		{"signature not hex", [][]byte{secret}, headers(ts, "v0=zz"), body, now, ErrMissingSignature},
		{"missing timestamp", [][]byte{secret}, headers("", sig), body, now, ErrBadTimestamp},
		{"timestamp not a number", [][]byte{secret}, headers("soon", sig), body, now, ErrBadTimestamp},
		{"timestamp signed", [][]byte{secret}, headers("+"+ts, sig), body, now, ErrBadTimestamp},
		{"5 minutes old", [][]byte{secret}, headers(ts, sig), body, now.Add(MaxClockSkew), nil},
		{"over 5 minutes old", [][]byte{secret}, headers(ts, sig), body, now.Add(MaxClockSkew + time.Second), ErrBadTimestamp},
		{"over 5 minutes ahead", [][]byte{secret}, headers(ts, sig), body, now.Add(-MaxClockSkew - time.Second), ErrBadTimestamp},
		{"huge timestamp", [][]byte{secret}, headers("99999999999999999999", sig), body, now, ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := VerifyRequest(tt.secrets, tt.header, tt.body, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("VerifyRequest = %v, want %v", err, tt.want)
			}
		})
	}
}

// VerifyRequest accepts and refuses what slack-go's SecretsVerifier, looped over
// the rotation secrets, accepts and refuses, for requests signed around
// the real clock (the only one slack-go reads).
func TestVerifyAgreesWithSlackGo(t *testing.T) {
	t.Parallel()
	secret, old := []byte("current-secret"), []byte("previous-secret")
	body := []byte("payload=%7B%7D")
	now := time.Now()
	signedAt := func(secret []byte, at time.Time) http.Header { return headers(SignRequest(secret, at, body)) }
	tests := []struct {
		name    string
		secrets [][]byte
		header  http.Header
		body    []byte
		want    bool // accepted
	}{
		{"valid", [][]byte{secret}, signedAt(secret, now), body, true},
		{"signed with the previous secret during rotation", [][]byte{secret, old}, signedAt(old, now), body, true},
		{"previous secret no longer accepted", [][]byte{secret}, signedAt(old, now), body, false},
		{"body changed", [][]byte{secret}, signedAt(secret, now), []byte("payload=%7B%7D "), false},
		{"4 minutes old", [][]byte{secret}, signedAt(secret, now.Add(-4*time.Minute)), body, true},
		{"6 minutes old", [][]byte{secret}, signedAt(secret, now.Add(-6*time.Minute)), body, false},
		{"6 minutes ahead", [][]byte{secret}, signedAt(secret, now.Add(6*time.Minute)), body, false},
		{"missing signature", [][]byte{secret}, headers(signedAt(secret, now).Get(HeaderTimestamp), ""), body, false},
		{"missing timestamp", [][]byte{secret}, headers("", signedAt(secret, now).Get(HeaderSignature)), body, false},
		{"signature not v0", [][]byte{secret}, headers(signedAt(secret, now).Get(HeaderTimestamp), "v1="+signedAt(secret, now).Get(HeaderSignature)[3:]), body, false},
		{"signature not hex", [][]byte{secret}, headers(signedAt(secret, now).Get(HeaderTimestamp), "v0=zz"), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slackGo := false
			for _, s := range tt.secrets {
				sv, err := slack.NewSecretsVerifier(tt.header, string(s))
				if err != nil {
					continue
				}
				_, _ = sv.Write(tt.body)
				slackGo = slackGo || sv.Ensure() == nil
			}
			err := VerifyRequest(tt.secrets, tt.header, tt.body, time.Now())
			if accepted := err == nil; accepted != tt.want || slackGo != tt.want {
				t.Errorf("VerifyRequest = %v, slack-go accepts: %t; want both to accept: %t", err, slackGo, tt.want)
			}
		})
	}
}
