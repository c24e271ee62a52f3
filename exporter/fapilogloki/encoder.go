package fapilogloki

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// Field numbers of Loki's push.proto (package logproto), which is AGPL-licensed and therefore not imported:
//
//	message PushRequest      { repeated StreamAdapter streams = 1; }
//	message StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; }
//	message EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
//	                           repeated LabelPairAdapter structuredMetadata = 3; }
//	message LabelPairAdapter { string name = 1; string value = 2; }
//	message Timestamp        { int64 seconds = 1; int32 nanos = 2; }
const (
	fieldPushStreams     protowire.Number = 1
	fieldStreamLabels    protowire.Number = 1
	fieldStreamEntries   protowire.Number = 2
	fieldEntryTimestamp  protowire.Number = 1
	fieldEntryLine       protowire.Number = 2
	fieldEntryMetadata   protowire.Number = 3
	fieldPairName        protowire.Number = 1
	fieldPairValue       protowire.Number = 2
	fieldTimestampSecond protowire.Number = 1
	fieldTimestampNanos  protowire.Number = 2
)

// The tags written, each one byte since every field number is below 16: appended as constants rather than
// through protowire.AppendTag's varint loop, ten times a record.
const (
	tagPushStreams     = byte(fieldPushStreams)<<3 | byte(protowire.BytesType)
	tagStreamLabels    = byte(fieldStreamLabels)<<3 | byte(protowire.BytesType)
	tagStreamEntries   = byte(fieldStreamEntries)<<3 | byte(protowire.BytesType)
	tagEntryTimestamp  = byte(fieldEntryTimestamp)<<3 | byte(protowire.BytesType)
	tagEntryLine       = byte(fieldEntryLine)<<3 | byte(protowire.BytesType)
	tagEntryMetadata   = byte(fieldEntryMetadata)<<3 | byte(protowire.BytesType)
	tagPairName        = byte(fieldPairName)<<3 | byte(protowire.BytesType)
	tagPairValue       = byte(fieldPairValue)<<3 | byte(protowire.BytesType)
	tagTimestampSecond = byte(fieldTimestampSecond)<<3 | byte(protowire.VarintType)
	tagTimestampNanos  = byte(fieldTimestampNanos)<<3 | byte(protowire.VarintType)
)

// encoder turns the streams of one chunk of a batch into a request body, in the configured encoding.
type encoder struct {
	encoding  Encoding
	labels    *labeler
	metaNames []string
	bodies    *bodyPool
}

func newEncoder(encoding Encoding, labels *labeler, metaNames []string) encoder {
	return encoder{encoding: encoding, labels: labels, metaNames: metaNames, bodies: &bodyPool{}}
}

// encodeScratch is reused from request to request: nothing in it outlives an encode call.
type encodeScratch struct {
	labels      []byte
	labelSpans  []span
	streamSizes []int
	entrySizes  []int
	pb          []byte
	snappy      []byte
}

func (enc *encoder) contentType() string {
	if enc.encoding == EncodingJSON {
		return contentTypeJSON
	}
	return contentTypeProtobuf
}

// encode returns the body of chunk c of b, held by the caller until it releases it.
func (enc *encoder) encode(b *batch, c chunk, s *encodeScratch) *requestBody {
	if enc.encoding == EncodingJSON {
		return enc.encodeJSON(b, c)
	}
	return enc.encodeProtobuf(b, c, s)
}

