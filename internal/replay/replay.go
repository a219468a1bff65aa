// Package replay builds realistic, signed PagerDuty V3 webhook deliveries of
// whole incident lifecycles and sends them to a URL as PagerDuty would: one
// event per POST, signed with X-PagerDuty-Signature, retried with backoff
// while the answer says to retry. The replay command and the local sandbox
// use it.
//
// The built-in lifecycle (triggered → acknowledged → note → escalated →
// priority raised → resolved) is embedded, so the command and the sandbox
// work from any directory and after `go install`. The payload files are
// copies of internal/pagerduty/testdata: //go:embed cannot reach a parent directory,
// and the wire package should not export its test fixtures. A test checks
// that the copies stay byte-identical to the originals.
package replay

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Lifecycle names the payload files of the built-in lifecycle, in the
// order PagerDuty sends them.
var Lifecycle = []string{"triggered", "acknowledged", "annotated", "escalated", "priority_updated", "resolved"}

//go:embed payloads/*.json
var payloads embed.FS

// Stagger is how far apart the incidents of one replay start.
const Stagger = 90 * time.Second

// Template is one payload a replay is built from.
type Template struct {
	// Name is the file name without .json, for reports.
	Name string
	Body []byte
}

// Builtin returns the built-in lifecycle's payloads, in Lifecycle order.
func Builtin() []Template {
	out := make([]Template, 0, len(Lifecycle))
	for _, name := range Lifecycle {
		body, err := payloads.ReadFile("payloads/" + name + ".json")
		if err != nil {
			panic(fmt.Sprintf("replay: embedded payload %s missing: %v", name, err)) // a build defect
		}
		out = append(out, Template{Name: name, Body: body})
	}
	return out
}

