package incident

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApply(t *testing.T) {
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	history := []HistoryLine{{At: at, Text: "Triggered", EventID: "E1"}}
	pending := func(keys ...string) []Entry {
		var l []Entry
		for _, k := range keys {
			l = append(l, Entry{Key: k, Owner: "a1", Until: at})
		}
		return l
	}
	tests := []struct {
		name       string
		st         State
		er         EventRecord
		r          Results
		want       State
		wantER     EventRecord
		wantChange Change
	}{
		{
			name:       "nothing done changes nothing",
			st:         State{Version: 2, ChannelID: "C1", Ledger: pending(KeyRoot)},
			r:          Results{Err: errors.New("503")},
			want:       State{Version: 2, ChannelID: "C1", Ledger: pending(KeyRoot)},
			wantChange: 0,
		},
		{
			name:       "channel created with the incident forgets the history",
			st:         State{Version: 1, History: history, Ledger: pending(KeyChannel)},
			r:          Results{ChannelID: "C1", ChannelName: "inc-1"},
			want:       State{Version: 1, ChannelID: "C1", ChannelName: "inc-1"},
			wantChange: ChangeState,
		},
		{
			name:       "back-link whose answer was lost: put off, keeping its owner and until",
			st:         State{Version: 1, ChannelID: "C1", Ledger: pending(KeyBacklink)},
			r:          Results{PutOffMaybeDone: map[string]string{KeyBacklink: "E2"}},
			want:       State{Version: 1, ChannelID: "C1", Ledger: []Entry{{Key: KeyBacklink, Owner: "a1", Until: at, PutOff: true, Event: "E2"}}},
			wantChange: ChangeState,
		},
		{
			name:       "back-link written: its entry settles",
			st:         State{Version: 1, ChannelID: "C1", Ledger: pending(KeyBacklink)},
			r:          Results{Backlinked: "C1"},
			want:       State{Version: 1, ChannelID: "C1", Backlinked: "C1"},
			wantChange: ChangeState,
		},
		{
			name: "channel opened after a post-only message owes the summary",
			st:   State{Version: 1, History: history, Boards: []Board{{ChannelID: "CLOW", TS: "1.1", Thread: true}}, Ledger: pending(KeyChannel)},
			r:    Results{ChannelID: "C1", ChannelName: "inc-1"},
			want: State{Version: 1, ChannelID: "C1", ChannelName: "inc-1", History: history, LateChannel: true,
				Boards: []Board{{ChannelID: "CLOW", TS: "1.1", Thread: true}}},
			wantChange: ChangeState,
		},
		{
			name: "channel opened while the post-only message is unsettled owes the summary",
			st:   State{Version: 1, History: history, Ledger: []Entry{{Key: BoardKey("CLOW"), Thread: true}, {Key: KeyChannel}}},
			r:    Results{ChannelID: "C1", ChannelName: "inc-1"},
			want: State{Version: 1, ChannelID: "C1", ChannelName: "inc-1", History: history, LateChannel: true,
				Ledger: []Entry{{Key: BoardKey("CLOW"), Thread: true}}},
			wantChange: ChangeState,
		},
		{
			name:       "root posted records its ts and version",
			st:         State{Version: 3, ChannelID: "C1", Ledger: pending(KeyRoot)},
			r:          Results{RootTS: "1.1", RootVersion: 3, RootWritten: true},
			want:       State{Version: 3, ChannelID: "C1", RootTS: "1.1", RootVersion: 3},
			wantChange: ChangeState,
		},
		{
			name:       "root found leaves it to be brought up to date",
			st:         State{Version: 3, ChannelID: "C1", Ledger: pending(KeyRoot)},
			r:          Results{RootTS: "1.1"},
			want:       State{Version: 3, ChannelID: "C1", RootTS: "1.1"},
			wantChange: ChangeState,
		},
		{
			name:       "root deleted is posted anew",
			st:         State{Version: 3, ChannelID: "C1", RootTS: "1.1", RootVersion: 2},
			r:          Results{RootGone: "1.1"},
			want:       State{Version: 3, ChannelID: "C1"},
			wantChange: ChangeState,
		},
		{
			name:       "topic, bookmarks and invites",
			st:         State{ChannelID: "C1", Bookmarks: []string{"https://a"}, Ledger: pending(BookmarkKey("https://b"))},
			r:          Results{Topic: "Triggered", TopicSet: true, Bookmarks: []string{"https://b"}, Invitees: []string{"U1"}, PeopleDone: []string{"P1"}},
			want:       State{ChannelID: "C1", Topic: "Triggered", Bookmarks: []string{"https://a", "https://b"}, Invitees: []string{"U1"}, PeopleDone: []string{"P1"}},
			wantChange: ChangeState,
		},
		{
			name: "boards posted, given up and deleted",
			st: State{Version: 4, Boards: []Board{{ChannelID: "CANN", TS: "2.1", Version: 3}, {ChannelID: "COLD", TS: "2.2"}},
				Ledger: pending(BoardKey("CLOW"), BoardKey("CPRIV"))},
			r: Results{Boards: []Board{{ChannelID: "CANN", TS: "2.1", Version: 4}, {ChannelID: "CLOW", TS: "2.3", Version: 4, Thread: true},
				{ChannelID: "CPRIV", GaveUp: true}}, GoneBoards: []string{"2.2"}},
			want: State{Version: 4, Boards: []Board{{ChannelID: "CANN", TS: "2.1", Version: 4}, {ChannelID: "CLOW", TS: "2.3", Version: 4, Thread: true},
				{ChannelID: "CPRIV", GaveUp: true}}},
			wantChange: ChangeState,
		},
		{
			name:       "known not done leaves the ledger",
			st:         State{ChannelID: "C1", Ledger: pending(KeyRoot, KeySummary)},
			er:         EventRecord{Exists: true, Owner: "a1", Until: at},
			r:          Results{Settled: []string{KeySummary, KeyReply}},
			want:       State{ChannelID: "C1", Ledger: pending(KeyRoot)},
			wantER:     EventRecord{Exists: true, Until: at},
			wantChange: ChangeState | ChangeEvent,
		},
		{
			name: "rate-limited optional effects put off to the next event",
			st:   State{ChannelID: "C1", Ledger: pending(BookmarkKey("https://b"))},
			r:    Results{Settled: []string{BookmarkKey("https://b")}, PutOff: map[string]string{KeyTopic: "E2", BookmarkKey("https://b"): "E2"}},
			want: State{ChannelID: "C1", Ledger: []Entry{
				{Key: BookmarkKey("https://b"), PutOff: true, Event: "E2"}, {Key: KeyTopic, PutOff: true, Event: "E2"},
			}},
			wantChange: ChangeState,
		},
		{
			name:       "topic set settles what was put off",
			st:         State{ChannelID: "C1", Ledger: []Entry{{Key: KeyTopic, PutOff: true, Event: "E2"}}},
			r:          Results{Topic: "Resolved", TopicSet: true},
			want:       State{ChannelID: "C1", Topic: "Resolved"},
			wantChange: ChangeState,
		},
		{
			name:       "canvas created settles what was put off",
			st:         State{ChannelID: "C1", Ledger: []Entry{{Key: KeyCanvas, PutOff: true, Event: "E2"}}},
			r:          Results{CanvasDone: true, Canvas: "F1"},
			want:       State{ChannelID: "C1", Canvas: "F1"},
			wantChange: ChangeState,
		},
		{
			name:       "canvas refused: never asked again, the retrospective recorded as shared",
			st:         State{ChannelID: "C1", LastResolvedAt: at},
			r:          Results{CanvasDone: true, NoCanvas: true, Retro: at},
			want:       State{ChannelID: "C1", LastResolvedAt: at, NoCanvas: true, Retro: at},
			wantChange: ChangeState,
		},
		{
			name:       "an older retrospective does not move Retro back",
			st:         State{ChannelID: "C1", Canvas: "F1", Retro: at},
			r:          Results{CanvasDone: true, Retro: at.Add(-time.Hour)},
			want:       State{ChannelID: "C1", Canvas: "F1", Retro: at},
			wantChange: 0,
		},
		{
			name:       "channel archived by the sweep: the shared messages say it, its entry settles",
			st:         State{Version: 7, ChannelID: "C1", Ledger: pending(KeyArchive)},
			r:          Results{Closed: true},
			want:       State{Version: 8, ChannelID: "C1", ChannelArchived: true, Closed: true},
			wantChange: ChangeState,
		},
		{
			name:       "who could not be invited is owed a note, sorted",
			st:         State{ChannelID: "C1", CannotInvite: []string{"Grace (deactivated)"}},
			r:          Results{CannotInvite: []string{"Alan (no Slack account)"}},
			want:       State{ChannelID: "C1", CannotInvite: []string{"Alan (no Slack account)", "Grace (deactivated)"}},
			wantChange: ChangeState,
		},
		{
			name: "invite note posted: those it names are done, newcomers owed the next",
			st: State{ChannelID: "C1", CannotInvite: []string{"Alan (no Slack account)", "Grace (deactivated)"},
				Ledger: pending(KeyInviteNote)},
			r:          Results{InviteNoted: []string{"Alan (no Slack account)", "Grace (deactivated)"}, CannotInvite: []string{"Ada (no Slack account)"}},
			want:       State{ChannelID: "C1", CannotInvite: []string{"Ada (no Slack account)"}},
			wantChange: ChangeState,
		},
		{
			name:       "merge note posted: its entry settles",
			st:         State{ChannelID: "C1", Ledger: pending(KeyMergeNote)},
			r:          Results{MergeNoted: true},
			want:       State{ChannelID: "C1", MergeNoted: true},
			wantChange: ChangeState,
		},
		{
			name:       "reply posted, summary posted, channel archived",
			st:         State{ChannelID: "C1", Ledger: pending(KeySummary)},
			er:         EventRecord{Exists: true, Owner: "a1"},
			r:          Results{ReplyTS: "3.1", Summarized: true, Archived: true},
			want:       State{ChannelID: "C1", Summarized: true, ChannelArchived: true, Version: 1},
			wantER:     EventRecord{Exists: true, ReplyTS: "3.1"},
			wantChange: ChangeState | ChangeEvent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, er := tt.st.Clone(), tt.er
			got := Apply(&st, &er, tt.r)
			if got != tt.wantChange {
				t.Errorf("Apply() = %b, want %b", got, tt.wantChange)
			}
			if diff := cmp.Diff(tt.want, st.Clone()); diff != "" {
				t.Errorf("state after Apply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantER, er); diff != "" {
				t.Errorf("event record after Apply (-want +got):\n%s", diff)
			}
		})
	}
}
