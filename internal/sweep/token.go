package sweep

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/incident-channels/incident-channels/internal/emailaddr"
)

// HeaderAuthorization carries the token: "Bearer <ID token>".
const HeaderAuthorization = "Authorization"

// issuers are the values of iss in an ID token Google signed; the second
// is the legacy form Google still issues. idtoken checks the signature,
// not who issued: the verifier checks that.
var issuers = []string{"https://accounts.google.com", "accounts.google.com"}

// maxTokenBytes bounds what is decoded: Google's ID tokens are about 1 KB.
const maxTokenBytes = 16 << 10

// Token errors. Each doc comment says the status the handler answers.
var (
	// ErrNoToken means there is no "Authorization: Bearer" token: 401.
	ErrNoToken = errors.New("missing Authorization: Bearer token")
	// ErrMalformedToken means the token is not a JWT with an RS256 header
	// and claims of the expected types: 401.
	ErrMalformedToken = errors.New("malformed ID token")
	// ErrBadSignature means no key Google publishes verifies the token: 401.
	ErrBadSignature = errors.New("ID token not signed by Google")
	// ErrIssuer means the token is not one accounts.google.com issued: 401.
	ErrIssuer = errors.New("ID token not issued by accounts.google.com")
	// ErrExpired means the token is past its exp: 401.
	ErrExpired = errors.New("ID token expired")
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
	Audience      string
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
	// Client fetches the keys Google signs with; nil means a client with
	// a 10 s timeout. Tests give one that serves their own key.
	Client *http.Client
}

// Verifier checks Google-signed OIDC ID tokens, such as those Cloud
// Scheduler sends as a service account. The signature, the key set and
// its caching (as long as the answer's Cache-Control max-age says) are
// google.golang.org/api/idtoken's; the claims are the verifier's.
type Verifier struct {
	audience  string
	invoker   string
	validator *idtoken.Validator
}

// NewVerifier returns a Verifier of tokens for cfg.Audience and
// cfg.Invoker; it fetches nothing until asked.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	client := &http.Client{Timeout: keysTimeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.Transport = keysTransport{next: client.Transport}
	validator, err := idtoken.NewValidator(ctx, option.WithHTTPClient(client))
	if err != nil {
		return nil, fmt.Errorf("ID token validator: %w", err)
	}
	return &Verifier{audience: cfg.Audience, invoker: cfg.Invoker, validator: validator}, nil
}

// Verify checks the token in authorization, the value of the
// Authorization header: an RS256 signature by a key Google publishes,
// expiry, issuer, audience, and the invoker's verified email. Every error
// wraps one of the errors above, or ErrKeysUnavailable when the keys
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
	// Google signs service accounts' ID tokens with RS256. idtoken would
	// also take ES256, against the keys of Identity-Aware Proxy, whose
	// tokens no sweep caller has.
	if alg := algorithm(token); alg != "RS256" {
		return Claims{}, fmt.Errorf("%w: alg %q, want RS256", ErrMalformedToken, alg)
	}
	// No audience here: idtoken compares it before the signature, and a
	// 403 must only ever answer a token Google signed.
	p, err := v.validator.Validate(ctx, token, "")
	if err != nil {
		return Claims{}, refusal(token, err)
	}
	c := Claims{
		Issuer: p.Issuer, Audience: p.Audience, Subject: p.Subject,
		IssuedAt: time.Unix(p.IssuedAt, 0), Expires: time.Unix(p.Expires, 0),
	}
	c.Email, _ = p.Claims["email"].(string)
	// Google has sent email_verified both as true and as "true".
	c.EmailVerified = p.Claims["email_verified"] == true || p.Claims["email_verified"] == "true"
	switch {
	case !slices.Contains(issuers, c.Issuer):
		return Claims{}, fmt.Errorf("%w: iss %q", ErrIssuer, c.Issuer)
	case c.Audience != v.audience:
		return c, fmt.Errorf("%w: aud %q, want %q", ErrAudience, c.Audience, v.audience)
	case !emailaddr.Equal(c.Email, v.invoker):
		return c, fmt.Errorf("%w: email %s, want %q", ErrInvoker, emailaddr.Hash(c.Email), v.invoker)
	case !c.EmailVerified:
		return c, fmt.Errorf("%w: %s", ErrUnverifiedEmail, emailaddr.Hash(c.Email))
	}
	return c, nil
}

// refusal is why idtoken refused token, as one of the errors above.
// idtoken's errors carry no sentinel: a fetch that failed is told by the
// ErrKeysUnavailable keysTransport puts in it, a malformed or expired
// token by its claims read unverified, and the rest is the signature.
func refusal(token string, err error) error {
	if errors.Is(err, ErrKeysUnavailable) {
		return err
	}
	p, perr := idtoken.ParsePayload(token)
	switch {
	case perr != nil:
		return fmt.Errorf("%w: %v", ErrMalformedToken, perr)
	case p.Expires == 0:
		return fmt.Errorf("%w: no exp", ErrMalformedToken)
	case time.Now().Unix() > p.Expires:
		return fmt.Errorf("%w: at %s", ErrExpired, time.Unix(p.Expires, 0).UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: %v", ErrBadSignature, err)
}

// algorithm is the alg of token's header; "" when it has none.
func algorithm(token string) string {
	header, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	var h struct {
		Alg string `json:"alg"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}
