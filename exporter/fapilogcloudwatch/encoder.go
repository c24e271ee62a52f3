package fapilogcloudwatch

import (
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// truncationMarker ends a message cut to max_event_size. The envelope JSON is no longer complete after a cut;
// the marker says so to whoever reads the event.
const truncationMarker = "...[truncated]"

// encoder turns a plog.Logs into a request when the collector hands it to the exporter, before the queue: every
// record is encoded once, routed to its log group and stream, and sized as CloudWatch counts it, so that the
// queue batches by the size of the PutLogEvents requests to come. An event larger than max_event_size is cut or
// marked dropped now; the request builder never changes a message.
type encoder struct {
	routes     *routes
	maxMessage int // max_event_size minus the per-event overhead
	truncate   bool
	// fixedDests is the one destination of every record when neither name has placeholders, shared by every
	// request (never changed).
	fixedDests []dest
	// bodies provides the buffers the records are encoded into.
	bodies *bodyBuffers
}

func newEncoder(cfg *Config, r *routes) encoder {
	enc := encoder{routes: r, maxMessage: int(cfg.MaxEventSize) - eventOverhead, truncate: cfg.Oversize == OversizeTruncate,
		bodies: new(bodyBuffers)}
	if r.fixed != nil {
		enc.fixedDests = []dest{*r.fixed}
	}
	return enc
}

// encodeScratch is the memory one conversion reuses.
type encodeScratch struct {
	entry envelope.Entry
	// destOfResource and resourceEnds say, with placeholders, the destination of each ResourceLogs and the
	// index of the record after its last.
	destOfResource []int32
	resourceEnds   []int
	destIndex      map[string]int32 // group + "\x00" + stream -> index in the request's dests
	// overflowed says, per ResourceLogs, whether its records go to the default group because max_destinations
	// was reached.
	overflowed []bool
	name       []byte
}

// encode makes the request of ld; receivedAt stands in for missing timestamps. It returns how many records were
// cut to max_event_size (oversize: truncate).
func (enc *encoder) encode(ld plog.Logs, receivedAt time.Time, s *encodeScratch) (req *logsRequest, truncated int) {
	n := ld.LogRecordCount()
	if n == 0 {
		return new(logsRequest), 0
	}
	c := chunk{events: make([]event, 0, n), dests: enc.fixedDests}
	if c.dests == nil {
		c.dests, c.refused = enc.resolve(ld, s)
	}
	body, recycled := enc.bodies.get(n)
	record, resource := 0, 0
	envelope.ForEach(ld, receivedAt, &s.entry, func(e *envelope.Entry, _ plog.LogRecord) {
		ev := event{start: len(body), timestamp: e.Time().UnixMilli()}
		if enc.fixedDests == nil {
			for record >= s.resourceEnds[resource] {
				resource++
			}
			ev.dest, ev.overflow = s.destOfResource[resource], s.overflowed[resource]
		}
		record++
		body = e.AppendJSON(body)
		ev.end = len(body)
		if ev.end-ev.start > enc.maxMessage {
			if enc.truncate {
				ev.end = truncateMessage(body, ev.start, ev.end, enc.maxMessage)
				truncated++
			} else {
				ev.end, ev.dropped = ev.start, true
			}
			body = body[:ev.end]
		}
		c.bytes += ev.size()
		c.events = append(c.events, ev)
	})
	c.body, recycled = enc.bodies.seal(body, recycled, n)
	return &logsRequest{chunks: []chunk{c}, items: n, bytes: c.bytes, recycled: recycled}, truncated
}

// resolve names the log group and stream of each ResourceLogs of ld (destOfResource, resourceEnds, overflowed)
// and returns the distinct destinations and the first group refused because max_destinations was reached.
func (enc *encoder) resolve(ld plog.Logs, s *encodeScratch) (dests []dest, firstRefused string) {
	clear(s.destIndex)
	if s.destIndex == nil {
		s.destIndex = map[string]int32{}
	}
	s.destOfResource, s.resourceEnds, s.overflowed = s.destOfResource[:0], s.resourceEnds[:0], s.overflowed[:0]
	end := 0
	for _, rl := range ld.ResourceLogs().All() {
		records := recordsOf(rl)
		end += records
		if records == 0 { // nothing to send: never admit a group (one of max_destinations) for it
			s.destOfResource = append(s.destOfResource, -1)
			s.resourceEnds = append(s.resourceEnds, end)
			s.overflowed = append(s.overflowed, false)
			continue
		}
		group, refused := enc.routes.groupOf(rl.Resource())
		s.overflowed = append(s.overflowed, refused != "")
		if firstRefused == "" {
			firstRefused = refused
		}
		s.name = append(append(s.name[:0], group...), 0)
		s.name = enc.routes.stream.AppendName(s.name, rl.Resource().Attributes())
		i, ok := s.destIndex[string(s.name)]
		if !ok {
			key := string(s.name)
			i = int32(len(dests))
			dests = append(dests, dest{group: group, stream: key[len(group)+1:]})
			s.destIndex[key] = i
		}
		s.destOfResource = append(s.destOfResource, i)
		s.resourceEnds = append(s.resourceEnds, end)
	}
	return dests, firstRefused
}

func recordsOf(rl plog.ResourceLogs) int {
	n := 0
	for _, sl := range rl.ScopeLogs().All() {
		n += sl.LogRecords().Len()
	}
	return n
}

// truncateMessage cuts the message body[start:end] to at most limit bytes, at a UTF-8 boundary (the envelope is
// valid UTF-8, so the cut one stays valid), and ends it with truncationMarker, written over bytes that belong to
// the same message. It returns the message's new end.
func truncateMessage(body []byte, start, end, limit int) int {
	cut := start + limit - len(truncationMarker)
	for cut > start && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return cut + copy(body[cut:end], truncationMarker)
}
