package fapiloghttp

import (
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// request is the body of one HTTP request and how many records it carries.
type request struct {
	body        []byte
	contentType string
	records     int
}

// requestBuilder turns an encoded batch into requests: one request for the whole batch when it fits in
// max_request_bytes (the encoded body is sent as is, without a copy), else as many requests as needed, each
// holding whole records. A record that cannot fit in a request on its own is left out.
type requestBuilder struct {
	framing  framing
	maxBytes int // 0: no limit
	// singleObject sends a request of exactly one record as the bare envelope object rather than a list of one:
	// fapilog's webhook sink does so and webhook receivers written for it expect it. NDJSON of one record is one
	// line either way, so it keeps its framing.
	singleObject bool
}

func newRequestBuilder(cfg *Config) requestBuilder {
	return requestBuilder{
		framing:      framingFor(cfg.BatchFormat, cfg.BatchWrapperKey),
		maxBytes:     int(cfg.MaxRequestBytes),
		singleObject: cfg.Mode == ModeWebhook && cfg.BatchFormat != FormatNDJSON,
	}
}

// reasonTooLarge is the rejection reason of a record that cannot fit in a request of max_request_bytes.
const reasonTooLarge = "record_too_large"

// plan is the outcome of building: the requests in order and, in the delivery plan, the request that carries each
// record of the batch, or delivery.LeftOut when the record is larger than max_request_bytes.
type plan struct {
	delivery.Plan
	requests []request
	dropped  int
}

func (p *plan) reset(records int) {
	p.Plan.Reset(records)
	p.requests, p.dropped = p.requests[:0], 0
}

// finish completes the delivery plan once the requests are built.
func (p *plan) finish(maxBytes int) {
	p.Requests = len(p.requests)
	if p.dropped > 0 {
		p.LeftOut = append(p.LeftOut, delivery.Rejection{Reason: reasonTooLarge, Records: p.dropped,
			Detail: []zap.Field{zap.Int("max_request_bytes", maxBytes)}})
	}
}

func (rb *requestBuilder) build(b *encodedBatch, p *plan) {
	p.reset(len(b.spans))
	defer p.finish(rb.maxBytes)
	if len(b.spans) == 0 {
		return
	}
	if rb.maxBytes <= 0 || len(b.body) <= rb.maxBytes {
		clear(p.Owner) // every record in request 0
		if rb.singleObject && len(b.spans) == 1 {
			s := b.spans[0]
			p.requests = append(p.requests, request{body: b.body[s.start:s.end], contentType: contentTypeJSON, records: 1})
			return
		}
		p.requests = append(p.requests, request{body: b.body, contentType: rb.framing.contentType, records: len(b.spans)})
		return
	}
	total := rb.assign(b, p)
	rb.materialize(b, p, total)
}

// assign packs records greedily, in order, into requests of at most maxBytes framed bytes and returns the bytes
// all those bodies need together.
func (rb *requestBuilder) assign(b *encodedBatch, p *plan) (total int) {
	f := &rb.framing
	current, count, size := 0, 0, 0
	for i, s := range b.spans {
		n := s.end - s.start
		alone := f.overhead(1) + n
		if rb.singleObject {
			alone = n // a request of one record goes bare (see request)
		}
		if alone > rb.maxBytes {
			p.Owner[i] = delivery.LeftOut
			p.dropped++
			continue
		}
		if count > 0 && size+len(f.sep)+n > rb.maxBytes {
			total += size
			current, count = current+1, 0
		}
		if count == 0 {
			size = f.overhead(1) + n
		} else {
			size += len(f.sep) + n
		}
		count++
		p.Owner[i] = int32(current)
	}
	if count > 0 {
		total += size
	}
	return total
}

// materialize copies each request's records, framed, into one buffer allocated at its final size, so the bodies
// are sub-slices that stay valid.
func (rb *requestBuilder) materialize(b *encodedBatch, p *plan, total int) {
	f := &rb.framing
	arena := make([]byte, 0, total)
	current, start, count := -1, 0, 0
	for i, s := range b.spans {
		owner := int(p.Owner[i])
		if owner < 0 {
			continue
		}
		if owner != current {
			if current >= 0 {
				arena = append(arena, f.suffix...)
				p.requests = append(p.requests, rb.request(arena[start:], count))
			}
			current, start, count = owner, len(arena), 0
			arena = append(arena, f.prefix...)
		} else {
			arena = append(arena, f.sep...)
		}
		arena = append(arena, b.body[s.start:s.end]...)
		count++
	}
	if current >= 0 {
		arena = append(arena, f.suffix...)
		p.requests = append(p.requests, rb.request(arena[start:], count))
	}
}

func (rb *requestBuilder) request(framed []byte, records int) request {
	if rb.singleObject && records == 1 {
		bare := framed[len(rb.framing.prefix) : len(framed)-len(rb.framing.suffix)]
		return request{body: bare, contentType: contentTypeJSON, records: 1}
	}
	return request{body: framed, contentType: rb.framing.contentType, records: records}
}
