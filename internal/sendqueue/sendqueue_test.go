package sendqueue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

func TestNewConfig_TurnsBatchingOnAndValidates(t *testing.T) {
	q := NewConfig(Fapilog)
	require.True(t, q.HasValue())
	require.NoError(t, q.Get().Validate())
	assert.Equal(t, exporterhelper.RequestSizerTypeBytes, q.Get().Sizer, "memory bounded in bytes, whatever clients send")
	assert.EqualValues(t, DefaultQueueBytes, q.Get().QueueSize)
	batch := q.Get().Batch
	require.True(t, batch.HasValue(), "batching is on")
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, batch.Get().Sizer)
	assert.EqualValues(t, 100, batch.Get().MinSize)
	assert.EqualValues(t, 100, batch.Get().MaxSize)
	assert.Equal(t, 5*time.Second, batch.Get().FlushTimeout)
	require.NoError(t, batch.Get().Validate())
}
