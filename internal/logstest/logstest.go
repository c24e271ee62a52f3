// Package logstest builds the log batches the benchmarks share, so that every exporter and the encoder are
// measured on the same records.
package logstest

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Start is the timestamp of record 0 of TypicalBatch; record i is i nanoseconds later.
var Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Message is the 200-byte body of every typical record.
var Message = strings.Repeat("order accepted for processing; ", 7)[:200]

// TypicalBatch is n records of the kind the performance targets speak of: 10 attributes (one a nested map), a
// 200-byte message, trace context, INFO, in one resource (service, host, pid) and one scope. Attribute order_seq
// is the record's index.
func TypicalBatch(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "web-1")
	rl.Resource().Attributes().PutInt("process.pid", 4242)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.checkout")
	sl.LogRecords().EnsureCapacity(n)
	for i := range n {
		FillTypical(sl.LogRecords().AppendEmpty(), Start.Add(time.Duration(i)), int64(i))
	}
	return ld
}

// FillTypical makes lr one typical record stamped ts: INFO, Message as its body, trace context and 10 attributes
// (one a nested map), with seq as attribute order_seq.
func FillTypical(lr plog.LogRecord, ts time.Time, seq int64) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.Body().SetStr(Message)
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	a := lr.Attributes()
	a.PutStr("correlation_id", "3f2c9a1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")
	a.PutStr("user_id", "u-12345")
	a.PutStr("http.method", "POST")
	a.PutStr("http.route", "/api/v1/orders")
	a.PutInt("http.status_code", 201)
	a.PutDouble("duration_ms", 12.5)
	a.PutBool("cache_hit", false)
	a.PutInt("order_seq", seq)
	a.PutInt("items", 3)
	a.PutEmptyMap("customer").PutStr("tier", "gold")
}

// Records is the records of a batch made by TypicalBatch, for benchmarks that vary them.
func Records(ld plog.Logs) plog.LogRecordSlice {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
}
