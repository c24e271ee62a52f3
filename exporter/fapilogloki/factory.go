package fapilogloki

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/sendqueue"
)

// fapilog's loki sink defaults: http://localhost:3100, batches of 100 records flushed after 5 s, a 10 s request
// timeout, static labels {service: fapilog}, dynamic label level.
const (
	defaultEndpoint       = "http://localhost:3100"
	defaultTimeout        = 10 * time.Second
	defaultMaxStreams     = 100
	defaultMaxLabelValues = 1000
)

// NewFactory returns the factory of the fapilogloki exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultEndpoint
	client.Timeout = defaultTimeout

	return &Config{
		ClientConfig:         client,
		QueueConfig:          sendqueue.NewConfig(sendqueue.Fapilog),
		RetryConfig:          configretry.NewDefaultBackOffConfig(),
		CircuitBreaker:       breaker.NewDefaultConfig(),
		Destinations:         destination.NewDefaultConfig(),
		Labels:               StaticLabels{"service": "fapilog"},
		LabelKeys:            []string{"level"},
		Encoding:             EncodingProtobuf,
		MaxStreamsPerRequest: defaultMaxStreams,
		MaxLabelValues:       defaultMaxLabelValues,
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
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	return delivery.WithEarlyShutdown(logs, exp.delivery), nil
}
