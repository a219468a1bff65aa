package pagerduty

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Header names PagerDuty sends with every V3 webhook.
const (
	HeaderSignature    = "X-PagerDuty-Signature"
	HeaderWebhookID    = "X-Webhook-Id"
	HeaderSubscription = "X-Webhook-Subscription"
)

// Signature errors. The HTTP handler answers both with 401.
var (
	// ErrMissingSignature means the request has no usable v1= signature.
	ErrMissingSignature = errors.New("missing X-PagerDuty-Signature v1 signature")
	// ErrBadSignature means no v1= signature matches any configured secret.
	ErrBadSignature = errors.New("invalid X-PagerDuty-Signature")
)

// VerifySignature checks header, the value of X-PagerDuty-Signature
// ("v1=<hex>[,v1=<hex>...]"), against the HMAC-SHA256 of body under each
// secret. Several signatures and several secrets exist during secret
// rotation: any match is enough. Comparison is constant-time.
func VerifySignature(body []byte, header string, secrets [][]byte) error {
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		sig, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return ErrMissingSignature
	}
	match := 0
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sigs {
			// Keep going after a match so timing does not reveal which
			// secret or signature matched.
			match |= boolInt(hmac.Equal(sig, want))
		}
	}
	if match == 0 {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the X-PagerDuty-Signature value PagerDuty would send for body
// under secret. Tests, the replay tool and the sandbox use it.
func Sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
