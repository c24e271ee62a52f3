package fapilogcloudwatch

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

const (
	defaultLogGroupName = "/fapilog/default"
	// defaultCallTimeout bounds one API call: a full 1 MiB PutLogEvents must upload within it on a modest link.
	defaultCallTimeout = 10 * time.Second
)

// defaultBatching makes every batch one full PutLogEvents request: batches are measured as CloudWatch measures a
// request (bytes sizer: the messages plus 26 bytes per event, see logsRequest) and go out as soon as they reach
// its 1 MiB limit, which MergeSplit never exceeds; a partial batch goes out after fapilog's batch_timeout_seconds
// (5 s). fapilog sends every 100 records instead (batch_size): under load that is requests 3% full, each counting
// against the account's PutLogEvents quota, for no gain in latency, which the timeout bounds either way.
var defaultBatching = sendqueue.Batching{
	MinSize:      maxRequestBytes,
	MaxSize:      maxRequestBytes,
	FlushTimeout: sendqueue.FapilogBatchTimeout,
}

// defaultQueueConfig is the distribution's default queue (in memory, sizer bytes, sendqueue.DefaultQueueBytes:
// here the events' encoded bytes, what the queued requests hold) with defaultBatching by bytes.
func defaultQueueConfig() configoptional.Optional[exporterhelper.QueueBatchConfig] {
	q := sendqueue.NewQueueBatchConfig(defaultBatching)
	q.Batch.Get().Sizer = exporterhelper.RequestSizerTypeBytes
	return configoptional.Some(q)
}

// NewFactory returns the factory of the fapilogcloudwatch exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:   exporterhelper.TimeoutConfig{Timeout: defaultCallTimeout},
		QueueConfig:     defaultQueueConfig(),
		RetryConfig:     configretry.NewDefaultBackOffConfig(),
		CircuitBreaker:  breaker.NewDefaultConfig(),
		LogGroupName:    defaultLogGroupName,
		LogStreamName:   defaultLogStreamName,
		Destinations:    destination.NewDefaultConfig(),
		CreateLogGroup:  true,
		CreateLogStream: true,
		MaxEventSize:    defaultMaxEventSize,
		Oversize:        OversizeDrop,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newLogsExporter(c, set)
	if err != nil {
		return nil, err
	}
	// A request of the exporter's own (logsRequest): records are encoded when they arrive, and the queue
	// batches them by their size as CloudWatch counts it. requestEncoding stores them in a persistent queue;
	// bodyRefs recycles their buffers once the in-memory queue is done with them.
	logs, err := xexporterhelper.NewLogsRequest(ctx, set, exp.convert, exp.push,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// timeout bounds each API call inside push (see transport), not the whole push: a batch may need
		// several PutLogEvents calls, and a push held behind an open circuit breaker is not cut short.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		xexporterhelper.WithQueueBatch(c.QueueConfig, xexporterhelper.QueueBatchSettings{
			Encoding:         requestEncoding{},
			ReferenceCounter: bodyRefs{exp.encoder.bodies},
		}),
	)
	if err != nil {
		return nil, err
	}
	return delivery.WithEarlyShutdown(logs, exp.delivery), nil
}
