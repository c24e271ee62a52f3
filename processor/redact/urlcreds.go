package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"strings"
	"unicode/utf8"
)

// urlCredentials removes the userinfo (`user:password@`, or `user@`) from every URL authority found in a
// string: `scheme://userinfo@host...` and scheme-relative `//userinfo@host...`, anywhere in the text. Only the
// userinfo bytes are cut, so the scheme, IPv6 brackets, host case, port, path, query and fragment are kept
// exactly. Like fapilog (Python's urlsplit), any scheme counts, which covers fapilog's list (http, https, ftp,
// ftps, ssh, git, svn, postgres, postgresql, mysql, mongodb, mongodb+srv, mssql, cockroachdb, redis, rediss,
// amqp, amqps, nats, ldap, ldaps, smtp, smtps, //); and when the userinfo itself contains '@', the last '@'
// of the authority ends it, as in urlsplit.
type urlCredentials struct {
	maxLen int // in characters; 0 = no limit
}

// authorityStop reports the bytes that end a URL authority (RFC 3986 gen-delims that cannot appear in it,
// and the characters that delimit a URL inside text). "'" is not among them: it is a sub-delim, legal in
// userinfo, and a password holding one must not hide from the scan.
var authorityStop = func() (t [256]bool) {
	for _, c := range []byte("/?#\"<>`\\ \t\r\n\f\v") {
		t[c] = true
	}
	return t
}()

// apply returns s without URL credentials; changed is false (and no allocation happens) when there are none.
func (u *urlCredentials) apply(s string, buf []byte) (out string, changed bool, scratch []byte) {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return s, false, buf
	}
	if u.maxLen > 0 && len(s) > u.maxLen && utf8.RuneCountInString(s) > u.maxLen {
		return s, false, buf
	}
	b := buf[:0]
	last := 0 // s[:last] is already decided (copied to b when changed)
	for at >= 0 {
		start, end, ok := credentialSpan(s, last, at)
		if ok {
			b = append(b, s[last:start]...)
			last = end
			changed = true
		}
		// Continue after this authority (or this '@').
		next := max(at+1, end)
		if next >= len(s) {
			break
		}
		i := strings.IndexByte(s[next:], '@')
		if i < 0 {
			break
		}
		at = next + i
	}
	if !changed {
		return s, false, b
	}
	b = append(b, s[last:]...)
	return string(b), true, b
}

// credentialSpan finds the userinfo around the '@' at index at: it must follow "//" with no authority
// delimiter in between. It returns [start, end) covering userinfo and its final '@' (the last '@' before the
// authority ends). lo is the first index that may be examined.
func credentialSpan(s string, lo, at int) (start, end int, ok bool) {
	j := at - 1
	for j >= lo && !authorityStop[s[j]] {
		j--
	}
	// s[j] must be the second '/' of "//" (not of "///", an empty authority followed by a path), and userinfo
	// must not be empty.
	if j < lo+1 || s[j] != '/' || s[j-1] != '/' || (j >= 2 && s[j-2] == '/') || j+1 == at {
		return 0, at + 1, false
	}
	start = j + 1
	authEnd := at + 1
	for authEnd < len(s) && !authorityStop[s[authEnd]] {
		authEnd++
	}
	lastAt := start + strings.LastIndexByte(s[start:authEnd], '@')
	return start, lastAt + 1, true
}
