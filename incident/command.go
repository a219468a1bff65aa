package incident

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
		return Request{Kind: RequestHelp}
	case "ack", "acknowledge":
		return Request{Kind: RequestAcknowledge}
	case "resolve":
		// The text, if any, is the resolution note.
		return Request{Kind: RequestResolve, Note: PlainText(rest)}
	case "escalate":
		return Request{Kind: RequestEscalate}
	case "followup", "follow-up":
		return Request{Kind: RequestFollowUp, Note: PlainText(rest)}
	case "followups", "follow-ups":
		return Request{Kind: RequestFollowUps}
	case "export":
		return Request{Kind: RequestExport}
	case "status":
		return Request{Kind: RequestStatus}
	case "lead":
		target, ok := parseLead(rest)
		if !ok {
			return Request{Kind: RequestLead, Unknown: rest}
		}
		return Request{Kind: RequestLead, Target: target}
	case "update":
		if rest == "" {
			return Request{Kind: RequestUpdateForm}
		}
		return Request{Kind: RequestUpdate, Note: PlainText(rest)}
	case "note":
		if rest == "" {
			return Request{Kind: RequestNoteForm}
		}
		return Request{Kind: RequestNote, Note: PlainText(rest)}
	}
	if kind, ok := argKinds[strings.ToLower(word)]; ok {
		return Request{Kind: kind, Note: rest}
	}
	return Request{Kind: RequestHelp, Unknown: word}
}
