package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

// NewFactory returns the factory of the redact processor (component type `redact`, logs only).
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

// createDefaultConfig: url_credentials only (fapilog's default), fapilog's guardrail values, and the
// fail-closed guardrail action fapilog's hardened settings use.
func createDefaultConfig() component.Config {
	urlCreds := NewDefaultURLCredentialsConfig()
	return &Config{
		PresetMask:          defaultMask,
		Redactors:           []RedactorConfig{{URLCredentials: &urlCreds}},
		MaxDepth:            defaultMaxDepth,
		MaxKeysScanned:      defaultMaxKeysScanned,
		OnGuardrailExceeded: GuardrailReplaceSubtree,
		FailMode:            FailModeWarn,
	}
}

func createLogs(
	ctx context.Context,
	set processor.Settings,
	cfg component.Config,
	next consumer.Logs,
) (processor.Logs, error) {
	p, err := newRedactProcessor(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(p.metrics.shutdown))
}
