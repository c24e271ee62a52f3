package delivery

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
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
