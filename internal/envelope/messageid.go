package envelope

import (
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// uuidLen is the length of a textual UUID; a derived message_id always has it.
const uuidLen = 36

// MessageIDVersion is the derivation version of the message_id computed here. It is written into every derived
// id (the four custom bits right after the UUID version: the third group reads "82xx"), and it changes whenever a
// change to this file would give an existing record another id. Ids are stable within a version only.
const MessageIDVersion = 2

// idDomain starts every resource digest, so that no other use of xxh3 on similar bytes can produce these ids.
const idDomain = "fapilog message_id v2\x00"

// Type tags of the canonical value encoding, so that the string "1" and the integer 1 differ.
const (
	tagEmpty byte = iota
	tagStr
	tagInt
	tagDouble
	tagBool
	tagBytes
	tagMap
	tagSlice
)

// idPrefix caches the digests every record of one resource and scope shares. ForEach keeps it across the
// records of one ScopeLogs; Reset clears it, because it cannot know whether the scope is the same.
type idPrefix struct {
	resource, scope       xxh3.Uint128
	hasResource, hasScope bool
}

// messageIDState is the derived id of the current record once it has been computed.
type messageIDState struct {
	id    [uuidLen]byte
	ready bool
}

// deriveMessageID hashes the OTLP record, with its scope and resource, into an RFC 9562 version 8 UUID.
//
// The hash input is a canonical encoding of every field that distinguishes the record in OTLP: timestamps in
// nanoseconds, observed timestamp, trace id, span id, flags, severity number and text, event name, dropped
// attributes count, attributes and body (type-tagged, maps and lists recursively), the scope's name, version,
// attributes and dropped count, and the resource's attributes and dropped count. The receive time is not part of
// it, so a record without timestamps keeps its id when it is retried later.
//
// Attributes are hashed in the order the record carries them (see doc.go for why). Every string is written with
// its length and every map and list with its entry count, so that no two different records encode alike.
func (e *Entry) deriveMessageID(id *[uuidLen]byte) {
	if !e.prefix.hasScope {
		if !e.prefix.hasResource {
			e.prefix.resource = e.resourceDigest()
			e.prefix.hasResource = true
		}
		e.prefix.scope = e.scopeDigest()
		e.prefix.hasScope = true
	}
	r := e.record
	b := e.idScratch[:0]
	b = appendDigest(b, e.prefix.scope)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Timestamp()))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ObservedTimestamp()))
	traceID, spanID := r.TraceID(), r.SpanID()
	b = append(b, traceID[:]...)
	b = append(b, spanID[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Flags()))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.SeverityNumber()))
	b = appendCanonicalString(b, r.SeverityText())
	b = appendCanonicalString(b, r.EventName())
	b = binary.LittleEndian.AppendUint32(b, r.DroppedAttributesCount())
	b = e.appendCanonicalAttributes(b)
	b = e.appendCanonicalTyped(b, r.Body(), e.bodyType)
	digest := xxh3.Hash128(b)
	keep(&e.idScratch, b, maxKeptScratch)
	formatMessageID(id, digest)
}

func (e *Entry) resourceDigest() xxh3.Uint128 {
	b := append(e.idScratch[:0], idDomain...)
	b = e.appendCanonicalMap(b, e.res.Attributes())
	b = binary.LittleEndian.AppendUint32(b, e.res.DroppedAttributesCount())
	digest := xxh3.Hash128(b)
	keep(&e.idScratch, b, maxKeptScratch)
	return digest
}

func (e *Entry) scopeDigest() xxh3.Uint128 {
	b := appendDigest(e.idScratch[:0], e.prefix.resource)
	b = appendCanonicalString(b, e.scope.Name())
	b = appendCanonicalString(b, e.scope.Version())
	b = e.appendCanonicalMap(b, e.scope.Attributes())
	b = binary.LittleEndian.AppendUint32(b, e.scope.DroppedAttributesCount())
	digest := xxh3.Hash128(b)
	keep(&e.idScratch, b, maxKeptScratch)
	return digest
}

// maxKeptScratch is the largest scratch buffer an Entry keeps between records: a huge record may need a huge
// buffer once, but it is not held for the life of the exporter.
const maxKeptScratch = 64 << 10

