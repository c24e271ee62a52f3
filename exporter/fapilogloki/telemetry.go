package fapilogloki

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
)

// The exporter's own telemetry, declared in metadata.yaml beside the delivery path's fapilog_exporter_* metrics
// (written by hand in the shape of mdatagen's TelemetryBuilder: mdatagen is not served by the module proxy here).
const metricLabelValuesReplaced = "otelcol_fapilog_exporter_loki_label_values_replaced"

// lokiTelemetry holds the instruments only this exporter records. Every series carries the exporter's component ID,
// as the delivery path's and exporterhelper's own do.
type lokiTelemetry struct {
	labelValuesReplaced metric.Int64Counter
	exporter            attribute.KeyValue
}

func newLokiTelemetry(set component.TelemetrySettings, id component.ID) (*lokiTelemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	replaced, err := m.Int64Counter(metricLabelValuesReplaced, metric.WithUnit("{record}"),
		metric.WithDescription("Log records whose label_keys value was sent as _other_ because the label had reached max_label_values, by label."))
	if err != nil {
		return nil, err
	}
	return &lokiTelemetry{labelValuesReplaced: replaced, exporter: attribute.String("exporter", id.String())}, nil
}

// ofLabel is the attribute set of the label-values-replaced series of one label, built once per label.
func (t *lokiTelemetry) ofLabel(label string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(t.exporter, attribute.String("label", label)))
}
