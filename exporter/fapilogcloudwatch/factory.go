package fapilogcloudwatch

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

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

// defaultBatching is fapilog's batch_size (a push as soon as 100 records wait) and batch_timeout_seconds (5 s),
// except that one push may hold up to 10,000 records (as many as one PutLogEvents call can carry): a large
// incoming batch goes out whole, in requests filled up to 1 MiB, instead of being cut into 100-record calls that
// each count against the account's PutLogEvents quota. The request builder splits it by the service limits anyway.
var defaultBatching = sendqueue.Batching{
	MinSize:      sendqueue.FapilogBatchSize,
	MaxSize:      maxEventsPerRequest,
	FlushTimeout: sendqueue.FapilogBatchTimeout,
}

// NewFactory returns the factory of the fapilogcloudwatch exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:   exporterhelper.TimeoutConfig{Timeout: defaultCallTimeout},
		QueueConfig:     sendqueue.NewConfig(defaultBatching),
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
	logs, err := exporterhelper.NewLogs(ctx, set, cfg, exp.push,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// timeout bounds each API call inside push (see transport), not the whole push: a batch may need
		// several PutLogEvents calls, and a push held behind an open circuit breaker is not cut short.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	return delivery.WithEarlyShutdown(logs, exp.delivery), nil
}
