package fapilogpostgres

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

// Defaults of fapilog's postgres sink.
const (
	defaultHost               = "localhost"
	defaultPort               = 5432
	defaultDatabase           = "fapilog"
	defaultUser               = "fapilog"
	defaultTableName          = "logs"
	defaultSchemaName         = "public"
	defaultMinPoolSize        = 2
	defaultMaxPoolSize        = 10
	defaultPoolAcquireTimeout = 10 * time.Second
)

// Batching defaults (see README "Batching"): COPY pays a round trip and a transaction per batch, so larger
// batches load several times faster than fapilog's 100; the flush timeout keeps latency below fapilog's 5 s.
const (
	defaultBatchMinSize      = 1000
	defaultBatchMaxSize      = 5000
	defaultBatchFlushTimeout = time.Second
	// defaultTimeout bounds one request (table check, acquire and COPY of up to defaultBatchMaxSize rows).
	defaultTimeout = 30 * time.Second
)

// NewFactory creates the fapilogpostgres exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:      exporterhelper.TimeoutConfig{Timeout: defaultTimeout},
		QueueConfig:        configoptional.Some(newDefaultQueueConfig()),
		RetryConfig:        configretry.NewDefaultBackOffConfig(),
		Config:             breaker.NewDefaultConfig(),
		Host:               defaultHost,
		Port:               defaultPort,
		Database:           defaultDatabase,
		User:               defaultUser,
		TableName:          defaultTableName,
		SchemaName:         defaultSchemaName,
		CreateTable:        true,
		MinPoolSize:        defaultMinPoolSize,
		MaxPoolSize:        defaultMaxPoolSize,
		PoolAcquireTimeout: defaultPoolAcquireTimeout,
		UseJSONB:           true,
		IncludeRawJSON:     true,
		ExtractFields:      defaultExtractFields(),
		Deduplicate:        true,
		Partitioning:       configoptional.Default(newDefaultPartitioningConfig()),
	}
}

// newDefaultQueueConfig turns batching on (it is off in the queue unless configured). The default 10 queue
// consumers match max_pool_size 10: each consumer runs one COPY on its own connection.
func newDefaultQueueConfig() exporterhelper.QueueBatchConfig {
	return sendqueue.NewQueueBatchConfig(sendqueue.Batching{
		MinSize: defaultBatchMinSize, MaxSize: defaultBatchMaxSize, FlushTimeout: defaultBatchFlushTimeout,
	})
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	pe, err := newPostgresExporter(c, set.TelemetrySettings, set.ID)
	if err != nil {
		return nil, err
	}
	logs, err := exporterhelper.NewLogs(ctx, set, cfg, pe.pushLogs,
		exporterhelper.WithStart(pe.start),
		exporterhelper.WithShutdown(pe.shutdown),
		// timeout bounds each request, applied by the delivery path: a push held behind an open circuit breaker
		// is not cut short.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
	if err != nil {
		return nil, err
	}
	return delivery.WithEarlyShutdown(logs, pe.delivery), nil
}
