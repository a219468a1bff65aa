package sweep

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GoogleCertsURL is where Google publishes, as a JSON Web Key Set, the
// keys it signs ID tokens with (the jwks_uri of accounts.google.com).
const GoogleCertsURL = "https://www.googleapis.com/oauth2/v3/certs"

// KeySource returns the public key that signs tokens under a key id.
type KeySource interface {
	// Key returns the key with id kid, ErrUnknownKey when there is none,
	// or an error wrapping ErrKeysUnavailable when the keys could not be
	// had.
	Key(ctx context.Context, kid string) (*rsa.PublicKey, error)
}

var (
	// ErrUnknownKey means no published key has the token's key id; Verify
	// wraps it in ErrBadSignature: 401.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrKeysUnavailable means Google's keys could not be fetched, so no
	// token can be checked: 503 (the next scheduled run tries again).
	ErrKeysUnavailable = errors.New("signing keys unavailable")
)

// minRefetch is how long fetched keys are kept at least, and how often at
// most a token with an unknown key id makes them be fetched again: keys
// rotate rarely, and a stream of made-up key ids must not become a stream
// of fetches.
const minRefetch = time.Minute

// maxKeysBytes bounds the key set read: Google's is about 2 KB.
const maxKeysBytes = 1 << 20

// KeysConfig is what GoogleKeys is made of; its zero value fetches
// Google's keys.
type KeysConfig struct {
	// URL is the JSON Web Key Set's; empty means GoogleCertsURL.
	URL string
	// Client fetches it; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GoogleKeys is a KeySource that fetches a JSON Web Key Set and keeps it
// as long as the answer's Cache-Control max-age says (less its Age).
type GoogleKeys struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fresh   time.Time // keys may be used without asking until then
	fetched time.Time // the last attempt
}

// NewGoogleKeys returns a GoogleKeys; it fetches nothing until asked.
func NewGoogleKeys(cfg KeysConfig) *GoogleKeys {
	k := &GoogleKeys{url: cfg.URL, client: cfg.Client, now: cfg.Now}
	if k.url == "" {
		k.url = GoogleCertsURL
	}
	if k.client == nil {
		k.client = &http.Client{Timeout: 10 * time.Second}
	}
	if k.now == nil {
		k.now = time.Now
	}
	return k
}

// Key implements KeySource. A key id not among fresh keys fetches them
// again, at most every minRefetch, since Google may have added a key.
func (k *GoogleKeys) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if now.Before(k.fresh) {
		if key := k.keys[kid]; key != nil {
			return key, nil
		}
		if now.Sub(k.fetched) < minRefetch {
			return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
		}
	}
	k.fetched = now
	keys, maxAge, err := k.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeysUnavailable, k.url, err)
	}
	k.keys, k.fresh = keys, now.Add(max(maxAge, minRefetch))
	if key := k.keys[kid]; key != nil {
		return key, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// fetch gets the key set and how long it may be kept.
func (k *GoogleKeys) fetch(ctx context.Context) (map[string]*rsa.PublicKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes))
	if err != nil {
		return nil, 0, err
	}
	keys, err := parseKeySet(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, maxAge(resp.Header), nil
}

// maxAge is how long an answer with header h may be kept: Cache-Control's
// max-age less Age; 0 when it says no-store or no-cache, or has none.
func maxAge(h http.Header) time.Duration {
	var age time.Duration
	for directive := range strings.SplitSeq(strings.ToLower(h.Get("Cache-Control")), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch name {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			if s, err := strconv.Atoi(strings.Trim(value, `"`)); err == nil && s > 0 {
				age = time.Duration(s) * time.Second
			}
		}
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Age"))); err == nil && s > 0 {
		age -= time.Duration(s) * time.Second
	}
	return max(age, 0)
}

// minKeyBits is the smallest RSA key accepted.
const minKeyBits = 2048

// parseKeySet returns the RS256 signing keys of a JSON Web Key Set by key
// id. Keys of other types or uses are left out; it is an error when none
// is left.
func parseKeySet(b []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, jwk := range set.Keys {
		if jwk.Kty != "RSA" || jwk.Kid == "" || (jwk.Alg != "" && jwk.Alg != "RS256") || (jwk.Use != "" && jwk.Use != "sig") {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(jwk.N)
		e, errE := base64.RawURLEncoding.DecodeString(jwk.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if key.N.BitLen() < minKeyBits || key.E < 3 || key.E%2 == 0 {
			continue
		}
		keys[jwk.Kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("key set has no RS256 signing key")
	}
	return keys, nil
}
