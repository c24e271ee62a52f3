package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import "unicode/utf8"

// stringTruncate keeps the first max characters (code points, as fapilog's len()) of a longer string and
// appends the suffix. A string of exactly max characters is kept whole; the suffix does not count toward
// max, so a truncated string is max characters plus the suffix, and truncating it again changes nothing.
type stringTruncate struct {
	max    int
	suffix string
}

func (t *stringTruncate) apply(s string) (string, bool) {
	if len(s) <= t.max { // bytes >= characters: the common short string costs one comparison
		return s, false
	}
	if utf8.RuneCountInString(s) <= t.max {
		return s, false
	}
	cut, n := 0, 0
	for cut < len(s) && n < t.max {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		n++
	}
	if s[cut:] == t.suffix { // already truncated by us
		return s, false
	}
	return s[:cut] + t.suffix, true
}
