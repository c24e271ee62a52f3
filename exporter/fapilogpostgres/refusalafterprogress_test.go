package fapilogpostgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

func TestPush_ARefusedConfigurationAfterRowsWereStoredNeverCountsThemAsRefused(t *testing.T) {
	db, spec, x := startOnPoisonRefusingTable(t)
	// Row 0 is rejected, so the batch is split: [0,4) is stored without row 0, then the privilege is gone for [4,8).
	ld := seqLogs(0, 8)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("poison")
	refused := &pgconn.PgError{Code: sqlstateInsufficientPrivs, Message: "permission denied for table logs"}
	x.transport.beforeCopy = func(lo, _ int) error {
		if lo >= 4 {
			return refused
		}
		return nil
	}
	err := x.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "part of the batch was handled: the rest goes back as retryable")
	var failed consumererror.Logs
	require.True(t, errors.As(err, &failed), "%v", err)
	assert.Equal(t, 4, failed.Data().LogRecordCount())
	assert.Equal(t, 3, queryInt(t, db, "SELECT count(*) FROM "+spec.qualified()))
	assert.Zero(t, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_42501")),
		"the stored rows are never counted as refused")
	assert.EqualValues(t, 1, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_23514")))

	// The retry gets nowhere: now the refusal is permanent, for its four rows only.
	x.transport.beforeCopy = func(int, int) error { return refused }
	err = x.pushLogs(context.Background(), failed.Data())
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.EqualValues(t, 4, x.metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "sqlstate_42501")))
}
