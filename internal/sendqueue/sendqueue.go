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

// DefaultQueueBytes bounds a default sending queue: 8 MiB of records, measured as OTLP protobuf (exporterhelper's
// bytes sizer), whatever the clients send. The collector's default counts requests instead (1,000): 70 MiB with
// 100-record client requests, gigabytes with 8192-record ones. In memory the collector's representation of a record
// takes 3x (typical records of internal/logstest: 513 protobuf bytes, 1,450 bytes of heap) to 5x (tiny ones) its
// protobuf size, and the garbage collector lets the heap grow to twice what is live: measured with a stalled
// backend and 8192-record requests at full rate (e2e/memory_test.go), the collector peaks at ~150 MiB with this
// bound and ~230 MiB with 16 MiB. A request larger than the queue can never be queued: keep client requests
// below it (the OTLP gRPC receiver takes 4 MiB messages by default) or raise queue_size.
const DefaultQueueBytes = 8 << 20

// NewConfig returns the default sending queue of the fapilog exporters: in memory, bounded to DefaultQueueBytes,
// 10 consumers, not blocking (a full queue makes the receiver answer UNAVAILABLE / 503, and clients retry), with
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
	queue.Sizer = exporterhelper.RequestSizerTypeBytes
	queue.QueueSize = DefaultQueueBytes
	queue.Batch = configoptional.Some(batch)
	return queue
}
