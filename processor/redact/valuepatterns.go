package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// valuePatterns finds secrets inside string content in a single pass over the bytes (no regular expressions):
//
//   - card_number: 13-19 digits, alone or in groups of 3+ digits separated by single spaces or dashes, not
//     glued to a word or a decimal point, first digit 2-6 (the card networks' ranges, which keeps epoch
//     timestamps out) and Luhn-valid; integer values are checked too;
//   - aws_access_key: AKIA/ASIA/ABIA/ACCA/A3T? followed by 16 upper-case letters or digits (20 in all);
//   - jwt: eyJ<base64url>.<base64url>[.<base64url>];
//   - bearer_token: the token after "Bearer " (case-insensitive): at least 20 token characters, or 12 with a
//     digit or symbol among them (so English prose about bearers is left alone); "Bearer " is kept;
//   - private_key: a "-----BEGIN ... PRIVATE KEY-----" block up to its END line (or the end of the string);
//   - email (opt-in): local@domain.tld.
//
// A match is replaced by the mask ("[REDACTED:<kind>]" by default) or by "[HASHED:<kind>:<hex>]", the first
// hash_length hex characters of HMAC-SHA256(hash_key, match) (card numbers are hashed as their digits only, so
// the same card hashes the same however it is spaced). Both forms are left alone when scanned again.
type valuePatterns struct {
	enabled  [numKinds]bool
	masks    [numKinds]string
	hash     bool
	hashLen  int
	macs     sync.Pool
	minLen   int
	classOf  [256]uint8
	hashHead string // "[HASHED:"
}

const (
	kCard = iota
	kAWS
	kJWT
	kBearer
	kPrivateKey
	kEmail
	numKinds
)

// byte classes that may start a match
const (
	clsNone uint8 = iota
	clsDigit
	clsJWT     // 'e'
	clsAWS     // 'A'
	clsBearer  // 'b', 'B'
	clsPEM     // '-'
	clsEmail   // '@'
	clsHashMrk // '['
)

// minimum lengths of a match, to skip short strings outright
var kindMinLen = [numKinds]int{
	kCard:       13, // 13 digits
	kAWS:        20, // AKIA + 16
	kJWT:        13, // 10-character header, '.', 2-character payload
	kBearer:     19, // "Bearer " + 12
	kPrivateKey: 27, // "-----BEGIN PRIVATE KEY-----"
	kEmail:      6,  // a@b.co
}

func newValuePatterns(c *ValuePatternsConfig) *valuePatterns {
	vp := &valuePatterns{hashHead: "[HASHED:", minLen: 1 << 30}
	for _, d := range c.Detect {
		k := kindIndex(d)
		if k < 0 {
			continue
		}
		vp.enabled[k] = true
		vp.minLen = min(vp.minLen, kindMinLen[k])
	}
	for k := range numKinds {
		vp.masks[k] = strings.ReplaceAll(c.Mask, "{kind}", valueKinds[k])
	}
	if c.Action == actionHash {
		vp.hash = true
		vp.hashLen = c.HashLength
		key := []byte(string(c.HashKey))
		vp.macs.New = func() any { return hmac.New(sha256.New, key) }
		vp.classOf['['] = clsHashMrk
	}
	if vp.enabled[kCard] {
		for c := '0'; c <= '9'; c++ {
			vp.classOf[c] = clsDigit
		}
	}
	if vp.enabled[kJWT] {
		vp.classOf['e'] = clsJWT
	}
	if vp.enabled[kAWS] {
		vp.classOf['A'] = clsAWS
	}
	if vp.enabled[kBearer] {
		vp.classOf['b'], vp.classOf['B'] = clsBearer, clsBearer
	}
	if vp.enabled[kPrivateKey] {
		vp.classOf['-'] = clsPEM
	}
	if vp.enabled[kEmail] {
		vp.classOf['@'] = clsEmail
	}
	return vp
}

// kindSet has bit 1<<k set for each kind k found.
type kindSet uint8

// apply returns s with every detected secret replaced, and the kinds it replaced; found is empty, s is returned
// as it is and no allocation happens when nothing is found.
func (vp *valuePatterns) apply(s string, buf []byte) (out string, found kindSet, scratch []byte) {
	if len(s) < vp.minLen {
		return s, 0, buf
	}
	kind, ms, me := vp.nextMatch(s, 0, 0)
	if kind < 0 {
		return s, 0, buf
	}
	b := buf[:0]
	last := 0
	for kind >= 0 {
		found |= 1 << kind
		b = append(b, s[last:ms]...)
		b = vp.appendReplacement(b, kind, s[ms:me])
		last = me
		kind, ms, me = vp.nextMatch(s, me, me)
	}
	b = append(b, s[last:]...)
	return string(b), found, b
}

