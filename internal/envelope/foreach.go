package envelope

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// ForEach resets e to every record of ld in order and calls fn with it. receivedAt stands in for missing
// timestamps (see Reset). fn must not keep e beyond the call. What depends on the resource and scope alone (the
// resource's diagnostics, their part of the derived message_id) is computed once per ResourceLogs and ScopeLogs
// rather than once per record.
func ForEach(ld plog.Logs, receivedAt time.Time, e *Entry, fn func(e *Entry, record plog.LogRecord)) {
	for _, rl := range ld.ResourceLogs().All() {
		ForEachIn(rl, receivedAt, e, fn)
	}
}

// ForEachIn is ForEach over the records of one ResourceLogs, for callers that encode a batch's resources apart
// (one destination each) and would otherwise Reset record by record, preparing the resource and scope again for
// each.
func ForEachIn(rl plog.ResourceLogs, receivedAt time.Time, e *Entry, fn func(e *Entry, record plog.LogRecord)) {
	e.setResource(rl.Resource())
	for _, sl := range rl.ScopeLogs().All() {
		e.setScope(sl.Scope())
		for _, lr := range sl.LogRecords().All() {
			e.setRecord(lr, receivedAt)
			fn(e, lr)
		}
	}
	e.scratch.releaseStale() // once per batch rather than once per nested map
}
