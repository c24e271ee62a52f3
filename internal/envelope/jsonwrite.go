package envelope

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const hexDigits = "0123456789abcdef"

// safeASCII marks the bytes that are copied verbatim into a JSON string: ASCII other than control characters,
// quote and backslash. It has an entry for every byte value so that indexing it needs no bounds check.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string: raw UTF-8, control characters escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028/U+2029 escaped so that the output is also safe to embed in JavaScript.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendJSONStringBody(dst, stringView(s))
	return append(dst, '"')
}

// stringView reads s, a string or a byte slice, as a string without copying: the escaping loop is then one
// non-generic function that the compiler inlines and bounds-checks once per word. The view is only read during
// the call.
func stringView[T string | []byte](s T) string {
	return *(*string)(unsafe.Pointer(&s)) // a slice header starts with a string header's data and length
}

func appendJSONStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; ; {
		// Skip plain ASCII 16, then 8 bytes at a time, then byte by byte; most log text is nothing else.
		for i+16 <= len(s) && special(load64(s, i))|special(load64(s, i+8)) == 0 {
			i += 16
		}
		if i+8 <= len(s) && special(load64(s, i)) == 0 {
			i += 8
		}
		for i < len(s) && safeASCII[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// jsonKey is the name key has once written: appendJSONStringBody writes each byte that is not valid UTF-8 as
// U+FFFD, so keys that differ only in such bytes are one name in JSON. Objects sort and de-duplicate their keys
// by this name, so that no object has a key twice. A valid key, nearly every key, is returned as it is.
func jsonKey(key string) string {
	if utf8.ValidString(key) {
		return key
	}
	name := make([]byte, 0, len(key)+8)
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError && size == 1 {
			name = append(name, "\uFFFD"...)
		} else {
			name = append(name, key[i:i+size]...)
		}
		i += size
	}
	return string(name)
}

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// load64 reads the 8 bytes of s at i as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special has the high bit set in some byte of x when x holds a byte that is not plain ASCII: non-ASCII, a
// control character, a quote or a backslash (SWAR: each test sets a byte's high bit where it matches).
func special(x uint64) uint64 {
	control := (x - 0x20*lsb8) & ^x
	return (x | control | hasZeroByte(x^'"'*lsb8) | hasZeroByte(x^'\\'*lsb8)) & msb8
}

func hasZeroByte(v uint64) uint64 { return (v - lsb8) & ^v & msb8 }

// appendJSONFloat writes f the way encoding/json does; NaN and infinities, which JSON cannot express, become
// the strings "NaN", "Infinity" and "-Infinity" so that the value is kept rather than the document broken.
func appendJSONFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	} else if out, ok := appendShortDecimal(dst, f); ok {
		return out
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Shorten e-09 to e-9, as encoding/json does.
		n := len(dst) - start
		if n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// pow10 are the scales appendShortDecimal tries.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// appendShortDecimal writes f as strconv.AppendFloat(f, 'f', -1) does when f is a decimal with at most six
// fraction digits and |f| < 2^31, the usual durations and ratios, without strconv's general shortest-digit
// search; ok is false otherwise. For the smallest k such that m = round(f*10^k) gives m/10^k == f (a correctly
// rounded division, so the decimal m*10^-k parses back to f), m*10^-k is the shortest decimal for f: below 2^31
// the floats around f are spaced less than 0.25*10^-6 apart, so at each k at most one integer is close enough to
// f*10^k to parse back to f, and rounding the float product finds it.
func appendShortDecimal(dst []byte, f float64) ([]byte, bool) {
	abs := math.Abs(f)
	if abs >= 1<<31 || f == 0 { // zero: strconv writes the sign of -0
		return dst, false
	}
	for k, scale := range pow10 {
		m := math.Round(abs * scale)
		if m/scale != abs {
			continue
		}
		if f < 0 {
			dst = append(dst, '-')
		}
		digits := uint64(m)
		whole := digits
		for i := 0; i < k; i++ {
			whole /= 10
		}
		dst = strconv.AppendUint(dst, whole, 10)
		if k == 0 {
			return dst, true
		}
		dst = append(dst, '.')
		var frac [6]byte
		for i := k - 1; i >= 0; i-- {
			frac[i] = byte('0' + digits%10)
			digits /= 10
		}
		return append(dst, frac[:k]...), true
	}
	return dst, false
}

// keyedValue is one map entry waiting to be written in key order.
type keyedValue struct {
	key   string
	value pcommon.Value
}

// smallSort is the largest map sorted by insertion on key prefixes; typical records have fewer keys.
const smallSort = 16

// sortIndicesByKey orders order, indices of keys, by key and stably, so that among duplicates the first listed
// comes first. prefixes[i] is keyPrefix of key i; compare(a, b) compares keys a and b whole and is asked only when
// their prefixes are equal. Up to smallSort keys (nearly every map) are sorted by insertion on the prefixes: the
// same order, without a string comparison per step. Sorting indices rather than entries moves no pointers, each
// of which would cost a write barrier while the collector marks.
func sortIndicesByKey(order []int, prefixes []uint64, compare func(a, b int) int) {
	n := len(order)
	if n < 2 {
		return
	}
	if n > smallSort {
		slices.SortStableFunc(order, func(a, b int) int {
			if c := cmp.Compare(prefixes[a], prefixes[b]); c != 0 {
				return c
			}
			return compare(a, b)
		})
		return
	}
	var p [smallSort]uint64
	for j, i := range order {
		p[j] = prefixes[i]
	}
	for j := 1; j < n; j++ {
		for k := j; k > 0 && (p[k] < p[k-1] || p[k] == p[k-1] && compare(order[k], order[k-1]) < 0); k-- {
			order[k], order[k-1] = order[k-1], order[k]
			p[k], p[k-1] = p[k-1], p[k]
		}
	}
}

// keyPrefix is the first eight bytes of key, zero-padded, big-endian: two keys whose prefixes differ compare as
// their prefixes do (a shorter key padded with zeros sorts before any longer key it starts).
func keyPrefix(key string) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(unsafe.Slice(unsafe.StringData(key), 8))
	}
	var p uint64
	for i := 0; i < len(key); i++ {
		p |= uint64(key[i]) << (56 - 8*i)
	}
	return p
}

