package incident

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Similarity of incident titles.
//
// Alert titles of one problem differ in what the monitor fills in — a host,
// an address, a count, a percentage, an id — and keep their words. So a
// title is cut into words, the values are folded into a few tokens
// (<num>, <ip>, <host>, <hex>, <uuid>, <id>, <region>), words that say nothing about
// the problem (articles, alert states like "firing") are dropped, and two
// titles are as similar as the weighted share of words they have in common
// (Jaccard, a folded value counting a quarter of a word). Incidents of
// different services are never similar. The threshold is measured on the
// labelled title pairs in testdata/similar (TestSimilarLabelledSet).

// SimilarThreshold is the least TitleSimilarity of two incidents' titles
// for one to be shown as a similar past incident of the other.
const SimilarThreshold = 0.63

// Folded values: what a title's variable parts become.
const (
	tokNumber = "<num>"
	tokIP     = "<ip>"
	tokHost   = "<host>"
	tokHex    = "<hex>"
	tokUUID   = "<uuid>"
	tokID     = "<id>"
	tokRegion = "<region>"
)

// foldedWeight is the weight of a folded value against a word's 1: two
// titles that share only "<num>" and "<host>" are not alike.
const foldedWeight = 0.25

var (
	uuidRE = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	ipRE   = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\b(?i:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b`)
	// A host name: two or more dot-separated labels ending in a letter
	// label (db-3.prod.example.com, ip-10-0-1-23.ec2.internal), not a
	// version or a decimal.
	hostRE = regexp.MustCompile(`(?i)\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z][a-z0-9-]*[a-z0-9]\b`)
	// An AWS-style resource id (i-0abc…, vol-…, sg-…) or a hash: hex
	// digits, at least one of them a digit, after an optional short
	// prefix.
	hexRE = regexp.MustCompile(`^(?:[a-z]{1,4}-)?[0-9a-f]{6,}$`)
	// A cloud region: AWS's code (us-east-1) or CloudWatch's name for it
	// (US East (N. Virginia), EU (Ireland)), which CloudWatch adds to
	// every alarm's subject.
	regionRE = regexp.MustCompile(`\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:gov-)?(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d\b|\b(?:US East|US West|US|EU|Europe|Asia Pacific|South America|Canada|Canada West|Middle East|Africa|Israel|Mexico) \([^)]{2,30}\)`)
	// A PagerDuty-style id: P and 6 or more upper-case letters and digits
	// with at least one digit (PT4KHLK, P1J6V6M).
	pdIDRE = regexp.MustCompile(`\bP[A-Z0-9]*[0-9][A-Z0-9]*\b`)
)

// stopWords say nothing about the problem: articles and prepositions, and
// the words monitors add about the alert itself (its state, its count).
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "be": true, "been": true, "has": true,
	"have": true, "on": true, "in": true, "at": true, "of": true, "for": true, "to": true, "from": true, "by": true,
	"with": true, "and": true, "or": true, "than": true, "over": true, "it": true, "its": true, "this": true,
	"firing": true, "triggered": true, "alarm": true, "alert": true, "alerting": true, "warn": true, "warning": true,
	"critical": true, "crit": true, "severity": true, "instance": true,
	"p1": true, "p2": true, "p3": true, "p4": true, "p5": true, "sev1": true, "sev2": true, "sev3": true,
}

// maxTitleWords bounds the words kept of one title, so a pasted stack
// trace costs no more than a title.
const maxTitleWords = 40

// TitleWords returns the normalised words of an incident title, in the
// order they first appear, each once: lower case, accents folded,
// camelCase split (HostHighCpuLoad → host high cpu load), numbers, ids,
// hex, UUIDs, host names and IP addresses folded into tokens, stop words
// dropped.
func TitleWords(title string) []string {
	s := norm.NFKD.String(title)
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
	s = uuidRE.ReplaceAllString(s, " "+tokUUID+" ")
	s = regionRE.ReplaceAllString(s, " "+tokRegion+" ")
	s = ipRE.ReplaceAllString(s, " "+tokIP+" ")
	s = hostRE.ReplaceAllStringFunc(s, func(h string) string {
		if !hostName(h) {
			return h
		}
		return " " + tokHost + " "
	})
	s = pdIDRE.ReplaceAllString(s, " "+tokID+" ")
	s = splitCamel(s)
	var words []string
	add := func(w string) {
		if len(w) > 1 && !stopWords[w] && !slices.Contains(words, w) && len(words) < maxTitleWords {
			words = append(words, w)
		}
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '<' && r != '>' && r != '-' && r != '_'
	}) {
		if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") && folded(f) {
			add(f)
			continue
		}
		f = strings.ToLower(strings.Trim(f, "<>-_"))
		if hexRE.MatchString(f) && strings.ContainsFunc(f, unicode.IsDigit) {
			add(tokHex)
			continue
		}
		for _, w := range strings.FieldsFunc(f, func(r rune) bool { return r == '-' || r == '_' || r == '<' || r == '>' }) {
			add(foldWord(w))
		}
	}
	return words
}

// hostSuffixes end the host names of the common private and public
// domains; a dotted word with none of them and no digit (node.js,
// system.cpu.user) is kept as words.
var hostSuffixes = []string{".com", ".net", ".org", ".io", ".internal", ".local", ".lan", ".cloud", ".dev", ".svc", ".cluster"}

// hostName reports whether h, a dotted name, is a host's.
func hostName(h string) bool {
	h = strings.ToLower(h)
	if strings.ContainsFunc(h, unicode.IsDigit) {
		return strings.ContainsFunc(h, unicode.IsLetter)
	}
	return slices.ContainsFunc(hostSuffixes, func(s string) bool { return strings.HasSuffix(h, s) })
}

// folded reports whether w is one of the tokens values are folded into.
func folded(w string) bool {
	switch w {
	case tokNumber, tokIP, tokHost, tokHex, tokUUID, tokID, tokRegion:
		return true
	}
	return false
}

// foldWord folds one lower-case word: a number (with a unit: 95%, 500ms,
// 10gb) becomes <num>, but a class of HTTP statuses (5xx) stays; a name
// with a number at its end keeps its letters (web03 → web); a word with
// letters and digits mixed (a pod's suffix x2x4q) becomes <id>; a plural
// loses its s.
func foldWord(w string) string {
	if w == "" {
		return ""
	}
	if unicode.IsDigit(rune(w[0])) {
		unit := strings.TrimLeft(w, "0123456789")
		if unit == "xx" {
			return w
		}
		if len(unit) <= 3 {
			return tokNumber
		}
	}
	if strings.ContainsFunc(w, unicode.IsDigit) {
		w = strings.TrimRightFunc(w, unicode.IsDigit)
		switch {
		case len(w) <= 1:
			return tokNumber
		case strings.ContainsFunc(w, unicode.IsDigit):
			return tokID
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") {
		w = strings.TrimSuffix(w, "s")
	}
	return w
}

// splitCamel splits the camelCase names of alert rules into words
// (HostHighCpuLoad, KubePodCrashLooping → kube pod crash looping): a
// space where a lower-case letter meets an upper-case one, and before the
// last capital of a run followed by a lower-case letter (CPUThrottling).
// A name of two parts is a product's (PostgreSQL, GitHub, DynamoDB) and
// stays whole.
func splitCamel(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		if parts := camelParts(f); len(parts) >= 3 {
			fields[i] = strings.Join(parts, " ")
		}
	}
	return strings.Join(fields, " ")
}

// camelParts cuts f at its camelCase humps.
func camelParts(f string) []string {
	rs := []rune(f)
	var parts []string
	start := 0
	for i := 1; i < len(rs); i++ {
		r, prev := rs[i], rs[i-1]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if unicode.IsUpper(r) && (unicode.IsLower(prev) || (unicode.IsUpper(prev) && unicode.IsLower(next))) {
			parts = append(parts, string(rs[start:i]))
			start = i
		}
	}
	return append(parts, string(rs[start:]))
}

// WordSimilarity is the weighted Jaccard similarity of two sets of title
// words (as TitleWords returns them): the weight of the words both have
// over the weight of the words either has, a folded value weighing
// foldedWeight. When each title has a word the other lacks, the words
// they do not share weigh twice: alert titles from one template that
// differ in a word (CPU or memory, error rate or latency, 4xx or 5xx)
// are about different problems, where a word only one title adds (a
// replica, a region) still names the same one. Two empty sets are not
// similar.
func WordSimilarity(a, b []string) float64 {
	weight := func(w string) float64 {
		if folded(w) {
			return foldedWeight
		}
		return 1
	}
	var both, onlyA, onlyB float64
	var wordsA, wordsB bool // a word (not a folded value) only a, only b has
	for _, w := range a {
		if slices.Contains(b, w) {
			both += weight(w)
			continue
		}
		onlyA += weight(w)
		wordsA = wordsA || !folded(w)
	}
	for _, w := range b {
		if !slices.Contains(a, w) {
			onlyB += weight(w)
			wordsB = wordsB || !folded(w)
		}
	}
	if both == 0 {
		return 0
	}
	unshared := onlyA + onlyB
	if wordsA && wordsB {
		unshared *= 2
	}
	return both / (both + unshared)
}

// TitleSimilarity is the similarity of two incident titles, from 0 (no
// word in common) to 1 (the same words).
func TitleSimilarity(a, b string) float64 {
	return WordSimilarity(TitleWords(a), TitleWords(b))
}

// Similar reports whether a past incident is similar to inc: of the same
// service, with titles at least SimilarThreshold alike.
func Similar(inc Snapshot, past PastIncident) bool {
	return similarity(inc, TitleWords(inc.Title), past) >= SimilarThreshold
}

// similarity is how alike past is to inc, whose title's words are words:
// 0 for another service's incident or inc itself, else how alike their
// titles are.
func similarity(inc Snapshot, words []string, past PastIncident) float64 {
	if inc.Service.ID == "" || inc.Service.ID != past.Service.ID || inc.ID == past.ID {
		return 0
	}
	return WordSimilarity(words, past.Words)
}