// nextMatch returns the first secret found at or after index i as its kind and span [ms, me), or kind -1.
// lo is where an e-mail's local part may start at the earliest (the end of the previous match).
func (vp *valuePatterns) nextMatch(s string, i, lo int) (kind, ms, me int) {
	cls := &vp.classOf
	for i < len(s) {
		c := cls[s[i]]
		if c == clsNone {
			i++
			continue
		}
		switch c {
		case clsDigit:
			// Most digit runs are short numbers: reject them before the full card scan.
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j-i < 13 && (j+1 >= len(s) || (s[j] != ' ' && s[j] != '-') || !isDigit(s[j+1])) {
				i = j
				continue
			}
			start, end, runEnd, ok := findCard(s, i)
			if ok {
				return kCard, start, end
			}
			i = runEnd
		case clsJWT:
			if i+2 < len(s) && s[i+1] == 'y' && s[i+2] == 'J' {
				if end, ok := matchJWT(s, i); ok {
					return kJWT, i, end
				}
			}
			i++
		case clsAWS:
			if end, ok := matchAWSKey(s, i); ok {
				return kAWS, i, end
			}
			i++
		case clsBearer:
			if i+1 < len(s) && s[i+1]|0x20 == 'e' {
				if ts, te, ok := matchBearer(s, i); ok {
					return kBearer, ts, te
				}
			}
			i++
		case clsPEM:
			if i+1 < len(s) && s[i+1] == '-' {
				if end, ok := matchPrivateKey(s, i); ok {
					return kPrivateKey, i, end
				}
			}
			i++
		case clsEmail:
			if start, end, ok := matchEmail(s, lo, i); ok {
				return kEmail, start, end
			}
			i++
		case clsHashMrk:
			i = vp.skipHashMarker(s, i)
		}
	}
	return -1, 0, 0
}

// applyInt checks an integer value for a card number; it returns the replacement string.
func (vp *valuePatterns) applyInt(n int64) (string, bool) {
	if !vp.enabled[kCard] || n < 1_000_000_000_000 {
		return "", false
	}
	var a [20]byte
	d := strconv.AppendInt(a[:0], n, 10)
	if len(d) < 13 || len(d) > 19 || d[0] < '2' || d[0] > '6' || !luhnValid(d) {
		return "", false
	}
	return string(vp.appendReplacement(nil, kCard, string(d))), true
}

func (vp *valuePatterns) appendReplacement(b []byte, kind int, match string) []byte {
	if !vp.hash {
		return append(b, vp.masks[kind]...)
	}
	mac := vp.macs.Get().(hash.Hash)
	mac.Reset()
	if kind == kCard {
		var digits [24]byte
		n := 0
		for i := 0; i < len(match) && n < len(digits); i++ {
			if c := match[i]; c >= '0' && c <= '9' {
				digits[n] = c
				n++
			}
		}
		mac.Write(digits[:n])
	} else {
		mac.Write([]byte(match))
	}
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	vp.macs.Put(mac)
	b = append(b, vp.hashHead...)
	b = append(b, valueKinds[kind]...)
	b = append(b, ':')
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	b = append(b, hx[:vp.hashLen]...)
	return append(b, ']')
}

// skipHashMarker skips a "[HASHED:<kind>:<hex>]" produced by this redactor, so hashing is idempotent (the
// hex could otherwise look like a card number). Anything else advances by one byte.
func (vp *valuePatterns) skipHashMarker(s string, i int) int {
	rest := s[i:]
	if !strings.HasPrefix(rest, vp.hashHead) {
		return i + 1
	}
	rest = rest[len(vp.hashHead):]
	colon := strings.IndexByte(rest, ':')
	if colon < 0 || kindIndex(rest[:colon]) < 0 {
		return i + 1
	}
	hx := rest[colon+1:]
	if len(hx) < vp.hashLen+1 || hx[vp.hashLen] != ']' {
		return i + 1
	}
	for j := 0; j < vp.hashLen; j++ {
		if c := hx[j]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return i + 1
		}
	}
	return i + len(vp.hashHead) + colon + 1 + vp.hashLen + 1
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// digitGroup is one run of digits inside a separated number ("4111 1111 ...").
type digitGroup struct{ start, end int }

const maxCardGroups = 16

// findCard examines the run of digit groups (separated by single spaces or dashes) starting at i, the start
// of a digit run. It returns the first card-number window in the run, and in any case where the run ends. A
// window is 13-19 digits of whole groups, of 3+ digits each when the run has separators; it must not be glued
// to a word or a decimal point at either end (a separator is a fine boundary).
func findCard(s string, i int) (ms, me, runEnd int, ok bool) {
	var groups [maxCardGroups]digitGroup
	n := 0
	j := i
	for n < maxCardGroups {
		start := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		groups[n] = digitGroup{start, j}
		n++
		if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
			j++
			continue
		}
		break
	}
	runEnd = groups[n-1].end
	// A '.' before the digits is a decimal point only when a digit precedes it ("1.4111..."), not in "No.4111...".
	startOK := i == 0 || !(isAlnum(s[i-1]) || s[i-1] == '_' || (s[i-1] == '.' && i >= 2 && isDigit(s[i-2])))
	endOK := true
	if runEnd < len(s) {
		c := s[runEnd]
		endOK = !(isAlnum(c) || c == '_' || (c == '.' && runEnd+1 < len(s) && isDigit(s[runEnd+1])))
	}
	glen := func(g int) int { return groups[g].end - groups[g].start }
	for a := 0; a < n; a++ {
		if (a == 0 && !startOK) || (n > 1 && glen(a) < 3) {
			continue
		}
		total := 0
		b := a
		for ; b < n; b++ {
			g := glen(b)
			if (n > 1 && g < 3) || total+g > 19 {
				break
			}
			total += g
		}
		// Longest window first: groups a..b-1.
		for b--; b >= a; b-- {
			if total >= 13 && (b < n-1 || endOK) && cardCandidate(s[groups[a].start:groups[b].end]) {
				return groups[a].start, groups[b].end, runEnd, true
			}
			total -= glen(b)
		}
	}
	if n == maxCardGroups {
		// The run may go on past the groups read: a card (at most 6 groups) can start in the last 5 of them and
		// end beyond. Scanning resumes there rather than after them.
		return 0, 0, groups[n-5].start, false
	}
	return 0, 0, runEnd, false
}

