package fapilogfile

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// maxPooledBuffer keeps an unusually large batch's buffer from being pinned in the pool forever.
const maxPooledBuffer = 4 << 20

// encoder turns a batch into bytes in the configured format, each record once, and remembers where every
// record ends so that rotation never splits one.
type encoder struct {
	format string
	pretty envelope.PrettyOptions
	pool   sync.Pool
}

// encodedBatch is one batch's bytes; ends[i] is the offset just past record i.
type encodedBatch struct {
	entry envelope.Entry
	buf   []byte
	ends  []int
}

func newEncoder(format string, pretty envelope.PrettyOptions) *encoder {
	return &encoder{format: format, pretty: pretty, pool: sync.Pool{New: func() any { return &encodedBatch{} }}}
}

// encode encodes every record of ld.
func (enc *encoder) encode(ld plog.Logs, receivedAt time.Time) *encodedBatch {
	return enc.encodeResources(ld, nil, receivedAt)
}

// encodeResources encodes the records of the resource logs of ld at the given indexes (all of them when
// indexes is nil), in that order: the part of a batch that goes to one destination.
func (enc *encoder) encodeResources(ld plog.Logs, indexes []int, receivedAt time.Time) *encodedBatch {
	b := enc.pool.Get().(*encodedBatch)
	b.buf, b.ends = b.buf[:0], b.ends[:0]
	if indexes == nil {
		// envelope.ForEach computes the message_id's resource and scope part once per group, not per record.
		envelope.ForEach(ld, receivedAt, &b.entry, func(e *envelope.Entry, _ plog.LogRecord) { enc.append(b, e) })
		return b
	}
	rls := ld.ResourceLogs()
	for _, i := range indexes {
		rl := rls.At(i)
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				b.entry.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
				enc.append(b, &b.entry)
			}
		}
	}
	return b
}

func (enc *encoder) append(b *encodedBatch, e *envelope.Entry) {
	switch enc.format {
	case FormatText:
		b.buf = e.AppendText(b.buf)
	case FormatPretty:
		b.buf = e.AppendPretty(b.buf, enc.pretty)
	default:
		b.buf = e.AppendJSONLine(b.buf)
	}
	b.ends = append(b.ends, len(b.buf))
}

func (enc *encoder) release(b *encodedBatch) {
	if cap(b.buf) > maxPooledBuffer {
		b.buf = nil
	}
	enc.pool.Put(b)
}
