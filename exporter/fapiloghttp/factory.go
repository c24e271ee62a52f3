package fapiloghttp

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

// fapilog's network sink defaults: batches of 100 records, flushed after 5 s; a 5 s request timeout.
const (
	defaultTimeout    = 5 * time.Second
	defaultWrapperKey = "logs"
)

// NewFactory returns the factory of the fapiloghttp exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout

	return &Config{
		ClientConfig:    client,
		QueueConfig:     sendqueue.NewConfig(sendqueue.Fapilog),
		RetryConfig:     configretry.NewDefaultBackOffConfig(),
		CircuitBreaker:  breaker.NewDefaultConfig(),
		Mode:            ModeHTTP,
		BatchFormat:     FormatArray,
		BatchWrapperKey: defaultWrapperKey,
		SignatureMode:   SignatureHMAC,
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
		// The HTTP client's own timeout bounds each request, as in core's otlphttp exporter; a push held behind
		// an open circuit breaker is not cut short.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.retryConfig()),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	return delivery.WithEarlyShutdown(logs, exp.delivery), nil
}
