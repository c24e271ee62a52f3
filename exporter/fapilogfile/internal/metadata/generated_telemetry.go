// Written by hand in the shape mdatagen generates from the telemetry section of ../../metadata.yaml (mdatagen is
// not served by the module proxy here); keep the two in sync. The descriptions carry no " [Alpha]" suffix:
// telemetrytest.AssertDeclared compares them with metadata.yaml verbatim.

package metadata

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
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
	meter metric.Meter
	// own carries the exporter's component ID on every series (WithComponentID), as exporterhelper's metrics do:
	// two fapilogfile exporters (the file and the console of otelcol.yaml) keep separate series.
	own                                    metric.MeasurementOption
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

// WithComponentID puts the exporter's component ID on every series as the exporter attribute.
func WithComponentID(id component.ID) TelemetryBuilderOption {
	return telemetryBuilderOptionFunc(func(b *TelemetryBuilder) {
		b.own = metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", id.String())))
	})
}

// counterWithAttributes adds the builder's own attributes to every measurement of a counter.
type counterWithAttributes struct {
	metric.Int64Counter
	own []metric.AddOption // the builder's option alone: the usual Add, made without allocating a slice
}

func (c counterWithAttributes) Add(ctx context.Context, incr int64, opts ...metric.AddOption) {
	if len(opts) == 0 {
		c.Int64Counter.Add(ctx, incr, c.own...)
		return
	}
	c.Int64Counter.Add(ctx, incr, append(opts, c.own...)...)
}

func (builder *TelemetryBuilder) counter(name, description, unit string) (metric.Int64Counter, error) {
	c, err := builder.meter.Int64Counter(name, metric.WithDescription(description), metric.WithUnit(unit))
	if err != nil || builder.own == nil {
		return c, err
	}
	return counterWithAttributes{Int64Counter: c, own: []metric.AddOption{builder.own}}, nil
}

// RegisterFapilogExporterFileOpenFilesCallback sets callback for observable FapilogExporterFileOpenFiles metric.
func (builder *TelemetryBuilder) RegisterFapilogExporterFileOpenFilesCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		cb(ctx, &observerInt64{inst: builder.FapilogExporterFileOpenFiles, obs: o, own: builder.own})
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
	own  metric.MeasurementOption
}

func (oi *observerInt64) Observe(value int64, opts ...metric.ObserveOption) {
	if oi.own != nil {
		opts = append(opts, oi.own)
	}
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
	builder.FapilogExporterFileBytesWritten, err = builder.counter("otelcol_fapilog_exporter_file_bytes_written",
		"Bytes of the log records written, in the configured format.",
		"By")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileCompressionFailures, err = builder.counter("otelcol_fapilog_exporter_file_compression_failures",
		"Rotated files that could not be compressed and were kept uncompressed.",
		"{file}")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileFilesRemoved, err = builder.counter("otelcol_fapilog_exporter_file_files_removed",
		"Rotated files deleted by retention, by the limit that removed them (max_files, max_total_bytes, max_age).",
		"{file}")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileOpenFiles, err = builder.meter.Int64ObservableGauge(
		"otelcol_fapilog_exporter_file_open_files",
		metric.WithDescription("Files the exporter holds open; with placeholders in the path at most max_open_files, unless more batches than that write at once."),
		metric.WithUnit("{file}"),
	)
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileRecordsWritten, err = builder.counter("otelcol_fapilog_exporter_file_records_written",
		"Log records written (handed to the kernel; synced as well with fsync), to files or the console.",
		"{record}")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileReopens, err = builder.counter("otelcol_fapilog_exporter_file_reopens",
		"Active files opened again because another process changed them, by reason (truncated: copytruncate or > file in mmap mode; replaced: moved or removed).",
		"{file}")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileRotations, err = builder.counter("otelcol_fapilog_exporter_file_rotations",
		"Active files rotated, by reason (size, interval).",
		"{file}")
	errs = errors.Join(errs, err)
	builder.FapilogExporterFileWriteErrors, err = builder.counter("otelcol_fapilog_exporter_file_write_errors",
		"Failed attempts to write a batch, by the step that failed; the records not written are retried.",
		"{error}")
	errs = errors.Join(errs, err)
	return &builder, errs
}
