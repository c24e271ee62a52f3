// Written by hand in the shape mdatagen generates from the telemetry section of ../../metadata.yaml (mdatagen is
// not served by the module proxy here); keep the two in sync.

package metadata

import (
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"go.opentelemetry.io/collector/component"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer(ScopeName)
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                                metric.Meter
	mu                                   sync.Mutex
	registrations                        []metric.Registration
	FapilogProcessorRedactFailures       metric.Int64Counter
	FapilogProcessorRedactFieldsRedacted metric.Int64Counter
	FapilogProcessorRedactGuardrailHits  metric.Int64Counter
	FapilogProcessorRedactRecordsDropped metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.FapilogProcessorRedactFailures, err = builder.meter.Int64Counter(
		"otelcol_fapilog_processor_redact_failures",
		metric.WithDescription("Number of log records whose redaction failed (a redactor panicked); a failure on a resource counts each of its records. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogProcessorRedactFieldsRedacted, err = builder.meter.Int64Counter(
		"otelcol_fapilog_processor_redact_fields_redacted",
		metric.WithDescription("Number of values a redactor changed; a value changed by two redactors counts once for each, and value_patterns counts a value once for each kind of secret it replaced in it. [Alpha]"),
		metric.WithUnit("{field}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogProcessorRedactGuardrailHits, err = builder.meter.Int64Counter(
		"otelcol_fapilog_processor_redact_guardrail_hits",
		metric.WithDescription("Number of log records on which a guardrail (max_depth, max_keys_scanned) was exceeded; a resource over a limit counts each of its records. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogProcessorRedactRecordsDropped, err = builder.meter.Int64Counter(
		"otelcol_fapilog_processor_redact_records_dropped",
		metric.WithDescription("Number of log records dropped by on_guardrail_exceeded: drop or fail_mode: closed. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
