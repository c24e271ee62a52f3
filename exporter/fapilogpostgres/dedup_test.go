package fapilogpostgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// Duplicate protection must never merge distinct records: records that differ only in their nanosecond timestamps
// (identical access or health-check lines of a busy service) are distinct, and each gets its row.

// sameButForNanoseconds builds n records identical in everything but their Timestamp, which advances by 1 ns per
// record from base + first ns: all of them fall in one millisecond, the precision of the envelope's timestamp.
func sameButForNanoseconds(base time.Time, first, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("access")
	for i := first; i < first+n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i))))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(`GET /healthz 200`)
		lr.Attributes().PutStr("http.route", "/healthz")
	}
	return ld
}

// sendAtFullRate hands total records to exp from 4 goroutines, in requests of chunk records, as fast as it takes
// them.
func sendAtFullRate(t *testing.T, exp exporter.Logs, base time.Time, total, chunk int) {
	t.Helper()
	const senders = 4
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := s * chunk; first < total; first += senders * chunk {
				if err := exp.ConsumeLogs(context.Background(), sameButForNanoseconds(base, first, min(chunk, total-first))); err != nil {
					t.Errorf("ConsumeLogs: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDedup_10000RecordsIdenticalButForNanosecondsGive10000Rows(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	o := startObservedFactory(t, testConfig(t, schema)) // the shipped defaults: deduplicate on
	base := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	const total = 10_000
	sendAtFullRate(t, o, base, total, 50)
	require.NoError(t, o.Shutdown(context.Background()), "shutdown drains the queue")

	tbl := quoteQualified(schema, "logs")
	assert.Equal(t, total, queryInt(t, db, "SELECT count(*) FROM "+tbl), "one row per record")
	assert.Equal(t, total, queryInt(t, db, "SELECT count(DISTINCT message_id) FROM "+tbl))
	assert.Equal(t, 1, queryInt(t, db, "SELECT count(DISTINCT timestamp) FROM "+tbl), "all in one millisecond")
	assert.Equal(t, 1, queryInt(t, db, "SELECT count(DISTINCT event - '{context}'::text[]) FROM "+tbl),
		"envelopes identical but for their message_id")
	assert.Zero(t, o.metrics.Int(t, metricDuplicatesSkipped))
	assert.Zero(t, o.metrics.Int(t, delivery.MetricRecordsRejected))
	assert.EqualValues(t, total, o.metrics.Int(t, "otelcol_exporter_sent_log_records"))
}

func TestDedup_BatchRetriedAfterACutConnectionStoresNoDuplicate(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	proxy := throughProxy(t, cfg)
	o := startObservedFactory(t, cfg)
	base := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	const total = 10_000

	proxy.cutAfterCopy.Store(2) // two COPYs committed, then their connections cut before the answer
	sendAtFullRate(t, o, base, total, 50)
	tbl := quoteQualified(schema, "logs")
	awaitCutsRetried(t, o, proxy, tbl, total, 2)
	assert.Equal(t, total, queryInt(t, db, "SELECT count(DISTINCT message_id) FROM "+tbl))
}
