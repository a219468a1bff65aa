// Command fakeslack serves the fake Slack Web API of internal/fake/slack on
// this machine, so the function can be tried without a Slack workspace:
//
//	go run ./cmd/fakeslack            # http://127.0.0.1:8081/api/
//	SLACK_API_URL=http://127.0.0.1:8081/api/ SLACK_BOT_TOKEN=xoxb-fake-token … go run ./cmd/local
//
// GET /state shows what Slack would: channels (public and private),
// topics, bookmarks, members, and each message with its thread replies, as
// JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/incident-channels/incident-channels/internal/cmdflag"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakeslack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeslack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	token := fs.String("token", slackfake.DefaultToken, "bot token to accept")
	if done, err := cmdflag.Parse(fs, args, stdout); done || err != nil {
		return err
	}
	fake := slackfake.NewUnstarted()
	fake.SetToken(*token)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(fake)}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintf(stderr, "fake Slack Web API on http://%s/api/ (token %s); state at http://%s/state\n", l.Addr(), *token, l.Addr())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler serves the fake's API under /api/ and its state at /state.
func Handler(fake *slackfake.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", fake)
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(state(fake))
	})
	return mux
}

type channelView struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Private   bool                 `json:"private,omitempty"`
	Archived  bool                 `json:"archived,omitempty"`
	Topic     string               `json:"topic"`
	Members   []string             `json:"members"`
	Bookmarks []slackfake.Bookmark `json:"bookmarks"`
	Messages  []messageView        `json:"messages"`
}

type messageView struct {
	TS        string        `json:"ts"`
	Text      string        `json:"text"`
	Blocks    string        `json:"blocks_text,omitempty"`
	Edits     int           `json:"edits,omitempty"`
	Broadcast bool          `json:"broadcast,omitempty"`
	Replies   []messageView `json:"replies,omitempty"`
}

func state(fake *slackfake.Server) []channelView {
	var out []channelView
	for _, c := range fake.Channels() {
		v := channelView{ID: c.ID, Name: c.Name, Private: c.Private, Archived: c.Archived, Topic: c.Topic, Members: c.Members, Bookmarks: c.Bookmarks}
		for _, m := range c.TopLevel() {
			mv := view(m)
			for _, r := range c.Replies(m.TS) {
				mv.Replies = append(mv.Replies, view(r))
			}
			v.Messages = append(v.Messages, mv)
		}
		out = append(out, v)
	}
	return out
}

func view(m slackfake.Message) messageView {
	return messageView{TS: m.TS, Text: m.Text, Blocks: m.BlockText(), Edits: m.Edits, Broadcast: m.Broadcast}
}
