package fapilogpostgres

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// Rows PostgreSQL stored before a retryable failure are never sent again, so their bytes must be counted in
// sent_bytes by the attempt that stored them: over the attempts, sent_bytes is what PostgreSQL got.
func TestExport_SentBytesCountRowsStoredBeforeARetryableFailure(t *testing.T) {
	db := connectTestDB(t)

	// Reference: the nine good rows delivered in one go.
	good := seqLogs(0, 10)
	good.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
		return lr.Body().Str() == seqLogs(5, 1).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
	})
	require.Equal(t, 9, good.LogRecordCount())
	refSchema := newTestSchema(t, db)
	refCfg := testConfig(t, refSchema)
	refCfg.CreateTable, refCfg.Deduplicate = false, false
	seedTable(t, db, refSchema)
	ref := startObservedExporter(t, refCfg, nil)
	require.NoError(t, ref.pushLogs(context.Background(), good))
	want := ref.metrics.Int(t, delivery.MetricSentBytes)
	require.Positive(t, want)

	// The same ten records with record 5 poisoned; the connection fails after rows 0-6 are handled.
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	refusePoison(t, db, spec)
	cfg := testConfig(t, schema)
	cfg.CreateTable, cfg.Deduplicate = false, false
	x := startObservedExporter(t, cfg, func(x *postgresExporter) {
		x.transport.beforeCopy = func(lo, hi int) error {
			if lo == 7 {
				return errors.New("connection reset by peer")
			}
			return nil
		}
	})
	ld := seqLogs(0, 10)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(5).Body().SetStr("poison")
	err := x.pushLogs(context.Background(), ld)
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "%v", err)
	require.Equal(t, 3, partial.Data().LogRecordCount())
	require.Equal(t, 6, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))

	x.transport.beforeCopy = nil
	require.NoError(t, x.pushLogs(context.Background(), partial.Data()))
	require.Equal(t, 9, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.Equal(t, want, x.metrics.Int(t, delivery.MetricSentBytes), "sent_bytes against the bytes of the 9 rows stored")
}
