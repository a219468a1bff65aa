package respond

import "strings"

// ParseCommand reads the text after /inc into a request (Kind and Note;
// the caller fills in who and where).
func ParseCommand(text string) Request {
	word, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	rest = strings.TrimSpace(rest)
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