// ReadDir reads every *.json file in dir as a payload, ordered as PagerDuty
// would send them: by event.occurred_at, then by file name. Every file must
// be a V3 webhook body with an event id, type and occurred_at.
func ReadDir(dir string) ([]Template, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json payload files in %s", dir)
	}
	type dated struct {
		Template
		at time.Time
	}
	var all []dated
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var env struct {
			Event *struct {
				ID         string `json:"id"`
				Type       string `json:"event_type"`
				OccurredAt string `json:"occurred_at"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Event == nil || env.Event.ID == "" || env.Event.Type == "" {
			return nil, fmt.Errorf("%s: not a PagerDuty V3 webhook body ({\"event\":{\"id\",\"event_type\",…}})", f)
		}
		at, err := time.Parse(time.RFC3339Nano, env.Event.OccurredAt)
		if err != nil {
			return nil, fmt.Errorf("%s: event.occurred_at %q is not an RFC 3339 time", f, env.Event.OccurredAt)
		}
		all = append(all, dated{Template{strings.TrimSuffix(filepath.Base(f), ".json"), body}, at})
	}
	slices.SortStableFunc(all, func(a, b dated) int { return a.at.Compare(b.at) })
	out := make([]Template, len(all))
	for i, d := range all {
		out[i] = d.Template
	}
	return out, nil
}

// Options shape a replay.
type Options struct {
	// Incidents is how many copies of the lifecycle to build, each with its
	// own incident id, number, event ids and times; 0 means 1.
	Incidents int
	// Interleave mixes the incidents' events: the first event of every
	// incident, then the second of every incident, and so on. Each
	// incident's own events stay in order, as PagerDuty keeps them.
	Interleave bool
	// FirstNumber is the first incident's number; the others count up.
	// 0 picks a random four-digit number, so a second replay opens new
	// channels instead of repeating the first.
	FirstNumber int
	// Run makes the ids of this replay unique (letters and digits); empty
	// picks a random one.
	Run string
	// Now is when the last incident's last event happens; the lifecycles
	// keep their original spacing and end by then. Zero means time.Now().
	Now time.Time
	// Title, when set, replaces the incident title in every payload (try
	// long, emoji-only or hostile titles).
	Title string
}

// Delivery is one webhook to send.
type Delivery struct {
	// Incident is the 1-based index of the incident copy.
	Incident   int
	IncidentID string
	Number     int
	EventID    string
	EventType  string
	// Name is the template's name (triggered, acknowledged, …).
	Name string
	// WebhookID is the X-Webhook-Id header, the same on every retry.
	WebhookID string
	Body      []byte
}

// Build rewrites the templates into one lifecycle per incident. In each
// copy every incident id (and the URLs and incident_key that carry it),
// number, event id and timestamp (*_at) is rewritten consistently, so the
// copies are distinct incidents to the function and none is a duplicate of
// an earlier replay.
func Build(tmpls []Template, opts Options) ([]Delivery, error) {
	if len(tmpls) == 0 {
		return nil, errors.New("no payloads to replay")
	}
	n := max(opts.Incidents, 1)
	run := opts.Run
	if run == "" {
		run = RandomRun()
	}
	first := opts.FirstNumber
	if first <= 0 {
		first = 1000 + int(randomUint16()%9000)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var t0, t1 time.Time
	var origIDs []string
	for _, t := range tmpls {
		doc, err := decode(t.Body)
		if err != nil {
			return nil, fmt.Errorf("payload %s: %w", t.Name, err)
		}
		ev := obj(doc, "event")
		if ev == nil {
			return nil, fmt.Errorf("payload %s: no \"event\" object", t.Name)
		}
		walkTimes(doc, func(ts time.Time) time.Time {
			if t0.IsZero() || ts.Before(t0) {
				t0 = ts
			}
			if ts.After(t1) {
				t1 = ts
			}
			return ts
		})
		if id := incidentID(ev); id != "" && !slices.Contains(origIDs, id) {
			origIDs = append(origIDs, id)
		}
	}
	span := t1.Sub(t0)

	perIncident := make([][]Delivery, n)
	for c := range n {
		start := now.Add(-span - time.Duration(n-1-c)*Stagger)
		// Whole seconds, so created_at (which has no fraction) stays exact.
		shift := start.Sub(t0).Truncate(time.Second)
		ids := map[string]string{}
		numbers := map[string]int{}
		for j, orig := range origIDs {
			ids[orig] = fmt.Sprintf("Q%s%02d", strings.ToUpper(run), c*len(origIDs)+j+1)
			numbers[orig] = first + c*len(origIDs) + j
		}
		for k, tmpl := range tmpls {
			doc, _ := decode(tmpl.Body) // it decoded above; a fresh copy for this incident
			ev := obj(doc, "event")
			d := Delivery{
				Incident:  c + 1,
				Name:      tmpl.Name,
				EventID:   fmt.Sprintf("01%sI%03dE%03d", strings.ToUpper(run), c+1, k+1),
				WebhookID: fmt.Sprintf("%s-%03d-%03d", strings.ToLower(run), c+1, k+1),
			}
			ev["id"] = d.EventID
			d.EventType, _ = ev["event_type"].(string)
			walkTimes(doc, func(ts time.Time) time.Time { return ts.Add(shift) })
			if orig := incidentID(ev); orig != "" {
				d.IncidentID, d.Number = ids[orig], numbers[orig]
				rewriteIncident(ev, orig, d.IncidentID, d.Number, opts.Title)
			}
			body, err := encode(doc)
			if err != nil {
				return nil, fmt.Errorf("payload %s: %w", tmpl.Name, err)
			}
			d.Body = body
			perIncident[c] = append(perIncident[c], d)
		}
	}
	var out []Delivery
	if !opts.Interleave {
		for _, ds := range perIncident {
			out = append(out, ds...)
		}
		return out, nil
	}
	for k := range tmpls {
		for c := range n {
			out = append(out, perIncident[c][k])
		}
	}
	return out, nil
}

// RandomRun returns a short random run tag of upper-case letters and
// digits.
func RandomRun() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomUint16() uint16 {
	b := make([]byte, 2)
	rand.Read(b)
	return uint16(b[0])<<8 | uint16(b[1])
}

// decode keeps numbers as json.Number, so they are written back unchanged.
func decode(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return doc, nil
}

// encode writes compact JSON without HTML escaping, as PagerDuty sends it.
func encode(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// incidentID is data.id of an incident payload, or data.incident.id of a
// note, responder request, status update and other sub-resources.
func incidentID(ev map[string]any) string {
	data := obj(ev, "data")
	if data == nil {
		return ""
	}
	if data["type"] == "incident" {
		id, _ := data["id"].(string)
		return id
	}
	id, _ := obj(data, "incident")["id"].(string)
	return id
}

// rewriteIncident gives the event's incident (or incident reference) its
// new id, number and, when title is set, title.
func rewriteIncident(ev map[string]any, orig, id string, number int, title string) {
	data := obj(ev, "data")
	ref := data
	if data["type"] != "incident" {
		ref = obj(data, "incident")
	}
	for _, k := range []string{"id", "self", "html_url"} {
		if s, ok := ref[k].(string); ok {
			ref[k] = strings.ReplaceAll(s, orig, id)
		}
	}
	if ref["type"] == "incident" {
		if _, ok := ref["number"]; ok {
			ref["number"] = number
		}
		if _, ok := ref["incident_key"].(string); ok {
			sum := sha256.Sum256([]byte(id))
			ref["incident_key"] = hex.EncodeToString(sum[:16])
		}
		if title != "" {
			ref["title"] = title
		}
	} else if title != "" {
		ref["summary"] = title // an incident reference's summary is the title
	}
}

// walkTimes replaces every RFC 3339 string under a key ending in "_at"
// (occurred_at, created_at, …) with f of its time, keeping the format.
func walkTimes(v any, f func(time.Time) time.Time) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && strings.HasSuffix(k, "_at") {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					v[k] = formatLike(f(t), s)
				}
				continue
			}
			walkTimes(e, f)
		}
	case []any:
		for _, e := range v {
			walkTimes(e, f)
		}
	}
}

// formatLike formats t in UTC, with milliseconds when the original had a
// fraction (occurred_at) and without when it had none (created_at).
func formatLike(t time.Time, orig string) string {
	if strings.Contains(orig, ".") {
		return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	return t.UTC().Format(time.RFC3339)
}
