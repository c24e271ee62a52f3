package fapiloghttp

import (
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

const (
	contentTypeJSON   = "application/json"
	contentTypeNDJSON = "application/x-ndjson"
)

// framing is how a request body wraps its envelopes: prefix, records joined by sep, suffix.
type framing struct {
	prefix, sep, suffix []byte
	contentType         string
}

func framingFor(format BatchFormat, wrapperKey string) framing {
	switch format {
	case FormatNDJSON:
		// Every line ends in a newline, the last one included: "a\nb\n".
		return framing{sep: []byte("\n"), suffix: []byte("\n"), contentType: contentTypeNDJSON}
	case FormatWrapped:
		key, _ := json.Marshal(wrapperKey) // a string always marshals; this quotes and escapes it
		prefix := append(append([]byte("{"), key...), ":["...)
		return framing{prefix: prefix, sep: []byte(","), suffix: []byte("]}"), contentType: contentTypeJSON}
	default:
		return framing{prefix: []byte("["), sep: []byte(","), suffix: []byte("]"), contentType: contentTypeJSON}
	}
}

// overhead is the framed size of a body minus its records: prefix, suffix and n-1 separators.
func (f *framing) overhead(n int) int {
	if n == 0 {
		return len(f.prefix) + len(f.suffix)
	}
	return len(f.prefix) + len(f.suffix) + (n-1)*len(f.sep)
}

// span is where one record's envelope lies in an encoded batch's body.
type span struct{ start, end int }

// encodedBatch is a batch serialized once: body is already the framed request for the whole batch, and spans
// locate each record in it so that the request builder can split the batch without encoding anything again.
type encodedBatch struct {
	body  []byte
	spans []span
}

// encode appends the framed envelopes of every record of ld to b.body (reset first) and records their spans.
// e is scratch reused across calls; encoding allocates only when b's buffers must grow.
func (b *encodedBatch) encode(ld plog.Logs, receivedAt time.Time, f *framing, e *envelope.Entry) {
	body, spans := append(b.body[:0], f.prefix...), b.spans[:0]
	envelope.ForEach(ld, receivedAt, e, func(e *envelope.Entry, _ plog.LogRecord) {
		if len(spans) > 0 {
			body = append(body, f.sep...)
		}
		start := len(body)
		body = e.AppendJSON(body)
		spans = append(spans, span{start, len(body)})
	})
	b.body, b.spans = append(body, f.suffix...), spans
}
