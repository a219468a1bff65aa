// Package sweeptest signs ID tokens the way Google signs those Cloud
// Scheduler sends, with a key made up for the test, so tests of the sweep
// endpoint need no network.
package sweeptest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/incident-channels/incident-channels/internal/sweep"
)

// Issuer signs tokens with one RSA key and is the sweep.KeySource that
// knows it.
type Issuer struct {
	// Kid is the key id its tokens name.
	Kid string
	key *rsa.PrivateKey
}

// NewIssuer makes an Issuer with a new 2048-bit key under kid.
func NewIssuer(kid string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Issuer{Kid: kid, key: key}, nil
}

// Key implements sweep.KeySource.
func (is *Issuer) Key(_ context.Context, kid string) (*rsa.PublicKey, error) {
	if kid != is.Kid {
		return nil, fmt.Errorf("%w %q", sweep.ErrUnknownKey, kid)
	}
	return &is.key.PublicKey, nil
}

// Claims are the claims of the token Cloud Scheduler sends as the service
// account email for audience, issued at now for an hour.
func Claims(audience, email string, now time.Time) map[string]any {
	return map[string]any{
		"iss":            "https://accounts.google.com",
		"aud":            audience,
		"azp":            "112233445566778899000",
		"sub":            "112233445566778899000",
		"email":          email,
		"email_verified": true,
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
	}
}

// Token returns a token with the Claims of audience, email and now.
func (is *Issuer) Token(audience, email string, now time.Time) string {
	return is.Sign(Claims(audience, email, now))
}

// Sign returns the RS256 JWT of claims, naming the issuer's key.
func (is *Issuer) Sign(claims map[string]any) string {
	return is.SignHeader(map[string]any{"alg": "RS256", "kid": is.Kid, "typ": "JWT"}, claims)
}

// SignHeader returns the JWT of header and claims, signed with RS256
// whatever header says.
func (is *Issuer) SignHeader(header, claims map[string]any) string {
	signed := part(header) + "." + part(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, is.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err) // a defect: the key is valid and the digest SHA-256's
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// KeySet is the JSON Web Key Set that publishes the issuer's public key,
// shaped like Google's.
func (is *Issuer) KeySet() []byte {
	pub := is.key.PublicKey
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": is.Kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

func part(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a defect: tests pass JSON values
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
