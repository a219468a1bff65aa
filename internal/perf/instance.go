package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"

	"github.com/incident-channels/incident-channels/incident"
	"github.com/incident-channels/incident-channels/incident/store"
	"github.com/incident-channels/incident-channels/internal/app"
	"github.com/incident-channels/incident-channels/internal/config"
	"github.com/incident-channels/incident-channels/internal/endpoint"
	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
	"github.com/incident-channels/incident-channels/internal/pagerduty"
	"github.com/incident-channels/incident-channels/slackops"
)

// secret signs every delivery.
const secret = "perf-secret"

// inviteUsers makes a new incident invite, as a typical deployment does:
// six Slack calls for a triggered event.
const inviteUsers = "U0LEAD,U0SRE"

// instance is one function instance serving over loopback HTTP, with its
// fake Slack.
type instance struct {
	fake    *slackfake.Server
	handler http.Handler
	srv     *httptest.Server
	client  *http.Client
	// counts and fsClient are set for composed instances only.
	counts   *CountingStore
	fsClient *firestore.Client
	// proxy counts the connections the function opens to Slack; set
	// when asked for.
	proxy *netfake.Proxy
	// storeProxy stands between the store and the Firestore emulator,
	// to delay its answers; set when asked for.
	storeProxy *netfake.Proxy
	closers    []func()
}

func (in *instance) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
}

func (in *instance) serve() {
	in.srv = httptest.NewServer(in.handler)
	in.closers = append(in.closers, in.srv.Close)
	in.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
	}
}

// slackURL starts the fake and returns the URL the function is to call,
// through a connection-counting proxy when countConns is set.
func (in *instance) startSlack(countConns bool) (string, error) {
	in.fake = slackfake.NewServer()
	in.closers = append(in.closers, in.fake.Close)
	if !countConns {
		return in.fake.URL, nil
	}
	p, err := netfake.NewProxy(strings.TrimSuffix(strings.TrimPrefix(in.fake.URL, "http://"), "/api/"))
	if err != nil {
		return "", err
	}
	in.proxy = p
	in.closers = append(in.closers, p.Close)
	return "http://" + p.Addr() + "/api/", nil
}

// newFunction returns the handler app.New builds from a
// configuration, as Cloud Functions runs it, with a fake Slack. configure,
// when set, prepares the fake and adds to the environment before the
// configuration is read.
func (rn *runner) newFunction(ctx context.Context, configure func(fake *slackfake.Server, env map[string]string)) (*instance, error) {
	in := &instance{}
	slackURL, err := in.startSlack(false)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"PAGERDUTY_WEBHOOK_SECRET": secret,
		"SLACK_BOT_TOKEN":          slackfake.DefaultToken,
		"SLACK_API_URL":            slackURL,
		"SLACK_INVITE_USERS":       inviteUsers,
		"STORE":                    "memory",
	}
	if p := rn.project(); p != "" {
		env["STORE"], env["GOOGLE_CLOUD_PROJECT"] = "firestore", p
	}
	if configure != nil {
		configure(in.fake, env)
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		in.Close()
		return nil, err
	}
	h, err := app.New(ctx, app.Config{Config: cfg}, app.NewLogger(io.Discard))
	if err != nil {
		in.Close()
		return nil, err
	}
	in.handler = h
	in.serve()
	return in, nil
}

// composeOptions say what proxies a composed instance has.
type composeOptions struct {
	// countConns counts the connections the function opens to Slack.
	countConns bool
	// storeProxy routes the Firestore client through a proxy whose
	// delay the caller sets (instance.storeProxy); the emulator only.
	storeProxy bool
}

