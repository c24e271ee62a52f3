package fapilogpostgres

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

func TestPush_ARowRejectedRightBeforeAFailureIsNotHandedBackNorCountedTwice(t *testing.T) {
	db, spec, x := startOnPoisonRefusingTable(t)
	// Row 3, the last of [0,4), is rejected; then the connection fails for [4,8). Row 3 is refused for good: it
	// must not come back with rows 4-7, whose retry would refuse and count it a second time.
	ld := seqLogs(0, 8)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(3).Body().SetStr("poison")
	x.transport.beforeCopy = func(lo, _ int) error {
		if lo >= 4 {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	err := x.pushLogs(context.Background(), ld)
	var failed consumererror.Logs
	require.True(t, errors.As(err, &failed), "a partial failure carries the rows to retry: %v", err)
	assert.Equal(t, 4, failed.Data().LogRecordCount(), "only rows 4-7 go back")

	x.transport.beforeCopy = nil
	require.NoError(t, x.pushLogs(context.Background(), failed.Data()))
	assert.Equal(t, 7, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_23514")),
		"the refused row is counted once")
}
