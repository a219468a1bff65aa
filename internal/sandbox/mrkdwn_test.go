package sandbox

import (
	"strings"
	"testing"
)

func TestMrkdwn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "Checkout API", "Checkout API"},
		{"bold label and value", "*Status*\n🟢 Resolved", "<b>Status</b><br>🟢 Resolved"},
		{"italic, strike, code", "_waiting_ ~old~ `p99`", "<i>waiting</i> <s>old</s> <code>p99</code>"},
		{"snake_case stays", "checkout_api_v2", "checkout_api_v2"},
		{"link", "<https://acme.pagerduty.com/services/PSVC001|Checkout API>",
			`<a href="https://acme.pagerduty.com/services/PSVC001" rel="noopener noreferrer" target="_blank">Checkout API</a>`},
		{"link with an escaped ampersand", "<https://x.test/?a=1&amp;b=2|q&amp;a>",
			`<a href="https://x.test/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">q&amp;a</a>`},
		{"bare link", "<https://x.test/a>", `<a href="https://x.test/a" rel="noopener noreferrer" target="_blank">https://x.test/a</a>`},
		{"javascript link is text", "<javascript:alert(1)|click>", "click"},
		{"date shows its fallback", "<!date^1700000000^{date_short_pretty} {time}|2026-11-23 03:00 UTC>", "<time>2026-11-23 03:00 UTC</time>"},
		{"a real mention", "<!channel> look", `<span class="mention">@channel</span> look`},
		{"user mention", "<@U123|ada>", `<span class="mention">@ada</span>`},
		{"escaped mention is text", "&lt;!channel&gt; db down", "&lt;!channel&gt; db down"},
		{"escaped script is text", "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"entity text stays text", "&amp;lt;b&amp;gt;", "&amp;lt;b&amp;gt;"},
		{"quotes", "*Note from Ada*\n> Rolled back\n> &lt;!channel&gt; ignore\nafter",
			"<b>Note from Ada</b><blockquote>Rolled back<br>&lt;!channel&gt; ignore</blockquote>after"},
		{"escaped > does not quote", "&gt; not a quote", "&gt; not a quote"},
		{"quote chars are escaped", `"it's" <`, "&#34;it&#39;s&#34; &lt;"},
		{"unclosed control", "a <b", "a &lt;b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Mrkdwn(tt.in)); got != tt.want {
				t.Errorf("Mrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A channel mention shows the channel's name when the page knows it.
func TestMrkdwnChannelNames(t *testing.T) {
	t.Parallel()
	names := map[string]string{"C00000003": "inc-1234-checkout", "C00000009": "<b>odd</b>"}
	for in, want := range map[string]string{
		"→ <#C00000003>":         `→ <span class="mention">#inc-1234-checkout</span>`,
		"<#C00000003|given>":     `<span class="mention">#given</span>`,
		"<#C00000004>":           `<span class="mention">#C00000004</span>`,
		"<#C00000009>":           `<span class="mention">#&lt;b&gt;odd&lt;/b&gt;</span>`,
		"<@C00000003> is a user": `<span class="mention">@C00000003</span> is a user`,
	} {
		if got := string(mrkdwn(in, names)); got != want {
			t.Errorf("mrkdwn(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMrkdwn checks that no input, however hostile, produces markup other
// than the tags Mrkdwn writes itself.
func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", "<https://x|<img src=x onerror=alert(1)>>",
		"*<b>*", "<\"onmouseover=alert(1)|x>", "&lt;script&gt;", "> *q*\n_i_"} {
		f.Add(s)
	}
	allowed := []string{"<b>", "</b>", "<i>", "</i>", "<s>", "</s>", "<code>", "</code>", "<br>",
		"<blockquote>", "</blockquote>", "<time>", "</time>", `<span class="mention">`, "</span>", "</a>"}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(Mrkdwn(in))
		for rest := out; ; {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			rest = rest[i:]
			ok := false
			for _, tag := range allowed {
				if strings.HasPrefix(rest, tag) {
					ok, rest = true, rest[len(tag):]
					break
				}
			}
			if !ok && strings.HasPrefix(rest, `<a href="`) {
				// The href is escaped: no quote can end it early.
				end := strings.Index(rest, `" rel="noopener noreferrer" target="_blank">`)
				href := rest[len(`<a href="`):max(end, len(`<a href="`))]
				if end > 0 && !strings.ContainsAny(href, `"<>`) &&
					(strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "mailto:")) {
					ok, rest = true, rest[end:]
				}
			}
			if !ok {
				t.Fatalf("Mrkdwn(%q) = %q: unexpected markup at %q", in, out, rest)
			}
		}
	})
}
