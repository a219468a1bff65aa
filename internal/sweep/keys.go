package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrKeysUnavailable means Google's keys could not be fetched, so no
// token can be checked: 503 (the next scheduled run tries again).
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// keysTimeout bounds one fetch of Google's keys.
const keysTimeout = 10 * time.Second

// maxKeysBytes bounds the key set read: Google's is about 2 KB.
const maxKeysBytes = 1 << 20

// keysTransport carries idtoken's fetches of Google's keys. idtoken words
// every failure alike, a fetch that failed as a signature that did not
// match; so that the first can be a 503 and the second a 401 without
// reading error text, this transport fails every fetch that brings no key
// set with an error wrapping ErrKeysUnavailable, which idtoken returns
// inside http.Client's *url.Error. (A general transport answers any
// status; this one serves idtoken alone, which wants a 200 and a key set.)
type keysTransport struct {
	// next makes the request; nil means http.DefaultTransport.
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t keysTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes+1))
	resp.Body.Close()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s: HTTP %d", ErrKeysUnavailable, req.URL, resp.StatusCode)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrKeysUnavailable, req.URL, err)
	case len(body) > maxKeysBytes:
		return nil, fmt.Errorf("%w: %s: over %d bytes", ErrKeysUnavailable, req.URL, maxKeysBytes)
	case json.Unmarshal(body, &set) != nil || len(set.Keys) == 0:
		return nil, fmt.Errorf("%w: %s: no JSON Web Key Set", ErrKeysUnavailable, req.URL)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
