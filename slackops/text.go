package slackops

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack's length limits, in characters, for the text this package sends.
// Everything is cut to fit before it is sent: Slack rejects an over-long
// message (msg_too_long, invalid_blocks), and a rejected message for an
// incident would be retried by PagerDuty for two days to no avail.
const (
	MaxTopic       = 250
	MaxHeader      = 150
	MaxSectionText = 3000
	MaxField       = 2000
	MaxButtonText  = 75
	MaxURL         = 3000
	MaxMessageText = 40000
	MaxBlocks      = 50
	MaxFields      = 10
)

// ellipsis marks text that was cut to fit.
const ellipsis = "…"

// clean drops control and format characters (other than newline and tab)
// from untrusted text: they can hide text or reorder it on screen.
func clean(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return -1
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// width is the length of r as Slack counts it: in UTF-16 code units, so an
// emoji outside the Basic Multilingual Plane counts twice.
func width(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// escapeRune returns r as it must appear in mrkdwn text: &, < and > are
// Slack's control characters, so "<!channel>" in a title pings nobody.
func escapeRune(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return ""
}

// Mrkdwn returns untrusted text cleaned and escaped for a mrkdwn field,
// cut to at most max characters (escapes included) with an ellipsis.
func Mrkdwn(s string, max int) string {
	out, _ := fit(clean(s), max, true)
	return out
}

// Plain returns untrusted text cleaned for a plain_text field or a topic,
// on one line, cut to at most max characters with an ellipsis. Plain text
// is not parsed by Slack, so it is not escaped.
func Plain(s string, max int) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	out, _ := fit(s, max, false)
	return out
}

// fit cuts s to at most max characters, escaping it for mrkdwn when
// escape is set, and reports the number of bytes of s that it kept. A cut
// never splits an escape or a character, and ends with an ellipsis.
func fit(s string, max int, escape bool) (string, int) {
	var b strings.Builder
	n := 0
	for i, r := range s {
		piece := string(r)
		w := width(r)
		if escape {
			if e := escapeRune(r); e != "" {
				piece, w = e, len(e)
			}
		}
		if n+w > max {
			return cutTo(b.String(), n, max), i
		}
		b.WriteString(piece)
		n += w
	}
	return b.String(), len(s)
}

// cutTo makes room for the ellipsis in s (n characters) so the result is at
// most max characters, removing whole runes and whole escapes.
func cutTo(s string, n, max int) string {
	if max <= 0 {
		return ""
	}
	for n+1 > max && s != "" {
		if i := strings.LastIndexByte(s, '&'); i >= 0 && strings.HasSuffix(s, ";") && len(s)-i <= len("&amp;") {
			n -= len(s) - i
			s = s[:i]
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s)
		n -= width(r)
		s = s[:len(s)-size]
	}
	return s + ellipsis
}

// chunks splits untrusted text into mrkdwn pieces of at most max characters
// each, escaped, preferring to break at a newline or space. At most limit
// pieces are returned; truncated reports that text was left out.
func chunks(s string, max, limit int) (parts []string, truncated bool) {
	s = clean(s)
	for s != "" {
		if len(parts) == limit {
			return parts, true
		}
		out, used := fit(s, max, true)
		if used < len(s) {
			// Break at the last newline or space in the second half of
			// the piece, when there is one, rather than mid-word.
			head := s[:used]
			if i := strings.LastIndexAny(head, "\n "); i > used/2 {
				used = i + 1
				out, _ = fit(s[:used], max, true)
			} else {
				out, _ = fit(head, max, true)
			}
		}
		if t := strings.TrimRight(out, "\n "); t != "" {
			parts = append(parts, t)
		}
		s = s[used:]
	}
	return parts, false
}
