package fapilogfile

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

const (
	defaultFilenamePrefix   = "fapilog"
	defaultMaxBytes         = 10 << 20
	defaultCompressionLevel = 5
	defaultFlushInterval    = time.Second
	// defaultMaxOpenFiles matches contrib fileexporter's group_by.max_open_files.
	defaultMaxOpenFiles = 100
)

// NewFactory creates the fapilogfile exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:    exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:      configoptional.Default(newDefaultQueueConfig()),
		RetryConfig:      configretry.NewDefaultBackOffConfig(),
		FilenamePrefix:   defaultFilenamePrefix,
		Format:           FormatJSON,
		Colors:           ColorsAuto,
		MaxBytes:         confunits.ByteSize(defaultMaxBytes),
		CompressionLevel: defaultCompressionLevel,
		FlushInterval:    defaultFlushInterval,
		WriteMode:        WriteModeBuffered,
		Destinations:     destination.NewDefaultConfig(),
		MaxOpenFiles:     defaultMaxOpenFiles,
	}
}

// newDefaultQueueConfig is the sending queue a user gets by configuring one (sending_queue: {storage:
// file_storage}, or any other sending_queue key); without one there is no queue. It batches up to 1000 records
// (flushed every 200 ms) so a busy pipeline costs one write per batch, and uses a single consumer so that
// records reach the file in the order they were received.
//
// No queue by default: the push then runs on the receiver's goroutine and returns once the records are in the
// kernel, so an acknowledged record survives kill -9 without a persistent queue, memory is bounded by the
// requests the receivers hold, nothing walks a request to size it or merges batches, and the receivers encode
// in parallel while writes to one file are serialised. A local file needs no queue to absorb a slow backend.
func newDefaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := sendqueue.NewQueueBatchConfig(sendqueue.Batching{MinSize: 100, MaxSize: 1000, FlushTimeout: 200 * time.Millisecond})
	q.NumConsumers = 1
	return q
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	fe, err := newFileExporter(c, set.TelemetrySettings, set.ID)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, fe.pushLogs,
		exporterhelper.WithStart(fe.start),
		exporterhelper.WithShutdown(fe.shutdown),
		// timeout bounds a push's wait for a file another push is writing, applied by the exporter where it
		// waits (waitContext): exporterhelper's would start a timer for every push.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
}