// newComposed returns an instance composed of the parts New composes, with
// a CountingStore around the store.
func (rn *runner) newComposed(ctx context.Context, co composeOptions) (*instance, error) {
	in := &instance{}
	slackURL, err := in.startSlack(co.countConns)
	if err != nil {
		in.Close()
		return nil, err
	}
	var st incident.Store = store.NewMemory()
	// limits shares Slack's 429 answers among instances, as app.New wires
	// them: in Firestore when the store is.
	var limits slackops.RateLimits = &slackops.MemoryRateLimits{}
	if p := rn.project(); p != "" {
		var opts []option.ClientOption
		if co.storeProxy {
			if opts, err = in.proxyStore(rn.o.EmulatorHost); err != nil {
				in.Close()
				return nil, err
			}
		}
		client, err := firestore.NewClient(ctx, p, opts...)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("firestore client: %w", err)
		}
		in.fsClient = client
		in.closers = append(in.closers, func() { client.Close() })
		fs := store.NewFirestore(client)
		st, limits = fs, fs.RateLimits()
	}
	in.counts = NewCountingStore(st)
	log := slog.New(slog.DiscardHandler)
	svc := incident.NewService(in.counts, slackops.New(slackfake.DefaultToken, slackURL, slackops.WithRateLimits(limits)),
		incident.Config{ChannelPrefix: "inc", InviteUsers: strings.Split(inviteUsers, ",")}, log)
	in.handler = endpoint.Chain{}.Serve(pagerduty.Endpoint, pagerduty.NewHandler(pagerduty.HandlerConfig{Secrets: [][]byte{[]byte(secret)}, Service: svc}))
	in.serve()
	return in, nil
}

// proxyStore starts in.storeProxy in front of the emulator and returns
// the Firestore client options that connect through it.
func (in *instance) proxyStore(emulator string) ([]option.ClientOption, error) {
	p, err := netfake.NewProxy(emulator)
	if err != nil {
		return nil, err
	}
	in.storeProxy = p
	in.closers = append(in.closers, p.Close)
	conn, err := firestoretest.Dial(p.Addr())
	if err != nil {
		return nil, fmt.Errorf("dial the Firestore emulator through a proxy: %w", err)
	}
	in.closers = append(in.closers, func() { conn.Close() })
	return []option.ClientOption{option.WithGRPCConn(conn)}, nil
}

// deliver POSTs a signed body as PagerDuty does and returns the status,
// the answer's first line (processed, duplicate …) and its headers.
func deliver(ctx context.Context, client *http.Client, url string, body []byte) (int, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(pagerduty.HeaderSignature, pagerduty.Sign(body, []byte(secret)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header, nil
}

// send delivers body and fails unless the function answered 200.
func (in *instance) send(ctx context.Context, body []byte) (string, error) {
	code, msg, _, err := deliver(ctx, in.client, in.srv.URL+"/", body)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("delivery of %s answered %d %s", eventSummary(body), code, msg)
	}
	return msg, nil
}

// timedSend delivers body and returns how long the answer took.
func (in *instance) timedSend(ctx context.Context, body []byte) (time.Duration, error) {
	start := time.Now()
	_, err := in.send(ctx, body)
	return time.Since(start), err
}

// withEvent returns body with the event's id and occurred_at replaced, and
// its type when typ is not empty.
func withEvent(body []byte, id string, at time.Time, typ string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		panic(fmt.Sprintf("perf: bad payload: %v", err)) // generated by soak.Lifecycle
	}
	ev := doc["event"].(map[string]any)
	ev["id"] = id
	ev["occurred_at"] = at.UTC().Format(time.RFC3339Nano)
	if typ != "" {
		ev["event_type"] = typ
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}

// eventOf returns the event's id, type, occurred_at and incident id.
func eventOf(body []byte) (id, typ string, at time.Time, incidentID string) {
	var doc struct {
		Event struct {
			ID         string    `json:"id"`
			Type       string    `json:"event_type"`
			OccurredAt time.Time `json:"occurred_at"`
			Data       struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Incident struct {
					ID string `json:"id"`
				} `json:"incident"`
			} `json:"data"`
		} `json:"event"`
	}
	_ = json.Unmarshal(body, &doc)
	e := doc.Event
	incidentID = e.Data.ID
	if e.Data.Type != "incident" {
		incidentID = e.Data.Incident.ID
	}
	return e.ID, e.Type, e.OccurredAt, incidentID
}

func eventSummary(body []byte) string {
	id, typ, _, inc := eventOf(body)
	return fmt.Sprintf("%s %s (incident %s)", typ, id, inc)
}
