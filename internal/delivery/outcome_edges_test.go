package delivery

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

func TestDeliver_ASingleRecordRefusedForGoodIsPermanent(t *testing.T) {
	f := newFixture(t, Settings{Describe: rejected400})
	err := f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), func(context.Context, int) (Result, error) {
		return Result{}, consumererror.NewPermanent(errors.New("HTTP 400"))
	})
	require.Error(t, err, "the push's only record was refused: exporterhelper must count it as failed, not sent")
	assert.True(t, consumererror.IsPermanent(err))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRecordsRejected))
}

func TestDeliver_AnAcceptedRequestWhoseEveryRecordWasRefusedIsPermanent(t *testing.T) {
	f := newFixture(t, Settings{})
	// The backend answered 200 but listed every record as refused (CloudWatch's rejectedLogEventsInfo).
	err := f.d.Deliver(context.Background(), logsOf(4), evenSplit(4, 4), func(context.Context, int) (Result, error) {
		return Result{Bytes: 400, Rejected: []Rejection{{Reason: "too_old", Records: 4}}}, nil
	})
	require.Error(t, err, "nothing was delivered: the push is not a success")
	assert.True(t, consumererror.IsPermanent(err), "and nothing is to retry")
	assert.EqualValues(t, 4, f.metrics.Int(t, MetricRecordsRejected))
}

func TestDeliver_AFailedRequestThatStoredNothingCountsNoSentBytes(t *testing.T) {
	f := newFixture(t, Settings{})
	// The HTTP and Loki exporters report their body's size whatever the answer.
	err := f.d.Deliver(context.Background(), logsOf(4), evenSplit(4, 4), func(context.Context, int) (Result, error) {
		return Result{Bytes: 400}, errDown
	})
	require.ErrorIs(t, err, errDown)
	assert.Zero(t, f.metrics.Int(t, MetricSentBytes), "sent_bytes counts only what the backend accepted")
}

func TestDeliver_RecordsRetriedCountsOnlyTheRecordsHandedBack(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}})
	err := f.d.Deliver(context.Background(), logsOf(10), evenSplit(10, 10), func(context.Context, int) (Result, error) {
		return Result{Progress: 4}, errDown
	})
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial))
	assert.Equal(t, 6, partial.Data().LogRecordCount())
	assert.EqualValues(t, 6, f.metrics.Int(t, MetricRecordsRetried), "the 4 records stored before the failure are not retried")
}

func TestDeliver_ABackendThatAnswersWithARefusalOfTheDataIsHealthyAgain(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}, Describe: rejected400})
	require.Error(t, f.d.Deliver(context.Background(), logsOf(2), evenSplit(2, 2), func(context.Context, int) (Result, error) {
		return Result{}, errDown
	}))
	require.Equal(t, componentstatus.StatusRecoverableError, f.host.Last())

	// The backend is back and answers; it refuses this push's data, which says nothing against its health.
	err := f.d.Deliver(context.Background(), logsOf(2), evenSplit(2, 2), func(context.Context, int) (Result, error) {
		return Result{}, consumererror.NewPermanent(errors.New("HTTP 400"))
	})
	require.True(t, consumererror.IsPermanent(err))
	assert.Equal(t, componentstatus.StatusOK, f.host.Last(), "a backend that answered is healthy again")
}
