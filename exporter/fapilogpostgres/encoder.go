package fapilogpostgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// Binary COPY framing (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4).
var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00") // signature, flags, extension length
	copyTrailer = []byte{0xff, 0xff}                                             // field count -1
	nullField   = []byte{0xff, 0xff, 0xff, 0xff}                                 // length -1
)

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// jsonbVersion prefixes a jsonb value in binary format.
const jsonbVersion = 1

// rowBatch is one batch of records encoded as binary COPY tuples. Each record is encoded once; a range of rows
// can then be sent (and re-sent after a partial failure) without encoding again.
type rowBatch struct {
	tuples []byte
	// ends[i] is the offset in tuples where row i ends.
	ends  []int
	entry envelope.Entry
}

// maxPooledBytes keeps a pathological batch's buffer out of the pool.
const maxPooledBytes = 64 << 20

// reset empties b, keeping its memory.
func (b *rowBatch) reset() { b.tuples, b.ends = b.tuples[:0], b.ends[:0] }

func (b *rowBatch) len() int { return len(b.ends) }

// rows returns the tuples of rows [lo, hi).
func (b *rowBatch) rows(lo, hi int) []byte {
	start := 0
	if lo > 0 {
		start = b.ends[lo-1]
	}
	return b.tuples[start:b.ends[hi-1]]
}

// encode appends every record of ld as a COPY tuple. receivedAt stands in for missing timestamps.
func (p *tablePlan) encode(b *rowBatch, ld plog.Logs, receivedAt time.Time) {
	envelope.ForEach(ld, receivedAt, &b.entry, func(e *envelope.Entry, _ plog.LogRecord) {
		b.tuples = p.appendRow(b.tuples, e)
		b.ends = append(b.ends, len(b.tuples))
	})
}

// appendRow appends one record as a binary COPY tuple in the plan's column order.
func (p *tablePlan) appendRow(dst []byte, e *envelope.Entry) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.columns))) //nolint:gosec // a handful of columns
	for i := range p.columns {
		c := &p.columns[i]
		switch c.kind {
		case kindJSON, kindJSONB:
			lenAt := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			if c.kind == kindJSONB {
				dst = append(dst, jsonbVersion)
			}
			jsonAt := len(dst)
			if p.includeRaw {
				dst = e.AppendJSON(dst)
			} else {
				dst = p.appendExtractedObject(dst, e)
			}
			if c.kind == kindJSONB {
				replaceNULEscapes(dst[jsonAt:])
			}
			binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4)) //nolint:gosec // bounded by memory
		case kindTimestamp:
			dst = append(dst, 0, 0, 0, 8)
			dst = binary.BigEndian.AppendUint64(dst, uint64(pgMicros(e.Time()))) //nolint:gosec // two's complement on the wire
		default:
			s, ok := fieldValue(e, c.field)
			if !ok {
				dst = append(dst, nullField...)
				continue
			}
			lenAt := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			dst = appendText(dst, s, c.maxChars)
			binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4)) //nolint:gosec // bounded by memory
		}
	}
	return dst
}

// pgMicros is t, cut to the envelope's millisecond precision, in microseconds since PostgreSQL's epoch.
func pgMicros(t time.Time) int64 {
	return t.Unix()*1_000_000 + int64(t.Nanosecond()/1_000_000)*1_000 - pgEpochMicros
}

// fieldValue is the text of an extracted field; ok is false for an absent field (stored as NULL). level, logger
// and message are always present (INFO, root and "" by default).
func fieldValue(e *envelope.Entry, f extractField) (string, bool) {
	switch f.source {
	case sourceLevel:
		return e.Level(), true
	case sourceLogger:
		return e.Logger(), true
	case sourceMessage:
		return e.Message(), true
	case sourceMessageID:
		return e.MessageID(), true
	case sourceTimestamp:
		return e.Field("timestamp")
	}
	return e.Field(f.path)
}

// appendExtractedObject writes event for include_raw_json: false: the extracted fields as one JSON object, in
// extract_fields order, absent fields as null.
func (p *tablePlan) appendExtractedObject(dst []byte, e *envelope.Entry) []byte {
	dst = append(dst, '{')
	for i, f := range p.extracted {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, f.name...) // field names are plain ASCII identifiers
		dst = append(dst, '"', ':')
		s, ok := fieldValue(e, f)
		if !ok {
			dst = append(dst, "null"...)
			continue
		}
		dst = envelope.AppendJSONString(dst, s)
	}
	return append(dst, '}')
}

// appendText appends s as PostgreSQL text: NUL (which text cannot hold) and invalid UTF-8 become U+FFFD, and a
// value longer than maxChars characters (a varchar/char limit; 0 for none) is cut to it.
func appendText(dst []byte, s string, maxChars int) []byte {
	if (maxChars == 0 || len(s) <= maxChars) && strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return append(dst, s...)
	}
	n := 0
	for _, r := range s {
		if maxChars > 0 && n == maxChars {
			break
		}
		if r == 0 {
			r = utf8.RuneError
		}
		dst = utf8.AppendRune(dst, r) // range yields RuneError for an invalid byte
		n++
	}
	return dst
}

// replaceNULEscapes rewrites the JSON escape \u0000, which jsonb rejects, to \ufffd in place (same length).
func replaceNULEscapes(js []byte) {
	const esc = `\u0000`
	for from := 0; ; {
		i := bytes.Index(js[from:], []byte(esc))
		if i < 0 {
			return
		}
		i += from
		backslashes := 1
		for j := i - 1; j >= 0 && js[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 1 { // an escape, not an escaped backslash followed by "u0000"
			copy(js[i+2:], "fffd")
		}
		from = i + len(esc)
	}
}

// copyStream is the binary COPY data for rows [lo, hi) of a batch: header, tuples, trailer.
//
// pgconn.CopyFrom reads it from a goroutine of its own, and on some failures (the connection breaks, the server
// errors while data is still going out) returns without waiting for that goroutine. close, called when CopyFrom has
// returned, waits for a Read in progress and makes later ones read nothing, so that the batch can be encoded again
// (the next COPY of the same push, or the next push) while pgx's goroutine winds down.
type copyStream struct {
	mu     sync.Mutex
	parts  [3][]byte
	closed bool
}

// errStreamClosed ends a read of a COPY whose CopyFrom has already returned.
var errStreamClosed = errors.New("COPY data stream closed")

func newCopyStream(b *rowBatch, lo, hi int) *copyStream {
	return &copyStream{parts: [3][]byte{copyHeader, b.rows(lo, hi), copyTrailer}}
}

func (s *copyStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errStreamClosed
	}
	n := 0
	for i := range s.parts {
		if len(s.parts[i]) == 0 {
			continue
		}
		c := copy(p[n:], s.parts[i])
		s.parts[i] = s.parts[i][c:]
		n += c
		if n == len(p) {
			return n, nil
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (s *copyStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.parts = true, [3][]byte{}
}