// sortScratch writes nested values without recursion, so that neither the goroutine stack nor the time grows
// faster than the value: stack holds the entries of every open map (a map pushes its entries, sorts their
// indices and writes them, then pops them), frames one frame per open map or list. Once warm, writing allocates
// nothing.
//
// While the garbage collector marks, every pointer stored into the heap costs a write barrier, so the scratch
// stores as few as it can: a map's entries are pushed once and sorted as indices (order, by prefixes), frames hold
// no pointers (a list's pdata slice is kept apart, in lists), and popped entries are not cleared one map at a
// time but all at once by releaseStale, between batches.
type sortScratch struct {
	stack []keyedValue
	// order[base:end] holds the indices of a map's entries stack[base:end] in key order, prefixes[i] the keyPrefix
	// of stack[i].key.
	order    []int
	prefixes []uint64
	lists    []pcommon.Slice
	frames   []jsonFrame
	// stale is how much of stack may still hold entries of earlier records.
	stale int
}

// jsonFrame is a map or list being written: a map's entries lie on the scratch stack from base to end and are
// written in the order of order[base:end]; a list is lists[base], its elements from next to end.
type jsonFrame struct {
	isList    bool
	base      int
	next, end int
}

// maxKeptEntries bounds the scratch an Entry keeps between records, so that one huge record does not pin it for
// the life of the exporter.
const maxKeptEntries = 4096

func (s *sortScratch) push(k string, v pcommon.Value) {
	s.stack = append(growDoubling(s.stack, 1), keyedValue{k, v})
	s.stale = max(s.stale, len(s.stack))
}

// growDoubling makes room for n more elements, doubling the capacity when it grows: append's own growth (1.25x
// for large slices) would allocate five times the final size in total while a huge record is written.
func growDoubling[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	return slices.Grow(s, max(n, len(s)))
}

// pop drops the entries from base up. They are not cleared here; see releaseStale.
func (s *sortScratch) pop(base int) {
	s.stack = s.stack[:base]
}

