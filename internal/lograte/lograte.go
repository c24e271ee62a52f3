// Package lograte keeps a repeated warning to one line per interval, without a lock: exporters and processors
// warn about what happens per record or per batch (a capped label, a guardrail, rows a trigger dropped), and the
// collector's log must never carry one line per record.
package lograte

import (
	"sync/atomic"
	"time"
)

// Gate lets one line through per interval. The zero value lets the first line through.
type Gate struct {
	next atomic.Int64 // unix nanoseconds from which the next line may pass
}

// Allow reports whether a line may be written at now and, if so, closes the gate for interval: of concurrent
// callers, one gets true.
func (g *Gate) Allow(now time.Time, interval time.Duration) bool {
	n, next := now.UnixNano(), g.next.Load()
	return n >= next && g.next.CompareAndSwap(next, n+int64(interval))
}
