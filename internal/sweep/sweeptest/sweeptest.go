// Package sweeptest signs ID tokens the way Google signs those Cloud
// Scheduler sends, with a key made up for the test, and serves that key
// the way Google publishes its own, so tests of the sweep endpoint need no
// network.
package sweeptest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"time"
)

// CertsURL is where google.golang.org/api/idtoken fetches the keys Google
// signs ID tokens with (the jwks_uri of accounts.google.com).
const CertsURL = "https://www.googleapis.com/oauth2/v3/certs"

// Issuer signs tokens with one RSA key.
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

// Client is an HTTP client that answers a GET of CertsURL with KeySet,
// kept an hour as Google's answer says, and anything else with 404: the
// client of a sweep.Verifier that trusts the issuer as Google.
func (is *Issuer) Client() *http.Client {
	keys := is.KeySet()
	return Client(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.String() != CertsURL {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Cache-Control", "public, max-age=3600, must-revalidate, no-transform")
		_, _ = w.Write(keys)
	}))
}

// Client is an HTTP client that has h answer every request in the
// process, whatever its URL: no network, no listener.
func Client(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func part(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a defect: tests pass JSON values
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
