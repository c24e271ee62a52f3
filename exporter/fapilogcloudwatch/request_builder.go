package fapilogcloudwatch

import (
	"cmp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

const (
	// maxRequestSpan is the largest time between the first and the last event of one request.
	maxRequestSpan = 24 * time.Hour
	// maxEventAge and maxEventAhead bound the timestamps CloudWatch accepts: events older than 14 days or more
	// than 2 hours in the future are rejected by the service, so they are left out (and counted) before sending.
	maxEventAge   = 14 * 24 * time.Hour
	maxEventAhead = 2 * time.Hour
)

// Reasons of the records CloudWatch refuses for good, the same whether the request builder leaves them out on
// the service's behalf or CloudWatch reports them in rejectedLogEventsInfo.
const (
	reasonTooOld = "too_old"
	reasonTooNew = "too_new"
	// reasonExpired: older than the log group's retention (CloudWatch's expiredLogEventEndIndex).
	reasonExpired = "expired"
	// reasonTooLarge: larger than max_event_size with oversize: drop.
	reasonTooLarge = "record_too_large"
)

// putRequest is one PutLogEvents call: events of one stream of one group, sorted by timestamp, within the
// service limits.
type putRequest struct {
	dest   int32
	events []types.InputLogEvent
	// bytes is the request's size as CloudWatch counts it: the messages plus 26 bytes per event.
	bytes int
	// overflow is how many of its events go to the default group because max_destinations was reached.
	overflow int
}

// plan is what the request builder made of a batch: the requests in order and, in the delivery plan, the
// request that carries each record of the batch, or delivery.LeftOut when CloudWatch would refuse it (too old,
// too new, too large).
type plan struct {
	delivery.Plan
	requests []putRequest
	// dests are the batch's destinations; putRequest.dest indexes them.
	dests     []dest
	destIndex map[dest]int32
	// counts of records left out, reported through Plan.LeftOut.
	tooOld, tooNew, oversize int
	// refused is a log group max_destinations kept records of the batch out of, "" when none.
	refused string

	// kept are the events to send, sorted; the requests' events point into them.
	kept  []keptEvent
	input []types.InputLogEvent
	local []int32 // a chunk's dest -> index in dests
}

// keptEvent is an event to send: its message is a substring of its chunk's body, never a copy.
type keptEvent struct {
	message   string
	timestamp int64
	dest      int32
	// record is the event's position in the batch, in push order.
	record int32
	// overflow: see event.overflow.
	overflow bool
}

func (p *plan) reset(records int) {
	p.Plan.Reset(records)
	for i := range p.Owner {
		p.Owner[i] = delivery.LeftOut
	}
	p.requests, p.kept, p.dests = p.requests[:0], p.kept[:0], p.dests[:0]
	clear(p.destIndex)
	p.tooOld, p.tooNew, p.oversize, p.refused = 0, 0, 0, ""
}

// finish completes the delivery plan once the requests are built.
func (p *plan) finish(maxEventSize int) {
	p.Requests = len(p.requests)
	if p.tooOld > 0 {
		p.LeftOut = append(p.LeftOut, delivery.Rejection{Reason: reasonTooOld, Records: p.tooOld,
			Detail: []zap.Field{zap.Duration("max_age", maxEventAge)}})
	}
	if p.tooNew > 0 {
		p.LeftOut = append(p.LeftOut, delivery.Rejection{Reason: reasonTooNew, Records: p.tooNew,
			Detail: []zap.Field{zap.Duration("max_ahead", maxEventAhead)}})
	}
	if p.oversize > 0 {
		p.LeftOut = append(p.LeftOut, delivery.Rejection{Reason: reasonTooLarge, Records: p.oversize,
			Detail: []zap.Field{zap.Int("max_event_size", maxEventSize)}})
	}
}

// release drops the references to the batch's messages so that the pooled plan does not keep them alive.
func (p *plan) release() {
	clear(p.kept)
	clear(p.input)
	clear(p.requests)
	clear(p.dests)
	p.requests = p.requests[:0]
}

// globalDests maps the destinations of one chunk to the batch's.
func (p *plan) globalDests(dests []dest) []int32 {
	if p.destIndex == nil {
		p.destIndex = map[dest]int32{}
	}
	p.local = p.local[:0]
	for _, d := range dests {
		i, ok := p.destIndex[d]
		if !ok {
			i = int32(len(p.dests))
			p.dests = append(p.dests, d)
			p.destIndex[d] = i
		}
		p.local = append(p.local, i)
	}
	return p.local
}

// requestBuilder turns a batch of encoded events into PutLogEvents requests that obey CloudWatch's limits: at
// most maxEvents events and maxBytes bytes (each message plus 26) per request, events sorted by timestamp, first
// and last event at most 24 h apart, one stream of one group per request. Events CloudWatch would refuse (too
// old, too new, or dropped as larger than max_event_size when they were encoded) are left out and reported; they
// never fail the rest of the batch.
type requestBuilder struct {
	maxEvents    int
	maxBytes     int
	maxEventSize int
	maxSpan      int64 // milliseconds
}

func newRequestBuilder(cfg *Config) requestBuilder {
	return requestBuilder{
		maxEvents:    maxEventsPerRequest,
		maxBytes:     maxRequestBytes,
		maxEventSize: int(cfg.MaxEventSize),
		maxSpan:      maxRequestSpan.Milliseconds(),
	}
}

// build plans the requests for req as of now (the reference for the 14 days / 2 hours window).
func (rb *requestBuilder) build(req *logsRequest, now time.Time, p *plan) {
	p.reset(req.items)
	defer p.finish(rb.maxEventSize)
	oldest, newest := now.Add(-maxEventAge).UnixMilli(), now.Add(maxEventAhead).UnixMilli()
	record := int32(0)
	for _, c := range req.chunks {
		local := p.globalDests(c.dests)
		if p.refused == "" {
			p.refused = c.refused
		}
		for _, ev := range c.events {
			i := record
			record++
			switch {
			case ev.dropped:
				p.oversize++
				continue
			case ev.timestamp < oldest:
				p.tooOld++
				continue
			case ev.timestamp > newest:
				p.tooNew++
				continue
			}
			p.kept = append(p.kept, keptEvent{message: c.body[ev.start:ev.end], timestamp: ev.timestamp, dest: local[ev.dest],
				record: i, overflow: ev.overflow})
		}
	}
	if len(p.kept) == 0 {
		return
	}
	// One group and stream per request and ascending timestamps within it; the record position breaks ties so
	// that records with the same millisecond keep their order.
	slices.SortFunc(p.kept, func(a, b keptEvent) int {
		if c := cmp.Compare(a.dest, b.dest); c != 0 {
			return c
		}
		if c := cmp.Compare(a.timestamp, b.timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.record, b.record)
	})
	rb.materialize(p)
	rb.split(p)
}

// materialize makes the SDK's events: each points at its kept event's message and timestamp, so building the
// requests copies no message and allocates per batch size, never per record.
func (rb *requestBuilder) materialize(p *plan) {
	n := len(p.kept)
	if cap(p.input) < n {
		p.input = make([]types.InputLogEvent, n)
	}
	p.input = p.input[:n]
	for i := range p.kept {
		p.input[i] = types.InputLogEvent{Message: &p.kept[i].message, Timestamp: &p.kept[i].timestamp}
	}
}

// split cuts the sorted events into requests, greedily, in order.
func (rb *requestBuilder) split(p *plan) {
	first, bytes, overflow := 0, 0, 0
	for i, ev := range p.kept {
		size := len(ev.message) + eventOverhead
		head := p.kept[first]
		if i > first && (ev.dest != head.dest || i-first == rb.maxEvents || bytes+size > rb.maxBytes || ev.timestamp-head.timestamp > rb.maxSpan) {
			p.requests = append(p.requests, putRequest{dest: head.dest, events: p.input[first:i], bytes: bytes, overflow: overflow})
			first, bytes, overflow = i, 0, 0
		}
		bytes += size
		if ev.overflow {
			overflow++
		}
		p.Owner[ev.record] = int32(len(p.requests))
	}
	p.requests = append(p.requests, putRequest{dest: p.kept[first].dest, events: p.input[first:], bytes: bytes, overflow: overflow})
}