// releaseStale clears the entries that earlier records left on the stack, so that a finished batch can be
// collected: ForEachIn calls it when its batch is done, and every Reset (through setResource) before its record.
func (s *sortScratch) releaseStale() {
	clear(s.stack[len(s.stack):s.stale])
	s.stale = len(s.stack)
}

// releaseIfHuge forgets scratch that one exceptional record grew.
func (s *sortScratch) releaseIfHuge() {
	if cap(s.stack) > maxKeptEntries {
		s.stack, s.order, s.prefixes, s.stale = nil, nil, nil, 0
	}
	if cap(s.frames) > maxKeptEntries {
		s.frames = nil
	}
	if cap(s.lists) > maxKeptEntries {
		s.lists = nil
	}
}

// resize is s with length n: its first elements kept, room made by doubling (see growDoubling).
func resize[T any](s []T, n int) []T {
	if n <= len(s) {
		return s[:n]
	}
	return growDoubling(s, n-len(s))[:n]
}

// sortEntries orders the entries from base to the top of the stack by key, into order[base:].
func (s *sortScratch) sortEntries(base int) {
	end := len(s.stack)
	s.order, s.prefixes = resize(s.order, end), resize(s.prefixes, end)
	for i := base; i < end; i++ {
		s.order[i] = i
	}
	if end-base < 2 {
		return
	}
	for i := base; i < end; i++ {
		s.prefixes[i] = keyPrefix(s.stack[i].key)
	}
	sortIndicesByKey(s.order[base:end], s.prefixes, s.compareKeys)
}

func (s *sortScratch) compareKeys(a, b int) int {
	return strings.Compare(s.stack[a].key, s.stack[b].key)
}

// sorted is the entry at position i of the key order.
func (s *sortScratch) sorted(i int) keyedValue { return s.stack[s.order[i]] }

// appendValue writes a pdata value as JSON; maps are written with sorted keys at every level.
func (s *sortScratch) appendValue(dst []byte, v pcommon.Value) []byte {
	return s.appendTyped(dst, v, v.Type())
}

// appendTyped is appendValue for a value whose type t the caller has read.
func (s *sortScratch) appendTyped(dst []byte, v pcommon.Value, t pcommon.ValueType) []byte {
	switch t {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if out, ok := appendFlat(dst, v, t); ok {
			return out
		}
		return s.walk(s.open(dst, v, t))
	default:
		return appendScalar(dst, v, t)
	}
}

// flatMapMax is the largest map appendFlat writes.
const flatMapMax = 8

