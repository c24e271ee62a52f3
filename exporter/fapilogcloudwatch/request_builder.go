package fapilogcloudwatch

import (
	"cmp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

const (
	// truncationMarker ends a message cut to max_event_size. The envelope JSON is no longer complete after a
	// cut; the marker says so to whoever reads the event.
	truncationMarker = "...[truncated]"

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
}

// plan is what the request builder made of a batch: the requests in order and, in the delivery plan, the
// request that carries each record of the batch, or delivery.LeftOut when CloudWatch would refuse it (too old,
// too new, too large).
type plan struct {
	delivery.Plan
	requests []putRequest
	// counts of records left out or changed: the left-out ones are reported through Plan.LeftOut, the
	// truncated ones (delivered, but cut) in the exporter's own metric.
	tooOld, tooNew, oversize, truncated int

	// The requests' events point into these, allocated once per batch size.
	kept       []event
	input      []types.InputLogEvent
	messages   []string
	timestamps []int64
}

func (p *plan) reset(records int) {
	p.Plan.Reset(records)
	for i := range p.Owner {
		p.Owner[i] = delivery.LeftOut
	}
	p.requests, p.kept = p.requests[:0], p.kept[:0]
	p.tooOld, p.tooNew, p.oversize, p.truncated = 0, 0, 0, 0
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
	clear(p.messages)
	clear(p.requests)
	p.requests = p.requests[:0]
}

// requestBuilder turns an encoded batch into PutLogEvents requests that obey CloudWatch's limits: at most
// maxEvents events and maxBytes bytes (each message plus 26) per request, events sorted by timestamp, first
// and last event at most 24 h apart, one stream of one group per request. An event larger than max_event_size
// is left out or truncated; it never fails the rest of the batch.
type requestBuilder struct {
	maxEvents  int
	maxBytes   int
	maxMessage int // max_event_size minus the per-event overhead
	truncate   bool
	maxSpan    int64 // milliseconds
}

func newRequestBuilder(cfg *Config) requestBuilder {
	return requestBuilder{
		maxEvents:  maxEventsPerRequest,
		maxBytes:   maxRequestBytes,
		maxMessage: int(cfg.MaxEventSize) - eventOverhead,
		truncate:   cfg.Oversize == OversizeTruncate,
		maxSpan:    maxRequestSpan.Milliseconds(),
	}
}

// build plans the requests for b as of now (the reference for the 14 days / 2 hours window). Truncation
// rewrites the end of an oversized message inside b.body.
func (rb *requestBuilder) build(b *encodedBatch, now time.Time, p *plan) {
	p.reset(len(b.events))
	defer p.finish(rb.maxMessage + eventOverhead)
	oldest, newest := now.Add(-maxEventAge).UnixMilli(), now.Add(maxEventAhead).UnixMilli()
	for _, ev := range b.events {
		switch {
		case ev.timestamp < oldest:
			p.tooOld++
			continue
		case ev.timestamp > newest:
			p.tooNew++
			continue
		case ev.end-ev.start > rb.maxMessage:
			if !rb.truncate {
				p.oversize++
				continue
			}
			ev.end = truncateMessage(b.body, ev.start, ev.end, rb.maxMessage)
			p.truncated++
		}
		p.kept = append(p.kept, ev)
	}
	if len(p.kept) == 0 {
		return
	}
	// One group and stream per request and ascending timestamps within it; the record position breaks ties so
	// that records with the same millisecond keep their order.
	slices.SortFunc(p.kept, func(a, b event) int {
		if c := cmp.Compare(a.dest, b.dest); c != 0 {
			return c
		}
		if c := cmp.Compare(a.timestamp, b.timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.record, b.record)
	})
	rb.materialize(b, p)
	rb.split(p)
}

// materialize makes the SDK's events: one copy of the body as a string, every message a substring of it, so
// building the requests allocates per batch, never per record.
func (rb *requestBuilder) materialize(b *encodedBatch, p *plan) {
	n := len(p.kept)
	if cap(p.input) < n {
		p.input = make([]types.InputLogEvent, n)
		p.messages = make([]string, n)
		p.timestamps = make([]int64, n)
	}
	p.input, p.messages, p.timestamps = p.input[:n], p.messages[:n], p.timestamps[:n]
	text := string(b.body)
	for i, ev := range p.kept {
		p.messages[i] = text[ev.start:ev.end]
		p.timestamps[i] = ev.timestamp
		p.input[i] = types.InputLogEvent{Message: &p.messages[i], Timestamp: &p.timestamps[i]}
	}
}

// split cuts the sorted events into requests, greedily, in order.
func (rb *requestBuilder) split(p *plan) {
	first, bytes := 0, 0
	for i, ev := range p.kept {
		size := ev.end - ev.start + eventOverhead
		head := p.kept[first]
		if i > first && (ev.dest != head.dest || i-first == rb.maxEvents || bytes+size > rb.maxBytes || ev.timestamp-head.timestamp > rb.maxSpan) {
			p.requests = append(p.requests, putRequest{dest: head.dest, events: p.input[first:i], bytes: bytes})
			first, bytes = i, 0
		}
		bytes += size
		p.Owner[ev.record] = int32(len(p.requests))
	}
	p.requests = append(p.requests, putRequest{dest: p.kept[first].dest, events: p.input[first:], bytes: bytes})
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
