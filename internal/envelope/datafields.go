package envelope

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// dataFields is the current record's attributes followed by its map body's fields, the candidates for data, with
// what depends on their keys alone kept from record to record. The records of a batch nearly always carry the
// same keys in the same order (one instrumentation writes them), so when a record's keys equal the previous
// record's, the lift bit of every key and the sorted layout of data (order, duplicates, escaped keys) are reused
// instead of computed again. A record whose keys differ costs little more than without the reuse: its keys are
// copied, and its escaped keys are kept only once a second record shows the layout is worth keeping.
type dataFields struct {
	// keys holds a copy of the keys back to back, key i from keyStarts[i] to keyStarts[i+1]: a copy, because the
	// previous record's strings may be collected, or their memory reused, by the time the next record is compared
	// with them.
	keys      []byte
	keyStarts []int
	// prefixes is keyPrefix of each key, what the sort compares first.
	prefixes []uint64
	// liftBits is liftBitOfAttribute of each attribute key.
	liftBits       []uint32
	attrs, bodyLen int
	// same is true when the current record's keys equal the previous record's, in order.
	same bool

	// values and types are the current record's, in the order of keys; the type is read once per field.
	values []pcommon.Value
	types  []pcommon.ValueType

	layout dataLayout
}

// dataLayout is how data is written for one sequence of keys and one set of lifted attributes: the fields in key
// order, later duplicates of a key left out, and, from the second record that uses it, each key escaped.
type dataLayout struct {
	valid       bool
	liftedAttrs uint32
	messageKey  string
	order       []int
	// keyText holds `"key":` for every field of order, `,"key":` after the first, when hasKeyText; keyTextEnds
	// where each ends.
	keyText     []byte
	keyTextEnds []int
	hasKeyText  bool
}

// begin starts a record of attrs attributes and a map body of bodyLen fields.
func (f *dataFields) begin(attrs, bodyLen int) {
	f.releaseIfHuge()
	f.same = attrs == f.attrs && bodyLen == f.bodyLen && len(f.prefixes) == attrs+bodyLen
	if !f.same {
		f.truncate(0)
	}
	previous := f.attrs + f.bodyLen
	f.attrs, f.bodyLen = attrs, bodyLen
	n := attrs + bodyLen
	if n < previous {
		clear(f.values[n:previous]) // hold no value of an earlier record
	}
	// values and types keep their whole capacity as length, so that the slices are stored only when they grow
	// (see keep).
	if n > len(f.values) {
		f.values = slices.Grow(f.values[:0], n)
		f.values = f.values[:cap(f.values)]
	}
	if n > len(f.types) {
		f.types = slices.Grow(f.types[:0], n)
		f.types = f.types[:cap(f.types)]
	}
}

// set records field i (attributes first, in record order, then body fields) and returns its key's lift bit.
func (f *dataFields) set(i int, k string, v pcommon.Value, isAttr bool) uint32 {
	f.values[i], f.types[i] = v, v.Type()
	if f.same {
		if k == string(f.key(i)) {
			return f.liftBits[i]
		}
		f.same = false
		f.truncate(i)
	}
	f.keys = append(f.keys, k...)
	f.keyStarts = append(f.keyStarts, len(f.keys))
	f.prefixes = append(f.prefixes, keyPrefix(k))
	var bit uint32
	if isAttr {
		bit = liftBitOfAttribute(k)
	}
	f.liftBits = append(f.liftBits, bit)
	return bit
}

// truncate forgets the keys from i on, which the current record does not share.
func (f *dataFields) truncate(i int) {
	if len(f.keyStarts) == 0 {
		f.keyStarts = append(f.keyStarts, 0)
	}
	f.keys = f.keys[:f.keyStarts[i]]
	f.keyStarts, f.prefixes, f.liftBits = f.keyStarts[:i+1], f.prefixes[:i], f.liftBits[:i]
	f.layout.valid = false
}

func (f *dataFields) key(i int) []byte { return f.keys[f.keyStarts[i]:f.keyStarts[i+1]] }

// releaseIfHuge forgets what one exceptional record grew, so that it is not kept for the life of the exporter.
func (f *dataFields) releaseIfHuge() {
	if cap(f.keys) > maxKeptScratch || cap(f.keyStarts) > maxKeptEntries || cap(f.layout.keyText) > maxKeptScratch {
		*f = dataFields{}
	}
}