func releaseIfHuge(b []byte) []byte {
	if cap(b) > maxKeptScratch {
		return nil
	}
	return b[:0]
}

// keep keeps s's array in *dst for the next use, unless *dst holds it already: storing a slice into the Entry
// costs a write barrier while the garbage collector marks, even when it has not changed. An array of more than
// limit elements is not kept, so that one huge record does not pin it for the life of the exporter.
func keep[T any](dst *[]T, s []T, limit int) {
	switch {
	case cap(s) > limit:
		if *dst != nil {
			*dst = nil
		}
	case cap(s) != cap(*dst) || unsafe.SliceData(s) != unsafe.SliceData(*dst):
		*dst = s[:0]
	}
}

func appendDigest(b []byte, d xxh3.Uint128) []byte {
	b = binary.LittleEndian.AppendUint64(b, d.Lo)
	return binary.LittleEndian.AppendUint64(b, d.Hi)
}

func appendCanonicalString[T string | []byte](b []byte, s T) []byte {
	if len(s) < 0x80 { // the uvarint of a short length is the length itself
		b = append(b, byte(len(s)))
	} else {
		b = binary.AppendUvarint(b, uint64(len(s)))
	}
	return append(b, s...)
}

// hashItem is a value waiting to be encoded, with the key it has in its map.
type hashItem struct {
	key    string
	value  pcommon.Value
	hasKey bool
}

// appendCanonicalMap appends the entry count and the entries in the order the record carries them.
func (e *Entry) appendCanonicalMap(b []byte, m pcommon.Map) []byte {
	b = binary.AppendUvarint(b, uint64(m.Len()))
	for k, v := range m.All() {
		b = appendCanonicalString(b, k)
		b = e.appendCanonicalTyped(b, v, v.Type())
	}
	return b
}

// appendCanonicalAttributes is appendCanonicalMap of the record's attributes, from what the lifting pass read:
// their keys, values and types, in the record's order (Entry.fields).
func (e *Entry) appendCanonicalAttributes(b []byte) []byte {
	f := &e.fields
	b = binary.AppendUvarint(b, uint64(f.attrs))
	for i := range f.attrs {
		b = appendCanonicalString(b, f.key(i))
		b = e.appendCanonicalTyped(b, f.values[i], f.types[i])
	}
	return b
}

// appendCanonicalTyped is appendCanonicalValue for a value whose type t the caller has read. A map or list one
// level deep is encoded here, its scalars inline (nested attributes are mostly flat); only values nested deeper go
// through appendCanonicalValue's stack.
func (e *Entry) appendCanonicalTyped(b []byte, v pcommon.Value, t pcommon.ValueType) []byte {
	switch t {
	case pcommon.ValueTypeStr: // the usual attribute, written here rather than two calls down
		return appendCanonicalString(append(b, tagStr), v.Str())
	case pcommon.ValueTypeMap:
		m := v.Map()
		b = binary.AppendUvarint(append(b, tagMap), uint64(m.Len()))
		for k, v := range m.All() {
			b = appendCanonicalString(b, k)
			b = e.appendCanonicalNested(b, v)
		}
		return b
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		b = binary.AppendUvarint(append(b, tagSlice), uint64(sl.Len()))
		for _, v := range sl.All() {
			b = e.appendCanonicalNested(b, v)
		}
		return b
	default:
		return appendCanonicalScalar(b, v, t)
	}
}

// appendCanonicalNested encodes an element of a map or list: scalars inline, containers through the stack.
func (e *Entry) appendCanonicalNested(b []byte, v pcommon.Value) []byte {
	switch t := v.Type(); t {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return e.appendCanonicalValue(b, v)
	default:
		return appendCanonicalScalar(b, v, t)
	}
}

