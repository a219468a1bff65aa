package respond

import (
	"strings"
	"unicode"
)

// ParseCommand reads the text after /inc into a request (Kind and Note;
// the caller fills in who and where).
func ParseCommand(text string) Request {
	text = strings.TrimSpace(text)
	word, rest := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		// Cut at any space: a note may follow a tab or a new line.
		word, rest = text[:i], strings.TrimSpace(text[i:])
	}
	switch strings.ToLower(word) {
	case "", "help":
		return Request{Kind: Help}
	case "ack", "acknowledge":
		return Request{Kind: Acknowledge}
	case "resolve":
		return Request{Kind: Resolve}
	case "escalate":
		return Request{Kind: Escalate}
	case "status":
		return Request{Kind: Status}
	case "note":
		if rest == "" {
			return Request{Kind: NoteForm}
		}
		return Request{Kind: Note, Note: rest}
	}
	return Request{Kind: Help, Unknown: word}
}
