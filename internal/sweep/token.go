package sweep

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HeaderAuthorization carries the token: "Bearer <ID token>".
const HeaderAuthorization = "Authorization"

// issuers are the values of iss in an ID token Google signed; the second
// is the legacy form Google still issues.
var issuers = []string{"https://accounts.google.com", "accounts.google.com"}

// clockSkew is how far this clock and Google's may disagree: a token is
// accepted that long past its exp, or issued that long in the future.
const clockSkew = time.Minute

// maxTokenBytes bounds what is decoded: Google's ID tokens are about 1 KB.
const maxTokenBytes = 16 << 10

// Token errors. Each doc comment says the status the handler answers.
var (
	// ErrNoToken means there is no "Authorization: Bearer" token: 401.
	ErrNoToken = errors.New("missing Authorization: Bearer token")
	// ErrMalformedToken means the token is not a JWT with an RS256 header,
	// a key id, and claims of the expected types: 401.
	ErrMalformedToken = errors.New("malformed ID token")
	// ErrBadSignature means no key Google publishes verifies the token: 401.
	ErrBadSignature = errors.New("ID token not signed by Google")
	// ErrIssuer means the token is not one accounts.google.com issued: 401.
	ErrIssuer = errors.New("ID token not issued by accounts.google.com")
	// ErrExpired means the token is past its exp, or not valid yet (iat or
	// nbf in the future), beyond the allowed clock skew: 401.
	ErrExpired = errors.New("ID token expired or not yet valid")
	// ErrAudience means a valid Google token meant for another audience
	// than SWEEP_AUDIENCE: 403.
	ErrAudience = errors.New("ID token for another audience")
	// ErrInvoker means a valid Google token of another account than
	// SWEEP_INVOKER: 403.
	ErrInvoker = errors.New("ID token of another account")
	// ErrUnverifiedEmail means a valid Google token whose email is not
	// verified: 403.
	ErrUnverifiedEmail = errors.New("ID token email not verified")
)

// Claims are the claims of a verified ID token the verifier checks.
type Claims struct {
	Issuer        string
	Audience      []string
	Email         string
	EmailVerified bool
	Subject       string
	IssuedAt      time.Time
	Expires       time.Time
}

// VerifierConfig is what a Verifier is made of.
type VerifierConfig struct {
	// Audience is the aud a token must carry: SWEEP_AUDIENCE.
	Audience string
	// Invoker is the email a token must carry, verified: SWEEP_INVOKER.
	Invoker string
	// Keys are the keys Google signs with; NewGoogleKeys fetches them.
	Keys KeySource
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier checks Google-signed OIDC ID tokens, such as those Cloud
// Scheduler sends as a service account.
type Verifier struct {
	audience string
	invoker  string
	keys     KeySource
	now      func() time.Time
}

// NewVerifier returns a Verifier of tokens for cfg.Audience and
// cfg.Invoker.
func NewVerifier(cfg VerifierConfig) *Verifier {
	v := &Verifier{audience: cfg.Audience, invoker: cfg.Invoker, keys: cfg.Keys, now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	return v
}

// Verify checks the token in authorization, the value of the
// Authorization header: an RS256 signature by a key Google publishes,
// issuer, lifetime, audience, and the invoker's verified email. Every
// error wraps one of the errors above, or ErrKeysUnavailable when the keys
// could not be had. Claims are returned with ErrAudience, ErrInvoker and
// ErrUnverifiedEmail (the token is Google's), so a log can say whose it
// was.
func (v *Verifier) Verify(ctx context.Context, authorization string) (Claims, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Claims{}, ErrNoToken
	}
	if len(token) > maxTokenBytes {
		return Claims{}, fmt.Errorf("%w: over %d bytes", ErrMalformedToken, maxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: %d parts, want 3", ErrMalformedToken, len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodePart(parts[0], &header); err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrMalformedToken, err)
	}
	if header.Alg != "RS256" || header.Kid == "" {
		return Claims{}, fmt.Errorf("%w: alg %q, kid %q; want RS256 and a key id", ErrMalformedToken, header.Alg, header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: signature: %v", ErrMalformedToken, err)
	}
	key, err := v.keys.Key(ctx, header.Kid)
	if errors.Is(err, ErrUnknownKey) {
		return Claims{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err != nil {
		return Claims{}, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return Claims{}, fmt.Errorf("%w: key %q", ErrBadSignature, header.Kid)
	}

	var raw rawClaims
	if err := decodePart(parts[1], &raw); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformedToken, err)
	}
	if raw.Exp == nil || raw.Iat == nil {
		return Claims{}, fmt.Errorf("%w: exp and iat are required", ErrMalformedToken)
	}
	c := Claims{
		Issuer: raw.Iss, Audience: raw.Aud, Email: raw.Email, EmailVerified: bool(raw.EmailVerified),
		Subject: raw.Sub, IssuedAt: raw.Iat.time(), Expires: raw.Exp.time(),
	}
	if !slices.Contains(issuers, c.Issuer) {
		return Claims{}, fmt.Errorf("%w: iss %q", ErrIssuer, c.Issuer)
	}
	now := v.now()
	switch {
	case now.After(c.Expires.Add(clockSkew)):
		return Claims{}, fmt.Errorf("%w: expired at %s", ErrExpired, c.Expires.UTC().Format(time.RFC3339))
	case c.IssuedAt.After(now.Add(clockSkew)):
		return Claims{}, fmt.Errorf("%w: issued at %s, in the future", ErrExpired, c.IssuedAt.UTC().Format(time.RFC3339))
	case raw.Nbf != nil && raw.Nbf.time().After(now.Add(clockSkew)):
		return Claims{}, fmt.Errorf("%w: not before %s", ErrExpired, raw.Nbf.time().UTC().Format(time.RFC3339))
	}
	switch {
	case !slices.Contains(c.Audience, v.audience):
		return c, fmt.Errorf("%w: aud %q, want %q", ErrAudience, c.Audience, v.audience)
	case !strings.EqualFold(c.Email, v.invoker):
		return c, fmt.Errorf("%w: email %q, want %q", ErrInvoker, c.Email, v.invoker)
	case !c.EmailVerified:
		return c, fmt.Errorf("%w: %q", ErrUnverifiedEmail, c.Email)
	}
	return c, nil
}

// rawClaims are the claims as JWT encodes them.
type rawClaims struct {
	Iss           string       `json:"iss"`
	Aud           audience     `json:"aud"`
	Email         string       `json:"email"`
	EmailVerified boolClaim    `json:"email_verified"`
	Sub           string       `json:"sub"`
	Exp           *numericDate `json:"exp"`
	Iat           *numericDate `json:"iat"`
	Nbf           *numericDate `json:"nbf"`
}

// decodePart decodes one base64url part of a JWT into v.
func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audience is aud: one string, or an array of them (RFC 7519).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		return json.Unmarshal(b, (*[]string)(a))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = audience{s}
	return nil
}

// boolClaim is a boolean claim: Google has sent email_verified both as
// true and as "true".
type boolClaim bool

func (f *boolClaim) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*f = boolClaim(v)
	case string:
		*f = boolClaim(v == "true")
	default:
		*f = false
	}
	return nil
}

// numericDate is a JWT time: seconds since the epoch, maybe fractional.
type numericDate float64

func (n *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("numeric date %s: %w", b, err)
	}
	*n = numericDate(f)
	return nil
}

func (n numericDate) time() time.Time {
	sec := int64(n)
	return time.Unix(sec, int64((float64(n)-float64(sec))*1e9))
}