// appendCanonicalValue appends v's type tag and content, maps and lists as their length and then their entries.
// Nested values are encoded depth first from an explicit stack of pending items rather than by recursion: a
// chain of nested maps then needs a stack of one item, however deep, and a wide map one item per entry.
func (e *Entry) appendCanonicalValue(b []byte, v pcommon.Value) []byte {
	switch t := v.Type(); t {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
	default:
		return appendCanonicalScalar(b, v, t)
	}
	pending := append(e.hashPending[:0], hashItem{value: v})
	for len(pending) > 0 {
		it := pending[len(pending)-1]
		pending[len(pending)-1] = hashItem{}
		pending = pending[:len(pending)-1]
		if it.hasKey {
			b = appendCanonicalString(b, it.key)
		}
		switch t := it.value.Type(); t {
		case pcommon.ValueTypeMap:
			m := it.value.Map()
			b = binary.AppendUvarint(append(b, tagMap), uint64(m.Len()))
			first := len(pending)
			pending = growDoubling(pending, m.Len())
			for k, v := range m.All() {
				pending = append(pending, hashItem{key: k, value: v, hasKey: true})
			}
			slices.Reverse(pending[first:]) // the first entry is encoded first
		case pcommon.ValueTypeSlice:
			sl := it.value.Slice()
			b = binary.AppendUvarint(append(b, tagSlice), uint64(sl.Len()))
			pending = growDoubling(pending, sl.Len())
			for i := sl.Len() - 1; i >= 0; i-- {
				pending = append(pending, hashItem{value: sl.At(i)})
			}
		default:
			b = appendCanonicalScalar(b, it.value, t)
		}
	}
	keep(&e.hashPending, pending, maxKeptEntries)
	return b
}

// appendCanonicalScalar appends the type tag and content of a value of type t, neither map nor list.
func appendCanonicalScalar(b []byte, v pcommon.Value, t pcommon.ValueType) []byte {
	switch t {
	case pcommon.ValueTypeStr:
		return appendCanonicalString(append(b, tagStr), v.Str())
	case pcommon.ValueTypeInt:
		return binary.LittleEndian.AppendUint64(append(b, tagInt), uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return binary.LittleEndian.AppendUint64(append(b, tagDouble), math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return append(b, tagBool, 1)
		}
		return append(b, tagBool, 0)
	case pcommon.ValueTypeBytes:
		return appendCanonicalString(append(b, tagBytes), v.Bytes().AsRaw())
	default:
		return append(b, tagEmpty)
	}
}

// formatMessageID writes the digest as a UUID: version 8 (custom), the derivation version in the next four bits,
// the RFC 9562 variant, and 118 bits of the hash. Big-endian: Hi's first byte is the UUID's first.
func formatMessageID(id *[uuidLen]byte, d xxh3.Uint128) {
	hi := d.Hi&^(0xff<<8) | uint64(0x80|MessageIDVersion)<<8 // byte 6: version 8, then the derivation version
	lo := d.Lo&^(0xc0<<56) | 0x80<<56                        // byte 8: the variant's two bits
	w1, w2 := hexWord(uint32(hi)), hexWord(uint32(lo>>32))
	binary.BigEndian.PutUint64(id[0:8], hexWord(uint32(hi>>32)))
	id[8] = '-'
	binary.BigEndian.PutUint32(id[9:13], uint32(w1>>32))
	id[13] = '-'
	binary.BigEndian.PutUint32(id[14:18], uint32(w1))
	id[18] = '-'
	binary.BigEndian.PutUint32(id[19:23], uint32(w2>>32))
	id[23] = '-'
	binary.BigEndian.PutUint32(id[24:28], uint32(w2))
	binary.BigEndian.PutUint64(id[28:36], hexWord(uint32(lo)))
}

// hexWord returns v's eight lowercase hexadecimal digits as the bytes of a uint64, most significant first,
// computed in one register instead of a table lookup per nibble (hex.Encode was a tenth of encoding a small
// record).
func hexWord(v uint32) uint64 {
	// Spread the nibbles into bytes, keeping their order: ........hgfedcba -> 0h0g0f0e0d0c0b0a.
	n := uint64(v)
	n = (n | n<<16) & 0x0000ffff0000ffff
	n = (n | n<<8) & 0x00ff00ff00ff00ff
	n = (n | n<<4) & 0x0f0f0f0f0f0f0f0f
	// A nibble of 10 or more gets bit 4 from adding 6; such bytes take 'a'-10 instead of '0'.
	letters := (n + 0x0606060606060606) >> 4 & 0x0101010101010101
	return n + 0x3030303030303030 + letters*('a'-'0'-10)
}
