package fapilogcloudwatch

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// event is one record encoded: its message (the bare envelope JSON) lies in the batch body at [start, end).
type event struct {
	start, end int
	// timestamp is the record's own time in unix milliseconds (fapilog uses the time it sends at).
	timestamp int64
	// dest indexes encodedBatch.dests: the record's log group and stream.
	dest int32
	// record is the record's position in the batch, in ResourceLogs/ScopeLogs/LogRecords order.
	record int32
}

// dest is one log stream of one log group.
type dest struct {
	group, stream string
}

// encodedBatch is a batch serialized once: every record's envelope appended to body, plus the group and stream
// each record goes to. The request builder sorts, splits and truncates events without encoding anything again.
type encodedBatch struct {
	body   []byte
	events []event
	dests  []dest

	destIndex map[string]int32 // group + "\x00" + stream -> index in dests
	name      []byte           // scratch for resolving names
}

// encode replaces b's content with ld. e is scratch reused across calls; in steady state encoding allocates
// only when b's buffers must grow or a destination is seen for the first time in this batch.
func (b *encodedBatch) encode(ctx context.Context, ld plog.Logs, receivedAt time.Time, names *routes, e *envelope.Entry) {
	b.body, b.events, b.dests = b.body[:0], b.events[:0], b.dests[:0]
	clear(b.destIndex)
	if names.fixed != nil {
		b.dests = append(b.dests, *names.fixed)
	}
	for _, rl := range ld.ResourceLogs().All() {
		d := int32(0)
		if names.fixed == nil {
			d = b.destOf(ctx, rl, names)
		}
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				e.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
				start := len(b.body)
				b.body = e.AppendJSON(b.body)
				b.events = append(b.events, event{
					start: start, end: len(b.body),
					timestamp: e.Time().UnixMilli(),
					dest:      d,
					record:    int32(len(b.events)),
				})
			}
		}
	}
}

// destOf resolves the group and stream of a resource's records and returns their index, adding it when new.
func (b *encodedBatch) destOf(ctx context.Context, rl plog.ResourceLogs, names *routes) int32 {
	group := names.groupOf(ctx, rl.Resource(), recordsOf(rl))
	b.name = append(append(b.name[:0], group...), 0)
	b.name = names.stream.AppendName(b.name, rl.Resource().Attributes())
	if i, ok := b.destIndex[string(b.name)]; ok {
		return i
	}
	if b.destIndex == nil {
		b.destIndex = map[string]int32{}
	}
	key := string(b.name)
	i := int32(len(b.dests))
	b.dests = append(b.dests, dest{group: group, stream: key[len(group)+1:]})
	b.destIndex[key] = i
	return i
}

func recordsOf(rl plog.ResourceLogs) int {
	n := 0
	for _, sl := range rl.ScopeLogs().All() {
		n += sl.LogRecords().Len()
	}
	return n
}