// appendLabels appends the stream's label set in Prometheus text form, as Loki expects it:
// {a="x", b="y"} with names sorted; labels without a value are left out.
func (enc *encoder) appendLabels(dst []byte, values []string) []byte {
	dst = append(dst, '{')
	first := true
	for i := range enc.labels.defs {
		d := &enc.labels.defs[i]
		v := d.valueIn(values)
		if v == "" {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = append(dst, d.name...)
		dst = append(dst, '=')
		dst = strconv.AppendQuote(dst, v) // values are sanitised ASCII: plain "v"
	}
	return append(dst, '}')
}

// splitNanos turns unix nanoseconds into a protobuf Timestamp's seconds and non-negative nanos.
func splitNanos(ns int64) (seconds int64, nanos int32) {
	seconds, rem := ns/1e9, ns%1e9
	if rem < 0 {
		seconds, rem = seconds-1, rem+1e9
	}
	return seconds, int32(rem)
}

// encodeProtobuf writes a logproto.PushRequest with protowire, sizing every nested message first so that the
// message is written in one pass into a buffer of its exact size, then compresses it as a snappy block (what Loki
// reads from a protobuf push: no Content-Encoding, the body itself is snappy).
func (enc *encoder) encodeProtobuf(b *batch, c chunk, s *encodeScratch) *requestBody {
	streams := b.streams[c.start:c.end]
	base := streams[0].entries.start
	entries := b.entriesOf(c)
	s.labels, s.labelSpans = s.labels[:0], s.labelSpans[:0]
	s.streamSizes = resize(s.streamSizes, len(streams))
	s.entrySizes = resize(s.entrySizes, len(entries))

	total := 0
	for i := range streams {
		st := &streams[i]
		start := len(s.labels)
		s.labels = enc.appendLabels(s.labels, b.streamValues(st))
		s.labelSpans = append(s.labelSpans, span{start, len(s.labels)})
		size := sizeOfBytesField(len(s.labels) - start)
		for j := st.entries.start; j < st.entries.end; j++ {
			n := enc.entrySize(b, &b.entries[j])
			s.entrySizes[j-base] = n
			size += sizeOfBytesField(n)
		}
		s.streamSizes[i] = size
		total += sizeOfBytesField(size)
	}

	pb := s.pb[:0]
	if cap(pb) < total {
		pb = make([]byte, 0, total)
	}
	for i := range streams {
		st := &streams[i]
		pb = append(pb, tagPushStreams)
		pb = protowire.AppendVarint(pb, uint64(s.streamSizes[i]))
		ls := s.labelSpans[i]
		pb = append(pb, tagStreamLabels)
		pb = protowire.AppendBytes(pb, s.labels[ls.start:ls.end])
		for j := st.entries.start; j < st.entries.end; j++ {
			pb = append(pb, tagStreamEntries)
			pb = protowire.AppendVarint(pb, uint64(s.entrySizes[j-base]))
			pb = enc.appendEntry(pb, b, &b.entries[j])
		}
	}
	s.pb = pb
	// Compress into scratch sized for the worst case, then copy into a body of about the compressed size: typical
	// batches compress 5-10x, and a body lives as long as its request.
	if need := s2.MaxEncodedLen(len(pb)); cap(s.snappy) < need {
		s.snappy = make([]byte, need)
	}
	compressed := s2.EncodeSnappy(s.snappy[:cap(s.snappy)], pb)
	body := enc.bodies.get(len(compressed))
	body.buf = append(body.buf, compressed...)
	return body
}

func sizeOfBytesField(n int) int { return 1 + protowire.SizeBytes(n) } // every field number used is below 16

func sizeOfTimestamp(ns int64) int {
	seconds, nanos := splitNanos(ns)
	return sizeOfSplitTimestamp(seconds, nanos)
}

func sizeOfSplitTimestamp(seconds int64, nanos int32) int {
	n := 0
	if seconds != 0 {
		n += 1 + protowire.SizeVarint(uint64(seconds))
	}
	if nanos != 0 {
		n += 1 + protowire.SizeVarint(uint64(nanos))
	}
	return n
}

func (enc *encoder) pairSize(p *metaPair) int {
	return sizeOfBytesField(len(enc.metaNames[p.name])) + sizeOfBytesField(len(p.value))
}

func (enc *encoder) entrySize(b *batch, e *entry) int {
	n := sizeOfBytesField(sizeOfTimestamp(e.ns)) + sizeOfBytesField(e.line.end-e.line.start)
	for i := e.meta.start; i < e.meta.end; i++ {
		n += sizeOfBytesField(enc.pairSize(&b.meta[i]))
	}
	return n
}

func (enc *encoder) appendEntry(pb []byte, b *batch, e *entry) []byte {
	seconds, nanos := splitNanos(e.ns)
	pb = append(pb, tagEntryTimestamp, byte(sizeOfSplitTimestamp(seconds, nanos))) // at most 17: one byte
	if seconds != 0 {
		pb = append(pb, tagTimestampSecond)
		pb = protowire.AppendVarint(pb, uint64(seconds))
	}
	if nanos != 0 {
		pb = append(pb, tagTimestampNanos)
		pb = protowire.AppendVarint(pb, uint64(nanos))
	}
	pb = append(pb, tagEntryLine)
	pb = protowire.AppendBytes(pb, b.arena[e.line.start:e.line.end])
	for i := e.meta.start; i < e.meta.end; i++ {
		p := &b.meta[i]
		pb = append(pb, tagEntryMetadata)
		pb = protowire.AppendVarint(pb, uint64(enc.pairSize(p)))
		pb = append(pb, tagPairName)
		pb = protowire.AppendString(pb, enc.metaNames[p.name])
		pb = append(pb, tagPairValue)
		pb = protowire.AppendString(pb, p.value)
	}
	return pb
}

// encodeJSON writes Loki's JSON push format:
// {"streams":[{"stream":{"a":"x"},"values":[["<unix ns>","<line>"],["<unix ns>","<line>",{"k":"v"}]]}]}
func (enc *encoder) encodeJSON(b *batch, c chunk) *requestBody {
	entries := b.entriesOf(c)
	size := 16
	for i := range entries {
		e := &entries[i]
		n := e.line.end - e.line.start
		size += n + n/8 + 32 + 64*(e.meta.end-e.meta.start)
	}
	body := enc.bodies.get(size + 64*(c.end-c.start))
	buf := append(body.buf, `{"streams":[`...)
	for i := c.start; i < c.end; i++ {
		st := &b.streams[i]
		if i > c.start {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"stream":{`...)
		values, first := b.streamValues(st), true
		for k := range enc.labels.defs {
			d := &enc.labels.defs[k]
			v := d.valueIn(values)
			if v == "" {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = envelope.AppendJSONString(buf, d.name)
			buf = append(buf, ':')
			buf = envelope.AppendJSONString(buf, v)
		}
		buf = append(buf, `},"values":[`...)
		for j := st.entries.start; j < st.entries.end; j++ {
			e := &b.entries[j]
			if j > st.entries.start {
				buf = append(buf, ',')
			}
			buf = append(buf, `["`...)
			buf = strconv.AppendInt(buf, e.ns, 10)
			buf = append(buf, `",`...)
			buf = appendLineAsJSONString(buf, b.arena[e.line.start:e.line.end])
			if e.meta.end > e.meta.start {
				buf = append(buf, ",{"...)
				for m := e.meta.start; m < e.meta.end; m++ {
					p := &b.meta[m]
					if m > e.meta.start {
						buf = append(buf, ',')
					}
					buf = envelope.AppendJSONString(buf, enc.metaNames[p.name])
					buf = append(buf, ':')
					buf = envelope.AppendJSONString(buf, p.value)
				}
				buf = append(buf, '}')
			}
			buf = append(buf, ']')
		}
		buf = append(buf, "]}"...)
	}
	body.buf = append(buf, "]}"...)
	return body
}

// appendLineAsJSONString appends line, an envelope written by envelope.Entry.AppendJSON, as a JSON string. The
// encoder writes valid UTF-8 and escapes control characters, U+2028 and U+2029 inside its own strings, so only
// quotes and backslashes need escaping here: the result is what envelope.AppendJSONString writes
// (TestAppendLineAsJSONString_IsTheEnvelopesEscaping), found eight bytes at a time. An envelope has a quote every
// ten bytes or so, which the general escaper handles one by one, rescanning after each.
func appendLineAsJSONString(dst, line []byte) []byte {
	dst = append(dst, '"')
	start, i := 0, 0
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:])
		for m := zeroBytes(x^quotes) | zeroBytes(x^backslashes); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)/8
			dst = append(dst, line[start:j]...)
			dst = append(dst, '\\', line[j])
			start = j + 1
		}
	}
	for ; i < len(line); i++ {
		if c := line[i]; c == '"' || c == '\\' {
			dst = append(dst, line[start:i]...)
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	dst = append(dst, line[start:]...)
	return append(dst, '"')
}

const (
	quotes      = 0x2222222222222222 // '"' in every byte
	backslashes = 0x5c5c5c5c5c5c5c5c // '\\' in every byte
	low7        = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes has the high bit of each byte of x that is zero set, and no other bit: unlike the shorter
// (x-0x01..)&^x&0x80.. it never carries into the next byte, so every bit it sets is a match.
func zeroBytes(x uint64) uint64 {
	return ^((x&low7 + low7) | x | low7)
}

func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}
