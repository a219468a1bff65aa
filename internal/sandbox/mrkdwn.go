package sandbox

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// slackUnescape undoes the only escaping Slack's mrkdwn has: & < > as
// entities. Anything else that looks like an entity is text.
var slackUnescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// Inline formatting, applied to text that is already HTML-escaped: the
// escaped text holds no * _ ~ ` of its own making, and the tags added are
// fixed strings, so nothing from the message can become markup.
var (
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	boldRe   = regexp.MustCompile(`\*([^*\n]+)\*`)
	italicRe = regexp.MustCompile(`(^|[^\p{L}\p{N}])_([^_\n]+)_($|[^\p{L}\p{N}])`)
	strikeRe = regexp.MustCompile(`~([^~\n]+)~`)
)

// Mrkdwn renders Slack mrkdwn as HTML, the way a Slack client shows it:
// *bold*, _italic_, ~strike~, `code`, "> " quotes, links <url|text>,
// mentions (<!channel> shows as a highlighted "@channel", pinging nobody
// here), dates <!date^…|fallback> as their fallback, and &lt; &gt; &amp;
// as the characters. Every piece of text is HTML-escaped; the only markup
// in the result is what this function writes.
func Mrkdwn(s string) template.HTML { return mrkdwn(s, nil) }

// mrkdwn is Mrkdwn showing a channel mention <#C123> by the channel's
// name in channels, as a Slack client does.
func mrkdwn(s string, channels map[string]string) template.HTML {
	var b strings.Builder
	quoting := false
	for i, line := range strings.Split(s, "\n") {
		// A literal '>' at the start of a line is a quote: text from a
		// webhook has its '>' escaped as &gt;, so it cannot start one.
		rest, isQuote := strings.CutPrefix(line, ">")
		if isQuote {
			line = strings.TrimPrefix(rest, " ")
		}
		switch {
		case isQuote && !quoting:
			b.WriteString("<blockquote>")
		case !isQuote && quoting:
			b.WriteString("</blockquote>")
		case i > 0:
			b.WriteString("<br>")
		}
		quoting = isQuote
		b.WriteString(inline(line, channels))
	}
	if quoting {
		b.WriteString("</blockquote>")
	}
	return template.HTML(b.String())
}

// inline renders one line: text runs and <…> control sequences.
func inline(line string, channels map[string]string) string {
	var b strings.Builder
	for line != "" {
		open := strings.IndexByte(line, '<')
		if open < 0 {
			b.WriteString(text(line))
			break
		}
		b.WriteString(text(line[:open]))
		end := strings.IndexByte(line[open:], '>')
		if end < 0 {
			b.WriteString(text(line[open:]))
			break
		}
		b.WriteString(control(line[open+1:open+end], channels))
		line = line[open+end+1:]
	}
	return b.String()
}

// control renders what is between < and >: a date, a mention or a link.
func control(seq string, channels map[string]string) string {
	target, label, hasLabel := strings.Cut(seq, "|")
	switch {
	case strings.HasPrefix(target, "!date^"):
		if !hasLabel {
			return ""
		}
		return `<time>` + text(label) + `</time>`
	case strings.HasPrefix(target, "!"):
		// <!channel>, <!here>, <!everyone>, <!subteam^ID|@team>
		name := "@" + strings.TrimPrefix(target, "!")
		if hasLabel {
			name = label
		}
		return `<span class="mention">` + text(name) + `</span>`
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		name := target
		if hasLabel {
			name = target[:1] + strings.TrimPrefix(label, target[:1])
		} else if n, ok := channels[strings.TrimPrefix(target, "#")]; ok && target[0] == '#' {
			name = "#" + n
		}
		return `<span class="mention">` + text(name) + `</span>`
	}
	url := slackUnescape.Replace(target)
	if !hasLabel {
		label = target
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "mailto:") {
		return text(label) // not a link a client would open
	}
	return `<a href="` + html.EscapeString(url) + `" rel="noopener noreferrer" target="_blank">` + text(label) + `</a>`
}

// text renders a run of mrkdwn text: Slack's entities decoded, the result
// HTML-escaped, then the inline formatting applied.
func text(s string) string {
	if s == "" {
		return ""
	}
	out := html.EscapeString(slackUnescape.Replace(s))
	out = codeRe.ReplaceAllString(out, "<code>$1</code>")
	out = boldRe.ReplaceAllString(out, "<b>$1</b>")
	out = italicRe.ReplaceAllString(out, "$1<i>$2</i>$3")
	out = strikeRe.ReplaceAllString(out, "<s>$1</s>")
	return out
}
