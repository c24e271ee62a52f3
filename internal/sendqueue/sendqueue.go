// Package sendqueue builds the sending_queue defaults of the fapilog exporters: the collector's own queue with
// batching switched on, which exporterhelper leaves off unless sending_queue.batch is configured.
package sendqueue

import (
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// fapilog's batching defaults for its network sinks: batch_size and batch_timeout_seconds.
const (
	FapilogBatchSize    = 100
	FapilogBatchTimeout = 5 * time.Second
)

// Batching is how the queue groups records into one push.
type Batching struct {
	// MinSize records make a batch go out at once; MaxSize caps one push.
	MinSize, MaxSize int64
	// FlushTimeout sends a partial batch after this long.
	FlushTimeout time.Duration
}

// Fapilog is fapilog's behaviour: a push as soon as batch_size records wait, never more than batch_size in one
// push, and a partial batch after batch_timeout_seconds.
var Fapilog = Batching{MinSize: FapilogBatchSize, MaxSize: FapilogBatchSize, FlushTimeout: FapilogBatchTimeout}

// NewConfig returns the collector's default sending queue (in memory, 1000 requests, 10 consumers) with
// item-counted batching b, enabled.
func NewConfig(b Batching) configoptional.Optional[exporterhelper.QueueBatchConfig] {
	return configoptional.Some(NewQueueBatchConfig(b))
}

// NewQueueBatchConfig is NewConfig's queue, for exporters that adjust it further.
func NewQueueBatchConfig(b Batching) exporterhelper.QueueBatchConfig {
	batch := exporterhelper.NewDefaultBatchConfig()
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.MinSize = b.MinSize
	batch.MaxSize = b.MaxSize
	batch.FlushTimeout = b.FlushTimeout
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.Batch = configoptional.Some(batch)
	return queue
}
