package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/incident-channels/incident-channels/incident"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/slackops"
)

// TestStateShowsWhatSlackWould drives the served fake with the real
// adapter and reads /state back.
func TestStateShowsWhatSlackWould(t *testing.T) {
	srv := httptest.NewServer(Handler(slackfake.NewUnstarted()))
	t.Cleanup(srv.Close)
	c := slackops.New(slackfake.DefaultToken, srv.URL+"/api/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := c.CreateChannel(ctx, "inc-7-db", false)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.PostRoot(ctx, id, incident.Root{Incident: incident.Snapshot{Number: 7, Title: "DB down", Status: "triggered", Complete: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostReply(ctx, id, ts, incident.Reply{Headline: "Acknowledged by Ada"}); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(srv.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []channelView
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "inc-7-db" || len(got[0].Messages) != 1 || len(got[0].Messages[0].Replies) != 1 {
		t.Fatalf("state = %+v, want one channel with one root and one reply", got)
	}
	if r := got[0].Messages[0].Replies[0].Blocks; r == "" {
		t.Errorf("reply has no block text")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-nope"}, &testWriter{t}, &testWriter{t}); err == nil {
		t.Error("run(-nope) error = nil, want a flag error")
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
