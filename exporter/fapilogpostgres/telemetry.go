package fapilogpostgres

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
)

// The exporter's own telemetry, declared in metadata.yaml (written by hand in the shape of mdatagen's
// TelemetryBuilder: mdatagen is not served by the module proxy here). The shared delivery metrics
// (fapilog_exporter_*) are recorded by internal/delivery.
const (
	metricDuplicatesSkipped = "otelcol_fapilog_exporter_postgres_duplicates_skipped"
	metricPartitionsCreated = "otelcol_fapilog_exporter_postgres_partitions_created"
	metricPartitionsDropped = "otelcol_fapilog_exporter_postgres_partitions_dropped"
)

type postgresTelemetry struct {
	duplicatesSkipped metric.Int64Counter
	partitionsCreated metric.Int64Counter
	partitionsDropped metric.Int64Counter
	// own is the exporter attribute every series carries, as internal/delivery's and exporterhelper's do.
	own metric.MeasurementOption
}

func newPostgresTelemetry(set component.TelemetrySettings, id component.ID) (*postgresTelemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	t := &postgresTelemetry{own: metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", id.String())))}
	var errs, err error
	t.duplicatesSkipped, err = m.Int64Counter(metricDuplicatesSkipped, metric.WithUnit("{record}"),
		metric.WithDescription("Records not inserted because a row with the same message_id is already stored (a batch retried after an ambiguous failure, or a record sent twice)."))
	errs = errors.Join(errs, err)
	t.partitionsCreated, err = m.Int64Counter(metricPartitionsCreated, metric.WithUnit("{partition}"),
		metric.WithDescription("Partitions of the log table created ahead of time (partitioning)."))
	errs = errors.Join(errs, err)
	t.partitionsDropped, err = m.Int64Counter(metricPartitionsDropped, metric.WithUnit("{partition}"),
		metric.WithDescription("Partitions of the log table detached and dropped because their rows were older than partitioning.retention."))
	errs = errors.Join(errs, err)
	return t, errs
}

func (t *postgresTelemetry) skipped(ctx context.Context, rows int64) {
	if rows > 0 {
		t.duplicatesSkipped.Add(ctx, rows, t.own)
	}
}