// dataLayout returns the layout of the current record's data, computing it only when its keys, lifted attributes
// or message key differ from the previous record's.
func (e *Entry) dataLayout() *dataLayout {
	f := &e.fields
	l := &f.layout
	if f.same && l.valid && l.liftedAttrs == e.liftedAttrs && l.messageKey == e.messageKey {
		if !l.hasKeyText {
			l.escapeKeys(f)
		}
		return l
	}
	l.valid, l.hasKeyText, l.liftedAttrs, l.messageKey = true, false, e.liftedAttrs, e.messageKey
	l.order = l.order[:0]
	for i := range f.attrs + f.bodyLen {
		if i < f.attrs {
			if bit := f.liftBits[i]; bit != 0 && e.liftedAttrs&bit != 0 {
				continue
			}
		} else if e.messageKey != "" && string(f.key(i)) == e.messageKey {
			continue
		}
		l.order = append(l.order, i)
	}
	if !f.keysValid(l.order) {
		l.order = orderByJSONKey(l.order, f)
		return l
	}
	sortIndicesByKey(l.order, f.prefixes, f.compareKeys)
	// Keep the first of equal keys: attributes come before body fields and the sort is stable, so an attribute
	// wins over a body field of the same name, and the first occurrence over later ones.
	l.order = keepFirstOfEqual(l.order, func(a, b int) bool {
		return f.prefixes[a] == f.prefixes[b] && bytes.Equal(f.key(a), f.key(b))
	})
	return l
}

// keysValid reports whether the keys of order are all valid UTF-8, as nearly all are. The check runs only when
// the layout is computed, not for every record that reuses it, and nearly always ends at the first test: keys
// that are all ASCII, back to back.
func (f *dataFields) keysValid(order []int) bool {
	if asciiOnly(f.keys) {
		return true
	}
	for _, i := range order {
		if !utf8.Valid(f.key(i)) {
			return false
		}
	}
	return true
}

// orderByJSONKey is the layout's order when some key is not valid UTF-8: sorted and de-duplicated by the names
// the keys are written as (jsonKey), so that keys differing only in invalid bytes are written once, the first
// one winning as for equal keys.
func orderByJSONKey(order []int, f *dataFields) []int {
	names := make([]string, f.attrs+f.bodyLen)
	prefixes := make([]uint64, len(names))
	for _, i := range order {
		names[i] = jsonKey(string(f.key(i)))
		prefixes[i] = keyPrefix(names[i])
	}
	sortIndicesByKey(order, prefixes, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	return keepFirstOfEqual(order, func(a, b int) bool { return names[a] == names[b] })
}

// asciiOnly reports whether b holds nothing but ASCII, eight bytes at a time.
func asciiOnly(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&msb8 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// keepFirstOfEqual drops from order, sorted by key and stably, every index whose key equals the one before.
func keepFirstOfEqual(order []int, equal func(a, b int) bool) []int {
	kept := order[:0]
	for j, i := range order {
		if j > 0 && equal(i, order[j-1]) {
			continue
		}
		kept = append(kept, i)
	}
	return kept
}

// escapeKeys keeps the escaped keys of the layout, for the records after the first that use it.
func (l *dataLayout) escapeKeys(f *dataFields) {
	l.keyText, l.keyTextEnds = l.keyText[:0], l.keyTextEnds[:0]
	for j, i := range l.order {
		if j > 0 {
			l.keyText = append(l.keyText, ',')
		}
		l.keyText = append(appendJSONString(l.keyText, f.key(i)), ':')
		l.keyTextEnds = append(l.keyTextEnds, len(l.keyText))
	}
	l.hasKeyText = true
}

func (f *dataFields) compareKeys(a, b int) int { return bytes.Compare(f.key(a), f.key(b)) }

// appendData writes record attributes (without those lifted into the envelope) merged with the fields of a
// map body (without its message key), in key order. On a key present in both, the attribute wins.
func (e *Entry) appendData(dst []byte) []byte {
	l := e.dataLayout()
	f := &e.fields
	dst = append(dst, '{')
	start := 0
	for j, i := range l.order {
		if l.hasKeyText {
			dst = append(dst, l.keyText[start:l.keyTextEnds[j]]...)
			start = l.keyTextEnds[j]
		} else {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendJSONString(dst, f.key(i)), ':')
		}
		dst = e.scratch.appendTyped(dst, f.values[i], f.types[i])
	}
	return append(dst, '}')
}
