package slackops

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "db down", 100, "db down"},
		{"mention injection", "<!channel> db down", 100, "&lt;!channel&gt; db down"},
		{"user mention and link", "<@U123> <https://evil|click>", 100, "&lt;@U123&gt; &lt;https://evil|click&gt;"},
		{"ampersand", "a & b", 100, "a &amp; b"},
		{"control characters", "a\x00b\x1b[31mc\u202ed\ne", 100, "ab[31mcd\ne"},
		{"cut with ellipsis", "abcdefghij", 5, "abcd…"},
		{"cut never splits an escape", "abc&def", 6, "abc…"},
		{"escape that fits", "abc&", 8, "abc&amp;"},
		{"emoji count twice", "😀😀😀", 4, "😀…"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mrkdwn(tt.in, tt.max); got != tt.want {
				t.Errorf("Mrkdwn(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestPlain(t *testing.T) {
	if got, want := Plain("  a\n\tb <!here> & c  ", 100), "a b <!here> & c"; got != want {
		t.Errorf("Plain = %q, want %q", got, want)
	}
	long := strings.Repeat("x", 300)
	if got := Plain(long, MaxTopic); utf8.RuneCountInString(got) != MaxTopic || !strings.HasSuffix(got, ellipsis) {
		t.Errorf("Plain(300 x, 250) has %d characters, want 250 ending in an ellipsis", utf8.RuneCountInString(got))
	}
}

func TestChunks(t *testing.T) {
	body := strings.Repeat("word ", 1000) // 5000 characters
	parts, truncated := chunks(body, 1000, 10)
	if truncated {
		t.Errorf("chunks truncated a body that fits in 10 parts")
	}
	if len(parts) != 5 {
		t.Errorf("chunks gave %d parts, want 5", len(parts))
	}
	joined := strings.Join(parts, " ")
	if strings.Count(joined, "word") != 1000 {
		t.Errorf("chunks lost words: %d of 1000 left", strings.Count(joined, "word"))
	}
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > 1000 {
			t.Errorf("part %d has %d characters, over 1000", i, n)
		}
		if strings.HasSuffix(p, "wor") || strings.HasPrefix(p, "rd") {
			t.Errorf("part %d splits a word: %q…%q", i, p[:10], p[len(p)-10:])
		}
	}
	parts, truncated = chunks(body, 1000, 2)
	if !truncated || len(parts) != 2 {
		t.Errorf("chunks(limit 2) = %d parts, truncated %v; want 2, true", len(parts), truncated)
	}
}

// FuzzMrkdwn checks that any text, cut to any limit, stays within the
// limit and contains no raw <, > or a broken escape.
func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"<!channel>", "a&b", "😀<>&", strings.Repeat("&", 50), "\x00\u202e"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 5000 {
			return
		}
		got := Mrkdwn(s, max)
		n := 0
		for _, r := range got {
			n += width(r)
		}
		if n > max {
			t.Fatalf("Mrkdwn(%q, %d) = %q: %d characters", s, max, got, n)
		}
		if strings.ContainsAny(got, "<>") {
			t.Fatalf("Mrkdwn(%q, %d) = %q contains < or >", s, max, got)
		}
		rest := got
		for {
			i := strings.IndexByte(rest, '&')
			if i < 0 {
				break
			}
			rest = rest[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("Mrkdwn(%q, %d) = %q has a broken escape", s, max, got)
			}
			rest = rest[1:]
		}
	})
}
