// Package emailaddr compares email addresses the one way the function
// does when it takes a Slack user and a PagerDuty user for the same
// person: only ASCII letters are folded to lower case, and an address with
// anything beyond ASCII never matches, not even itself.
//
// Unicode case folding (strings.EqualFold) would let a look-alike address
// stand for another: the Kelvin sign K (U+212A) folds to k, so
// "\u212Aate@example.com" would be taken for "kate@example.com". Mail
// systems disagree on what such addresses mean, so none is trusted.
package emailaddr

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Key returns the form of the address s that is compared: s without
// surrounding white space, its ASCII letters in lower case. ok is false,
// and key "", for an empty address or one with any byte beyond ASCII;
// such an address matches nothing.
func Key(s string) (key string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 0x80:
			return "", false
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b), true
}

// Equal reports whether a and b are the same address: equal once their
// ASCII letters are lower-cased, and both ASCII only.
func Equal(a, b string) bool {
	ka, ok := Key(a)
	if !ok {
		return false
	}
	kb, ok := Key(b)
	return ok && ka == kb
}

// Hash returns a short pseudonym of the address for logs and error texts,
// which must not hold the address itself: "email:" and the first 12 hex
// digits of the SHA-256 of its Key (of the trimmed address when it has
// none). The same address always gives the same Hash, so whoever knows
// an address can find its log lines (printf %s address | sha256sum); a
// reader of the log cannot read addresses off it, though one who guesses
// an address can confirm the guess.
func Hash(s string) string {
	k, ok := Key(s)
	if !ok {
		k = strings.TrimSpace(s)
	}
	sum := sha256.Sum256([]byte(k))
	return "email:" + hex.EncodeToString(sum[:6])
}
