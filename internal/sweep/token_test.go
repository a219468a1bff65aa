package sweep_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/internal/sweep"
	"github.com/incident-channels/incident-channels/internal/sweep/sweeptest"
)

const (
	audience = "https://incident-channels-abc123-ew.a.run.app"
	invoker  = "incident-channels-sweep@my-project.iam.gserviceaccount.com"
)

// now is the time of the tests' tokens: idtoken checks expiry against
// the real clock. Tokens last an hour.
var now = time.Now().Truncate(time.Second)

// testIssuers are Google, as far as the tests know, and an impostor that
// names Google's key id but signs with its own key. Making RSA keys takes
// a while: every test shares these.
var testIssuers = sync.OnceValues(func() ([2]*sweeptest.Issuer, error) {
	google, err := sweeptest.NewIssuer("google-key-1")
	if err != nil {
		return [2]*sweeptest.Issuer{}, err
	}
	impostor, err := sweeptest.NewIssuer("google-key-1")
	return [2]*sweeptest.Issuer{google, impostor}, err
})

func issuers(t testing.TB) (google, impostor *sweeptest.Issuer) {
	t.Helper()
	is, err := testIssuers()
	if err != nil {
		t.Fatal(err)
	}
	return is[0], is[1]
}

// newVerifier returns a verifier for audience and invoker whose keys
// come from client.
func newVerifier(t testing.TB, client *http.Client) *sweep.Verifier {
	t.Helper()
	v, err := sweep.NewVerifier(context.Background(), sweep.VerifierConfig{Audience: audience, Invoker: invoker, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// with returns the claims of a valid token, changed by set (nil deletes).
func with(set map[string]any) map[string]any {
	c := sweeptest.Claims(audience, invoker, now)
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestVerify(t *testing.T) {
	t.Parallel()
	google, impostor := issuers(t)
	tests := []struct {
		name  string
		auth  string
		want  error
		email string // the claims' email, given back with a 403 error
	}{
		{"valid", "Bearer " + google.Sign(with(nil)), nil, invoker},
		{"scheme in lower case", "bearer " + google.Sign(with(nil)), nil, invoker},
		{"legacy issuer", "Bearer " + google.Sign(with(map[string]any{"iss": "accounts.google.com"})), nil, invoker},
		{"email_verified as a string", "Bearer " + google.Sign(with(map[string]any{"email_verified": "true"})), nil, invoker},
		{"email in other case", "Bearer " + google.Sign(with(map[string]any{"email": strings.ToUpper(invoker)})), nil, strings.ToUpper(invoker)},

		{"missing header", "", sweep.ErrNoToken, ""},
		{"basic auth", "Basic dXNlcjpwYXNz", sweep.ErrNoToken, ""},
		{"bearer without token", "Bearer ", sweep.ErrNoToken, ""},
		{"not a JWT", "Bearer abc.def", sweep.ErrMalformedToken, ""},
		{"header not base64", "Bearer !!!." + strings.SplitN(google.Sign(with(nil)), ".", 2)[1], sweep.ErrMalformedToken, ""},
		{"alg none", "Bearer " + google.SignHeader(map[string]any{"alg": "none", "kid": google.Kid}, with(nil)), sweep.ErrMalformedToken, ""},
		{"alg HS256", "Bearer " + google.SignHeader(map[string]any{"alg": "HS256", "kid": google.Kid}, with(nil)), sweep.ErrMalformedToken, ""},
		{"alg ES256", "Bearer " + google.SignHeader(map[string]any{"alg": "ES256", "kid": google.Kid}, with(nil)), sweep.ErrMalformedToken, ""},
		{"no exp", "Bearer " + google.Sign(with(map[string]any{"exp": nil})), sweep.ErrMalformedToken, ""},
		{"exp a string", "Bearer " + google.Sign(with(map[string]any{"exp": "tomorrow"})), sweep.ErrMalformedToken, ""},
		// Google's ID tokens carry aud as one string; idtoken reads no other.
		{"audience in an array", "Bearer " + google.Sign(with(map[string]any{"aud": []string{audience}})), sweep.ErrMalformedToken, ""},
		{"bad signature", "Bearer " + impostor.Sign(with(nil)), sweep.ErrBadSignature, ""},
		{"bad signature for another audience", "Bearer " + impostor.Sign(with(map[string]any{"aud": "https://other-service.a.run.app"})), sweep.ErrBadSignature, ""},
		{"claims changed after signing", "Bearer " + swapClaims(google.Sign(with(nil)), google.Sign(with(map[string]any{"email": "eve@example.com"}))), sweep.ErrBadSignature, ""},
		{"unknown key id", "Bearer " + google.SignHeader(map[string]any{"alg": "RS256", "kid": "other-key"}, with(nil)), sweep.ErrBadSignature, ""},
		{"no key id", "Bearer " + google.SignHeader(map[string]any{"alg": "RS256"}, with(nil)), sweep.ErrBadSignature, ""},
		{"other issuer", "Bearer " + google.Sign(with(map[string]any{"iss": "https://token.actions.githubusercontent.com"})), sweep.ErrIssuer, ""},
		{"expired", "Bearer " + google.Sign(with(map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})), sweep.ErrExpired, ""},
		{"wrong audience", "Bearer " + google.Sign(with(map[string]any{"aud": "https://other-service.a.run.app"})), sweep.ErrAudience, invoker},
		{"wrong email", "Bearer " + google.Sign(with(map[string]any{"email": "someone@my-project.iam.gserviceaccount.com"})), sweep.ErrInvoker, "someone@my-project.iam.gserviceaccount.com"},
		{"unverified email", "Bearer " + google.Sign(with(map[string]any{"email_verified": false})), sweep.ErrUnverifiedEmail, invoker},
		{"no email_verified", "Bearer " + google.Sign(with(map[string]any{"email_verified": nil})), sweep.ErrUnverifiedEmail, invoker},
	}
	v := newVerifier(t, google.Client())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			claims, err := v.Verify(context.Background(), tt.auth)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if claims.Email != tt.email {
				t.Errorf("Verify claims email = %q, want %q", claims.Email, tt.email)
			}
		})
	}
}

// swapClaims returns token a with the claims of token b.
func swapClaims(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

func TestVerifyClaims(t *testing.T) {
	t.Parallel()
	google, _ := issuers(t)
	v := newVerifier(t, google.Client())
	c, err := v.Verify(context.Background(), "Bearer "+google.Token(audience, invoker, now))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://accounts.google.com" || c.Subject == "" || !c.EmailVerified ||
		!c.IssuedAt.Equal(now) || !c.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("Verify claims = %+v, want Google's, issued now for an hour", c)
	}
}