// cardCandidate checks the network range (first digit 2-6) and the Luhn checksum of a digits-and-separators
// span.
func cardCandidate(span string) bool {
	if span[0] < '2' || span[0] > '6' {
		return false
	}
	return luhnValid(span)
}

// luhnValid ignores non-digits (separators).
func luhnValid[T ~string | ~[]byte](d T) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			continue
		}
		v := int(c - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func matchJWT(s string, i int) (int, bool) {
	if !strings.HasPrefix(s[i:], "eyJ") || (i > 0 && isB64URL(s[i-1])) {
		return 0, false
	}
	j := i
	for j < len(s) && isB64URL(s[j]) {
		j++
	}
	if j-i < 10 || j >= len(s) || s[j] != '.' {
		return 0, false
	}
	p := j + 1
	j = p
	for j < len(s) && isB64URL(s[j]) {
		j++
	}
	if j-p < 2 {
		return 0, false
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isB64URL(s[j]) {
			j++
		}
	}
	return j, true
}

var awsPrefixes = [...]string{"AKIA", "ASIA", "ABIA", "ACCA"}

func isUpperAlnum(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

func matchAWSKey(s string, i int) (int, bool) {
	if len(s)-i < 20 || (i > 0 && isAlnum(s[i-1])) || (i+20 < len(s) && isAlnum(s[i+20])) {
		return 0, false
	}
	head := s[i : i+4]
	ok := head[:3] == "A3T" && isUpperAlnum(head[3])
	for _, p := range awsPrefixes {
		ok = ok || head == p
	}
	if !ok {
		return 0, false
	}
	for j := i + 4; j < i+20; j++ {
		if !isUpperAlnum(s[j]) {
			return 0, false
		}
	}
	return i + 20, true
}

func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

func matchBearer(s string, i int) (ts, te int, ok bool) {
	if len(s)-i < 8 || (i > 0 && isAlnum(s[i-1])) || !strings.EqualFold(s[i:i+6], "bearer") {
		return 0, 0, false
	}
	j := i + 6
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j == i+6 {
		return 0, 0, false
	}
	ts = j
	special := false
	for j < len(s) && isTokenChar(s[j]) {
		special = special || !(s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z')
		j++
	}
	n := j - ts
	if n < 12 || (n < 20 && !special) {
		return 0, 0, false
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	return ts, j, true
}

const pemBegin = "-----BEGIN "

func matchPrivateKey(s string, i int) (int, bool) {
	if !strings.HasPrefix(s[i:], pemBegin) {
		return 0, false
	}
	hdr := i + len(pemBegin)
	lim := min(len(s), hdr+64)
	e := strings.Index(s[hdr:lim], "-----")
	if e < 0 || !strings.Contains(s[hdr:hdr+e], "PRIVATE KEY") {
		return 0, false
	}
	body := hdr + e + 5
	end := strings.Index(s[body:], "-----END ")
	if end < 0 {
		return len(s), true
	}
	tail := body + end + len("-----END ")
	close := strings.Index(s[tail:min(len(s), tail+64)], "-----")
	if close < 0 {
		return len(s), true
	}
	return tail + close + 5, true
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// matchEmail expands around the '@' at index at; lo is the first index the local part may start at.
func matchEmail(s string, lo, at int) (ms, me int, ok bool) {
	j := at
	for j > lo && isEmailLocal(s[j-1]) {
		j--
	}
	for j < at && s[j] == '.' {
		j++
	}
	if j == at {
		return 0, 0, false
	}
	// domain: labels of letters, digits and dashes separated by dots; the last label letters only, 2+.
	k := at + 1
	labels, lastStart, end := 0, 0, 0
	for {
		start := k
		for k < len(s) && (isAlnum(s[k]) || s[k] == '-') {
			k++
		}
		if k == start {
			break
		}
		labels++
		lastStart, end = start, k
		if k+1 < len(s) && s[k] == '.' && isAlnum(s[k+1]) {
			k++
			continue
		}
		break
	}
	if labels < 2 || end-lastStart < 2 {
		return 0, 0, false
	}
	for x := lastStart; x < end; x++ {
		if isDigit(s[x]) || s[x] == '-' {
			return 0, 0, false
		}
	}
	return j, end, true
}