// appendFlat writes a map of at most flatMapMax entries, or a list, whose values are all neither maps nor lists,
// as most nested attribute values are, with everything it needs on the goroutine's stack: unlike the scratch, it
// stores no pointer into the heap. ok is false, and dst unchanged, for any other value.
func appendFlat(dst []byte, v pcommon.Value, t pcommon.ValueType) (out []byte, ok bool) {
	start := len(dst)
	if t == pcommon.ValueTypeSlice {
		dst = append(dst, '[')
		for i, el := range v.Slice().All() {
			et := el.Type()
			if et == pcommon.ValueTypeMap || et == pcommon.ValueTypeSlice {
				return dst[:start], false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendScalar(dst, el, et)
		}
		return append(dst, ']'), true
	}
	m := v.Map()
	n := m.Len()
	if n > flatMapMax {
		return dst, false
	}
	if n <= 1 { // nothing to sort
		dst = append(dst, '{')
		for k, v := range m.All() {
			t := v.Type()
			if t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice {
				return dst[:start], false
			}
			dst = append(appendJSONString(dst, k), ':')
			dst = appendScalar(dst, v, t)
		}
		return append(dst, '}'), true
	}
	var (
		keys     [flatMapMax]string
		values   [flatMapMax]pcommon.Value
		types    [flatMapMax]pcommon.ValueType
		order    [flatMapMax]int
		prefixes [flatMapMax]uint64
	)
	i := 0
	for k, v := range m.All() {
		t := v.Type()
		if t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice {
			return dst[:start], false
		}
		k = jsonKey(k)
		keys[i], values[i], types[i], order[i], prefixes[i] = k, v, t, i, keyPrefix(k)
		i++
	}
	sortIndicesByKey(order[:n], prefixes[:n], func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	dst = append(dst, '{')
	for j, i := range order[:n] {
		if j > 0 {
			if keys[i] == keys[order[j-1]] {
				continue // a later duplicate of a key
			}
			dst = append(dst, ',')
		}
		dst = append(appendJSONString(dst, keys[i]), ':')
		dst = appendScalar(dst, values[i], types[i])
	}
	return append(dst, '}'), true
}

// appendSortedObject writes the entries from base to the top of the stack as an object and pops them. The sort
// is stable and later duplicates of a key are skipped, so when callers push the preferred source first, it wins.
func (s *sortScratch) appendSortedObject(dst []byte, base int) []byte {
	return s.walk(s.openObject(dst, base))
}

// appendScalar writes a value of type t (neither map nor list): Value.Type is a type switch on every call, so
// callers that know the type pass it.
func appendScalar(dst []byte, v pcommon.Value, t pcommon.ValueType) []byte {
	switch t {
	case pcommon.ValueTypeStr:
		return appendJSONString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSONFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	default:
		return append(dst, "null"...)
	}
}

// open writes the opening bracket of a map or list and starts its frame.
func (s *sortScratch) open(dst []byte, v pcommon.Value, t pcommon.ValueType) []byte {
	if t == pcommon.ValueTypeSlice {
		sl := v.Slice()
		s.lists = append(growDoubling(s.lists, 1), sl)
		s.frames = append(growDoubling(s.frames, 1), jsonFrame{isList: true, base: len(s.lists) - 1, end: sl.Len()})
		return append(dst, '[')
	}
	m := v.Map()
	base := len(s.stack)
	s.stack = growDoubling(s.stack, m.Len())
	for k, v := range m.All() {
		s.push(jsonKey(k), v)
	}
	return s.openObject(dst, base)
}

func (s *sortScratch) openObject(dst []byte, base int) []byte {
	s.sortEntries(base)
	s.frames = append(growDoubling(s.frames, 1), jsonFrame{base: base, next: base, end: len(s.stack)})
	return append(dst, '{')
}

// walk writes the remaining entries of the open frames, depth first, until the innermost frame open on entry is
// closed.
func (s *sortScratch) walk(dst []byte) []byte {
	stop := len(s.frames) - 1
	for len(s.frames) > stop {
		f := &s.frames[len(s.frames)-1]
		var child pcommon.Value
		if f.isList {
			if f.next == f.end {
				dst = append(dst, ']')
				s.lists[f.base] = pcommon.Slice{}
				s.lists = s.lists[:f.base]
				s.frames = s.frames[:len(s.frames)-1]
				continue
			}
			if f.next > 0 {
				dst = append(dst, ',')
			}
			child = s.lists[f.base].At(f.next)
		} else {
			for f.next < f.end && f.next > f.base && s.sorted(f.next).key == s.sorted(f.next-1).key {
				f.next++ // a later duplicate of a key
			}
			if f.next == f.end {
				dst = append(dst, '}')
				s.pop(f.base)
				s.frames = s.frames[:len(s.frames)-1]
				continue
			}
			if f.next > f.base {
				dst = append(dst, ',')
			}
			kv := s.sorted(f.next)
			dst = appendJSONString(dst, kv.key)
			dst = append(dst, ':')
			child = kv.value
		}
		f.next++
		switch t := child.Type(); t {
		case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
			if out, ok := appendFlat(dst, child, t); ok {
				dst = out
			} else {
				dst = s.open(dst, child, t)
			}
		default:
			dst = appendScalar(dst, child, t)
		}
	}
	return dst
}

// AppendJSONString appends s as a JSON string with the envelope's escaping rules, for exporters that wrap
// envelope values (or a whole encoded envelope, as Loki's JSON push body does) in a document of their own.
func AppendJSONString[T string | []byte](dst []byte, s T) []byte { return appendJSONString(dst, s) }
