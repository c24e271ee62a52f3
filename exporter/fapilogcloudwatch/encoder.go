package fapilogcloudwatch

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// event is one record encoded: its message (the bare envelope JSON) lies in the batch body at [start, end).
type event struct {
	start, end int
	// timestamp is the record's own time in unix milliseconds (fapilog uses the time it sends at).
	timestamp int64
	// stream indexes encodedBatch.streams.
	stream int32
	// record is the record's position in the batch, in ResourceLogs/ScopeLogs/LogRecords order.
	record int32
}

// encodedBatch is a batch serialized once: every record's envelope appended to body, plus the stream each record
// goes to. The request builder sorts, splits and truncates events without encoding anything again.
type encodedBatch struct {
	body    []byte
	events  []event
	streams []string

	streamIndex map[string]int32
	name        []byte // scratch for resolving stream names
}

// encode replaces b's content with ld. e is scratch reused across calls; in steady state encoding allocates
// only when b's buffers must grow or a stream name is seen for the first time in this batch.
func (b *encodedBatch) encode(ld plog.Logs, receivedAt time.Time, names *streamTemplate, e *envelope.Entry) {
	b.body, b.events, b.streams = b.body[:0], b.events[:0], b.streams[:0]
	clear(b.streamIndex)
	static, isStatic := names.static()
	if isStatic {
		b.streams = append(b.streams, static)
	}
	for _, rl := range ld.ResourceLogs().All() {
		stream := int32(0)
		if !isStatic {
			stream = b.streamOf(rl.Resource(), names)
		}
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				e.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
				start := len(b.body)
				b.body = e.AppendJSON(b.body)
				b.events = append(b.events, event{
					start: start, end: len(b.body),
					timestamp: e.Time().UnixMilli(),
					stream:    stream,
					record:    int32(len(b.events)),
				})
			}
		}
	}
}

// streamOf resolves the stream name of a resource and returns its index, adding it when new.
func (b *encodedBatch) streamOf(resource pcommon.Resource, names *streamTemplate) int32 {
	b.name = names.appendName(b.name[:0], resource.Attributes())
	if i, ok := b.streamIndex[string(b.name)]; ok {
		return i
	}
	if b.streamIndex == nil {
		b.streamIndex = map[string]int32{}
	}
	name := string(b.name)
	i := int32(len(b.streams))
	b.streams = append(b.streams, name)
	b.streamIndex[name] = i
	return i
}
