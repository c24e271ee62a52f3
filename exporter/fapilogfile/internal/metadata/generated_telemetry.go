// Written by hand in the shape mdatagen generates from the telemetry section of ../../metadata.yaml (mdatagen is
// not served by the module proxy here); keep the two in sync. The descriptions carry no " [Alpha]" suffix:
// telemetrytest.AssertDeclared compares them with metadata.yaml verbatim.

package metadata

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
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
	meter                                  metric.Meter
	mu                                     sync.Mutex
	registrations                          []metric.Registration
	FapilogExporterFileBytesWritten        metric.Int64Counter
	FapilogExporterFileCompressionFailures metric.Int64Counter
	FapilogExporterFileFilesRemoved        metric.Int64Counter
	FapilogExporterFileOpenFiles           metric.Int64ObservableGauge
	FapilogExporterFileRecordsWritten      metric.Int64Counter
	FapilogExporterFileReopens             metric.Int64Counter
	FapilogExporterFileRotations           metric.Int64Counter
	FapilogExporterFileWriteErrors         metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// RegisterFapilogExporterFileOpenFilesCallback sets callback for observable FapilogExporterFileOpenFiles metric.
func (builder *TelemetryBuilder) RegisterFapilogExporterFileOpenFilesCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		cb(ctx, &observerInt64{inst: builder.FapilogExporterFileOpenFiles, obs: o})
		return nil
	}, builder.FapilogExporterFileOpenFiles)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

type observerInt64 struct {
	embedded.Int64Observer
	inst metric.Int64Observable
	obs  metric.Observer
}

func (oi *observerInt64) Observe(value int64, opts ...metric.ObserveOption) {
	oi.obs.ObserveInt64(oi.inst, value, opts...)
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
	builder.FapilogExporterFileBytesWritten, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_bytes_written",
		metric.WithDescription("Bytes of the log records written, in the configured format."),
		metric.WithUnit("By"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileCompressionFailures, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_compression_failures",
		metric.WithDescription("Rotated files that could not be compressed and were kept uncompressed."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileFilesRemoved, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_files_removed",
		metric.WithDescription("Rotated files deleted by retention, by the limit that removed them (max_files, max_total_bytes, max_age)."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileOpenFiles, err = builder.meter.Int64ObservableGauge(
		"otelcol_fapilog_exporter_file_open_files",
		metric.WithDescription("Files the exporter holds open; with placeholders in the path at most max_open_files, unless more batches than that write at once."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileRecordsWritten, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_records_written",
		metric.WithDescription("Log records written (handed to the kernel; synced as well with fsync), to files or the console."),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileReopens, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_reopens",
		metric.WithDescription("Active files opened again because another process changed them, by reason (truncated: copytruncate or > file in mmap mode; replaced: moved or removed)."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileRotations, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_rotations",
		metric.WithDescription("Active files rotated, by reason (size, interval)."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileWriteErrors, err = builder.meter.Int64Counter(
		"otelcol_fapilog_exporter_file_write_errors",
		metric.WithDescription("Failed attempts to write a batch, by the step that failed; the records not written are retried."),
		metric.WithUnit("{error}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
