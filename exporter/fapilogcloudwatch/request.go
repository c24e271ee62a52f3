package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// logsRequest is what the exporter queues and batches: records already encoded as CloudWatch events. It is the
// exporter's own exporterhelper request (xexporterhelper.NewLogsRequest) so that a batch can be measured the way
// CloudWatch measures a PutLogEvents request: its BytesSize is the messages plus 26 bytes per event, and
// MergeSplit cuts batches at the service limits. With the default batching (sizer bytes, min_size = max_size =
// 1,048,576), every batch the queue flushes under load is one full PutLogEvents request per log stream.
//
// Merging and splitting move no bytes: a request is a list of chunks, each a slice of the events of one
// converted plog.Logs over that conversion's body, which no one changes once it is built.
type logsRequest struct {
	chunks []chunk
	// items counts the events (oversize ones left out included: each is a record of the push); bytes is the
	// CloudWatch size of those that will be sent.
	items, bytes int
	// recycled is the buffer under the body of a request the converter made, given back when the in-memory queue
	// is done with the request (bodyRefs); nil for the batches and retry requests made from it.
	recycled *[]byte
}

// chunk is events of one conversion, in push order, with the body their messages lie in and the destinations
// their dest fields index.
type chunk struct {
	body   string
	events []event
	dests  []dest
	// bytes is the CloudWatch size of events.
	bytes int
	// refused is a log group that max_destinations kept records of this conversion out of (their events are
	// marked overflow), for the log line that counts them; "" when none was.
	refused string
}

// event is one record encoded: its message (the bare envelope JSON) lies in its chunk's body at [start, end).
type event struct {
	start, end int
	// timestamp is the record's own time in unix milliseconds (fapilog uses the time it sends at).
	timestamp int64
	// dest indexes the chunk's dests: the record's log group and stream.
	dest int32
	// overflow: the record goes to the default group because max_destinations was reached; it is counted as
	// such once delivered or refused for good.
	overflow bool
	// dropped: larger than max_event_size with oversize: drop. It holds no message and is reported as refused
	// (record_too_large) by the push that carries it, once: a retry never carries it again. It weighs
	// eventOverhead bytes all the same, so that a request of dropped records alone is not empty for the queue,
	// which would discard it unreported.
	dropped bool
}

// dest is one log stream of one log group.
type dest struct {
	group, stream string
}

// size is the event's share of a PutLogEvents request as CloudWatch counts it (a dropped event holds no message).
func (ev event) size() int { return ev.end - ev.start + eventOverhead }

var (
	_ xexporterhelper.Request             = (*logsRequest)(nil)
	_ xexporterhelper.RequestErrorHandler = (*logsRequest)(nil)
)

// ItemsCount is the number of records.
func (r *logsRequest) ItemsCount() int { return r.items }

// BytesSize is the request's size as CloudWatch counts it against its 1 MiB limit: the messages plus 26 bytes
// per event. It is also what the queue's bytes sizer bounds: the events' messages are what the request holds.
func (r *logsRequest) BytesSize() int { return r.bytes }

// MergeSplit appends other to r and cuts the result at maxSize: items (records) with the items sizer; with the
// bytes sizer, the CloudWatch size and CloudWatch's 10,000 events per request, so that each batch before the last
// fills one PutLogEvents request (per log stream). Neither request is changed; bodies are shared, not copied.
func (r *logsRequest) MergeSplit(_ context.Context, maxSize int, szt exporterhelper.RequestSizerType, other xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	merged := r
	if other != nil {
		o, ok := other.(*logsRequest)
		if !ok {
			return nil, fmt.Errorf("cannot merge a %T into a CloudWatch request", other)
		}
		merged = &logsRequest{
			chunks: append(slices.Clip(r.chunks), o.chunks...),
			items:  r.items + o.items,
			bytes:  r.bytes + o.bytes,
		}
	}
	maxItems, maxBytes := math.MaxInt, math.MaxInt
	switch szt {
	case exporterhelper.RequestSizerTypeItems:
		maxItems = maxSize
	case exporterhelper.RequestSizerTypeBytes:
		maxItems, maxBytes = maxEventsPerRequest, maxSize
	}
	if maxSize <= 0 || (merged.items <= maxItems && merged.bytes <= maxBytes) {
		return []xexporterhelper.Request{merged}, nil
	}
	return merged.split(maxItems, maxBytes), nil
}

// split cuts r greedily, in push order, into requests of at most maxItems events and maxBytes bytes; an event
// larger than maxBytes on its own makes a request of its own.
func (r *logsRequest) split(maxItems, maxBytes int) []xexporterhelper.Request {
	var out []xexporterhelper.Request
	cur := new(logsRequest)
	for _, c := range r.chunks {
		if cur.items+len(c.events) <= maxItems && cur.bytes+c.bytes <= maxBytes {
			cur.add(c)
			continue
		}
		from, bytes := 0, 0
		for i, ev := range c.events {
			size := ev.size()
			taken := i - from
			if cur.items+taken > 0 && (cur.items+taken+1 > maxItems || cur.bytes+bytes+size > maxBytes) {
				cur.add(c.slice(from, i, bytes))
				out = append(out, cur)
				cur, from, bytes = new(logsRequest), i, 0
			}
			bytes += size
		}
		cur.add(c.slice(from, len(c.events), bytes))
	}
	if cur.items > 0 || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// add appends chunk c (when it holds events).
func (r *logsRequest) add(c chunk) {
	if len(c.events) == 0 {
		return
	}
	r.chunks = append(r.chunks, c)
	r.items += len(c.events)
	r.bytes += c.bytes
}

// slice is events [from, to) of c, whose CloudWatch size is bytes. The events are shared, capped so that no
// append reaches the others.
func (c chunk) slice(from, to, bytes int) chunk {
	return chunk{body: c.body, events: c.events[from:to:to], dests: c.dests, bytes: bytes, refused: c.refused}
}

// subset returns the events of r for which keep (called once per event, in push order) is true, in a new
// request sharing r's bodies.
func (r *logsRequest) subset(keep func(i int) bool) *logsRequest {
	out, i := new(logsRequest), 0
	for _, c := range r.chunks {
		kept, bytes := make([]event, 0, len(c.events)), 0
		for _, ev := range c.events {
			if keep(i) {
				kept = append(kept, ev)
				bytes += ev.size()
			}
			i++
		}
		out.add(chunk{body: c.body, events: slices.Clip(kept), dests: c.dests, bytes: bytes, refused: c.refused})
	}
	return out
}

// OnError returns the request to retry after err: only the records push said are still to deliver when some
// were delivered or refused, else r as it is.
func (r *logsRequest) OnError(err error) xexporterhelper.Request {
	if partial, ok := errors.AsType[*partialFailure](err); ok {
		return partial.rest
	}
	return r
}

// partialFailure is push's error when a retryable failure came after some records were delivered or refused for
// good: rest holds exactly the records still to deliver, which the retry sends (OnError).
type partialFailure struct {
	err  error
	rest *logsRequest
}

func (e *partialFailure) Error() string {
	return fmt.Sprintf("%v (%d records still to deliver)", e.err, e.rest.items)
}

// Unwrap is the failure itself: exporterhelper finds a throttle's delay (Retry-After) in it.
func (e *partialFailure) Unwrap() error { return e.err }
