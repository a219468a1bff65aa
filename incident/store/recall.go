package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/incident-channels/incident-channels/incident"
)

// The incident memory: one document per incident that resolved, holding
// its incident.PastIncident,
//
//	memory/{incidentID}
//
// written in the same commit as the incident document whenever
// incident.MemoryChanged says the write changes it, so it is exactly as
// current as the incident. The memory of a resolved incident carries
// expire_at, its resolution plus the history retention (the store's
// Retention, as for incident documents; zero means
// incident.HistoryRetention), for a Firestore TTL policy; a reopened
// incident's has none until it resolves again:
//
//	gcloud firestore fields ttls update expire_at \
//	  --collection-group=memory --enable-ttl [--database=DATABASE]

const memoryCollection = "memory"

var (
	_ incident.Memory = (*Firestore)(nil)
	_ incident.Memory = (*Memory)(nil)
)

// Recall implements incident.Memory with one query of the service's
// memories, newest resolution first, served by the composite index
// (service.id, resolved_at) in firestore.indexes.json.
func (f *Firestore) Recall(ctx context.Context, serviceID string, limit int) ([]incident.PastIncident, error) {
	if serviceID == "" {
		return nil, nil
	}
	docs, err := f.client.Collection(memoryCollection).
		Where("service.id", "==", serviceID).
		OrderBy("resolved_at", firestore.Desc).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		if transient(err) {
			err = &incident.Error{Kind: incident.KindTransient, Op: "recall past incidents", Err: err}
		}
		return nil, fmt.Errorf("recall past incidents of service %q: %w", serviceID, err)
	}
	out := make([]incident.PastIncident, 0, len(docs))
	for _, d := range docs {
		var m memoryDoc
		if err := d.DataTo(&m); err != nil {
			return nil, fmt.Errorf("decode %s: %w", d.Ref.Path, err)
		}
		out = append(out, m.decode())
	}
	return out, nil
}

// memoryWrite returns the write of the memory document of the incident
// whose state goes from before to after; ok is false when that leaves it
// as it is.
func (f *Firestore) memoryWrite(incidentID string, before, after incident.State) (ref *firestore.DocumentRef, doc memoryDoc, ok bool) {
	p, changed := incident.MemoryChanged(before, after)
	if !changed {
		return nil, memoryDoc{}, false
	}
	return f.client.Collection(memoryCollection).Doc(incidentID), encodeMemory(p, f.Retention), true
}

// Recall implements incident.Memory.
func (m *Memory) Recall(ctx context.Context, serviceID string, limit int) ([]incident.PastIncident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recall past incidents of service %q: %w", serviceID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []incident.PastIncident
	for _, p := range m.memory {
		if serviceID != "" && p.Service.ID == serviceID {
			out = append(out, clonePast(p))
		}
	}
	slices.SortFunc(out, func(a, b incident.PastIncident) int {
		return cmp.Or(b.ResolvedAt.Compare(a.ResolvedAt), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(limit, len(out))], nil
}

// remember keeps the memory of the incident whose state goes from before
// to after, when that changes it; m.mu is held.
func (m *Memory) remember(incidentID string, before, after incident.State) {
	p, changed := incident.MemoryChanged(before, after)
	if !changed {
		return
	}
	if m.memory == nil {
		m.memory = make(map[string]incident.PastIncident)
	}
	// As Firestore keeps it: times to the microsecond, in UTC.
	m.memory[incidentID] = encodeMemory(p, m.Retention).decode()
}

func clonePast(p incident.PastIncident) incident.PastIncident {
	p.Words = cloneSlice(p.Words)
	p.FollowUps = cloneSlice(p.FollowUps)
	return p
}

// memoryDoc is the stored form of incident.PastIncident.
type memoryDoc struct {
	ID             string    `firestore:"id"`
	Number         int64     `firestore:"number"`
	Title          string    `firestore:"title"`
	Words          []string  `firestore:"words"`
	Service        refDoc    `firestore:"service"`
	HTMLURL        string    `firestore:"html_url"`
	Status         string    `firestore:"status"`
	TriggeredAt    time.Time `firestore:"triggered_at,omitempty"`
	AcknowledgedAt time.Time `firestore:"acknowledged_at,omitempty"`
	ResolvedAt     time.Time `firestore:"resolved_at"`
	ResolvedBy     string    `firestore:"resolved_by"`
	ChannelID      string    `firestore:"channel_id"`
	ChannelName    string    `firestore:"channel_name"`
	Note           string    `firestore:"note"`
	FollowUps      []string  `firestore:"follow_ups"`
	MergedInto     string    `firestore:"merged_into"`
	// ExpireAt is the resolution plus the history retention (a
	// Firestore TTL field), none while reopened; never read back.
	ExpireAt time.Time `firestore:"expire_at,omitempty"`
}

// encodeMemory returns the stored form of p, expiring retention after its
// resolution (zero: incident.HistoryRetention; negative: never, for the
// copies an incident document holds).
func encodeMemory(p incident.PastIncident, retention time.Duration) memoryDoc {
	d := memoryDoc{
		ID: p.ID, Number: int64(p.Number), Title: p.Title, Words: cloneSlice(p.Words),
		Service: refDoc(p.Service), HTMLURL: p.HTMLURL, Status: string(p.Status),
		TriggeredAt: utc(p.TriggeredAt), AcknowledgedAt: utc(p.AcknowledgedAt), ResolvedAt: utc(p.ResolvedAt),
		ResolvedBy: p.ResolvedBy, ChannelID: p.ChannelID, ChannelName: p.ChannelName,
		Note: p.Note, FollowUps: cloneSlice(p.FollowUps), MergedInto: p.MergedInto,
	}
	if retention == 0 {
		retention = incident.HistoryRetention
	}
	if retention > 0 && p.Status == incident.StatusResolved && !p.ResolvedAt.IsZero() {
		d.ExpireAt = utc(p.ResolvedAt.Add(retention))
	}
	return d
}

func (d memoryDoc) decode() incident.PastIncident {
	return incident.PastIncident{
		ID: d.ID, Number: int(d.Number), Title: d.Title, Words: cloneSlice(d.Words),
		Service: incident.Ref(d.Service), HTMLURL: d.HTMLURL, Status: incident.Status(d.Status),
		TriggeredAt: d.TriggeredAt, AcknowledgedAt: d.AcknowledgedAt, ResolvedAt: d.ResolvedAt,
		ResolvedBy: d.ResolvedBy, ChannelID: d.ChannelID, ChannelName: d.ChannelName,
		Note: d.Note, FollowUps: cloneSlice(d.FollowUps), MergedInto: d.MergedInto,
	}
}
