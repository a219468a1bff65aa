package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/incident-channels/incident-channels/incident"
)

// DefaultAPIURL is the PagerDuty REST API of US accounts; EU accounts use
// https://api.eu.pagerduty.com (PAGERDUTY_API_URL).
const DefaultAPIURL = "https://api.pagerduty.com"

// Headers and media types of the REST API v2.
const (
	headerAuthorization = "Authorization"
	headerAccept        = "Accept"
	headerContentType   = "Content-Type"
	headerFrom          = "From"
	headerUserAgent     = "User-Agent"
	headerRetryAfter    = "Retry-After"
	headerRateLimitWait = "Ratelimit-Reset"
	// mediaTypeV2 selects version 2 of the REST API, which PagerDuty
	// documents as required on every request.
	mediaTypeV2   = "application/vnd.pagerduty+json;version=2"
	mediaTypeJSON = "application/json"
	userAgent     = "incident-channels"
)

// Limits.
const (
	// maxBody bounds how much of an answer is read.
	maxBody = 1 << 20
	// fallbackTimeout bounds a request when the caller's context has no
	// deadline and no HTTPClient was given.
	fallbackTimeout = 20 * time.Second
	// pageLimit is the page size of list calls, the largest PagerDuty
	// serves.
	pageLimit = 100
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Token is the PagerDuty REST API key (PAGERDUTY_API_TOKEN). Reads
	// need a read-only key; writes a full-access key, or PagerDuty
	// answers 403.
	Token string
	// URL is the REST API base URL (PAGERDUTY_API_URL); "" is
	// DefaultAPIURL.
	URL string
	// HTTPClient sends the requests; nil is a client with a 20 s timeout.
	HTTPClient *http.Client
}

// Client calls the PagerDuty REST API v2. It is safe for concurrent use.
//
// Every request carries the same headers (the token, the version 2 media
// type, a User-Agent); the writes to an incident carry From, the email
// address of the PagerDuty user they are made as, and are refused
// without one before anything is sent. Every failure is an
// *incident.Error (see answerError).
type Client struct {
	token string
	url   string
	hc    *http.Client
}

// NewClient returns a Client configured by o.
func NewClient(o ClientOptions) *Client {
	c := &Client{token: o.Token, url: strings.TrimRight(o.URL, "/"), hc: o.HTTPClient}
	if c.url == "" {
		c.url = DefaultAPIURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: fallbackTimeout}
	}
	return c
}

// call is one request to PagerDuty.
type call struct {
	// op names the call for errors ("pagerduty.resolve PT4KHLK"); its
	// first word selects the action Explain names.
	op     string
	method string
	path   string // with the query, already escaped
	// from is the From header: the email address of the PagerDuty user
	// an incident write is made as. A call with asUser set and no from
	// is refused without being sent.
	from   string
	asUser bool
	body   any // marshalled to JSON; nil for none
	out    any // the answer is decoded into it; nil to ignore it
}

// errNoFrom is a write to an incident without the PagerDuty user it is
// made as: PagerDuty refuses it (400) when the key is an account key.
var errNoFrom = errors.New("no From address: PagerDuty makes a write to an incident as the user with the From header's email address")

// do sends the call and decodes a 2xx answer into c.out. Any failure is
// an *incident.Error (see answerError).
func (c *Client) do(ctx context.Context, cl call) error {
	cl.from = strings.TrimSpace(cl.from)
	if cl.asUser && cl.from == "" {
		return &incident.Error{Kind: incident.KindRefused, Op: cl.op, Err: errNoFrom}
	}
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return &incident.Error{Kind: incident.KindRefused, Op: cl.op, Err: fmt.Errorf("encode the request: %w", err)}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.url+cl.path, body)
	if err != nil {
		// Only a malformed PAGERDUTY_API_URL gets here.
		return &incident.Error{Kind: incident.KindRefused, Op: cl.op, Err: fmt.Errorf("build the request (check PAGERDUTY_API_URL): %w", err)}
	}
	req.Header.Set(headerAuthorization, "Token token="+c.token)
	req.Header.Set(headerAccept, mediaTypeV2)
	req.Header.Set(headerUserAgent, userAgent)
	if body != nil {
		req.Header.Set(headerContentType, mediaTypeJSON)
	}
	if cl.from != "" {
		req.Header.Set(headerFrom, cl.from)
	}

	budget := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return noAnswerError(cl, budget, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return noAnswerError(cl, budget, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.answerError(cl, resp, b)
	}
	if cl.out == nil {
		return nil
	}
	if err := json.Unmarshal(b, cl.out); err != nil {
		// A 2xx that is not PagerDuty's JSON: a proxy or the wrong URL.
		return &incident.Error{Kind: incident.KindRefused, Op: cl.op,
			Err: fmt.Errorf("%s answered HTTP %d with something that is not PagerDuty's JSON (check PAGERDUTY_API_URL): %w", c.url, resp.StatusCode, err)}
	}
	return nil
}

// noAnswerError classifies a call that got no (complete) answer: a retry
// of an idempotent GET or PUT is safe, so it is transient; a POST may have
// taken effect, so it may be done.
func noAnswerError(cl call, budget time.Duration, err error) error {
	kind := incident.KindTransient
	if cl.method == http.MethodPost {
		kind = incident.KindMaybeDone
	}
	// *url.Error repeats the method and URL; the cause is enough.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &incident.Error{Kind: kind, Op: cl.op, Err: &NoAnswerError{Budget: budget, Err: err}}
}

// answerError classifies a non-2xx answer:
//
//	429            KindTransient, RetryAfter from Retry-After
//	503            KindTransient: the service refused the request
//	other 5xx      KindTransient (KindMaybeDone for a POST: a 500, or a
//	               gateway's 502/504, does not say whether the note was
//	               created)
//	bare 404       KindRefused: PAGERDUTY_API_URL is not PagerDuty's API
//	other 4xx      KindRefused
func (c *Client) answerError(cl call, resp *http.Response, body []byte) error {
	apiErr := parseAPIError(resp.StatusCode, body)
	e := &incident.Error{Kind: incident.KindRefused, Op: cl.op, Err: apiErr}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		e.Kind = incident.KindTransient
		e.RetryAfter = retryAfter(resp.Header, time.Now())
	case code >= 500 && code != http.StatusServiceUnavailable && cl.method == http.MethodPost:
		e.Kind = incident.KindMaybeDone
	case code >= 500:
		e.Kind = incident.KindTransient
	case code == http.StatusNotFound && !apiErr.fromPagerDuty:
		e.Err = &WrongURLError{URL: c.url, API: apiErr}
	}
	return e
}

// get reads path into out.
func (c *Client) get(ctx context.Context, op, path string, out any) error {
	return c.do(ctx, call{op: op, method: http.MethodGet, path: path, out: out})
}

// list reads a paginated collection: GET path?query&limit&offset, page by
// page, each page's items under key. It calls yield with every item
// until yield returns false, PagerDuty says there are no more, or
// maxPages pages were read; more reports that items were left unread
// after maxPages pages. The offset counts the items read, so a server
// serving fewer than asked per page loses none.
func list[T any](ctx context.Context, c *Client, op, path, key string, query url.Values, maxPages int, yield func(T) bool) (more bool, err error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	read := 0
	for range maxPages {
		q.Set("limit", strconv.Itoa(pageLimit))
		q.Set("offset", strconv.Itoa(read))
		var page map[string]json.RawMessage
		if err := c.get(ctx, op, path+"?"+q.Encode(), &page); err != nil {
			return false, err
		}
		var items []T
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return false, &incident.Error{Kind: incident.KindRefused, Op: op,
					Err: fmt.Errorf("%s answered a %s that is not PagerDuty's (check PAGERDUTY_API_URL): %w", c.url, key, err)}
			}
		}
		more = false
		if raw, ok := page["more"]; ok {
			_ = json.Unmarshal(raw, &more)
		}
		for _, it := range items {
			if !yield(it) {
				return false, nil
			}
		}
		read += len(items)
		if !more || len(items) == 0 {
			return false, nil
		}
	}
	return true, nil
}

// escape escapes one path segment (an id).
func escape(id string) string { return url.PathEscape(id) }
