package delivery

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

// The telemetry every network exporter declares in its metadata.yaml (written by hand in the shape of mdatagen's
// TelemetryBuilder: mdatagen is not served by the module proxy here). Names carry mdatagen's otelcol_ prefix.
const (
	MetricRecordsRejected    = "otelcol_fapilog_exporter_records_rejected"
	MetricRecordsRetried     = "otelcol_fapilog_exporter_records_retried"
	MetricRequests           = "otelcol_fapilog_exporter_requests"
	MetricSentBytes          = "otelcol_fapilog_exporter_sent_bytes"
	MetricBreakerState       = "otelcol_fapilog_exporter_circuit_breaker_state"
	MetricBreakerTransitions = "otelcol_fapilog_exporter_circuit_breaker_transitions"
)

// Request outcomes, the values of the requests metric's outcome attribute.
const (
	outcomeDelivered   = "delivered"
	outcomeRejected    = "rejected"
	outcomeFailed      = "failed"
	outcomeCircuitOpen = "circuit_open"
	outcomeCancelled   = "cancelled"
)

type telemetry struct {
	recordsRejected    metric.Int64Counter
	recordsRetried     metric.Int64Counter
	requests           metric.Int64Counter
	sentBytes          metric.Int64Counter
	breakerTransitions metric.Int64Counter
	breakerState       metric.Int64ObservableGauge
	meter              metric.Meter
	registration       metric.Registration

	// exporter is the component ID every series carries (as exporterhelper's own metrics do), so that two
	// instances of one exporter type keep separate series.
	exporter attribute.KeyValue
	// attribute sets built once, so that recording on the hot path allocates nothing
	own      metric.MeasurementOption
	outcomes map[string]metric.AddOption
	toState  map[breaker.State]metric.AddOption
}

func newTelemetry(set component.TelemetrySettings, scopeName string, id component.ID) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{meter: m, exporter: attribute.String("exporter", id.String()),
		outcomes: map[string]metric.AddOption{}, toState: map[breaker.State]metric.AddOption{}}
	t.own = metric.WithAttributeSet(attribute.NewSet(t.exporter))
	var errs, err error
	t.recordsRejected, err = m.Int64Counter(MetricRecordsRejected, metric.WithUnit("{record}"),
		metric.WithDescription("Log records the backend (or the request builder on its behalf) refused for good, by reason."))
	errs = errors.Join(errs, err)
	t.recordsRetried, err = m.Int64Counter(MetricRecordsRetried, metric.WithUnit("{record}"),
		metric.WithDescription("Log records handed back to the retry policy after a retryable failure, counted at every failed attempt."))
	errs = errors.Join(errs, err)
	t.requests, err = m.Int64Counter(MetricRequests, metric.WithUnit("{request}"),
		metric.WithDescription("Requests sent to the backend, by outcome: delivered, rejected, failed (retryable), circuit_open (held back by the open circuit breaker and failed by its probe), cancelled (the caller gave up first: shutdown, or a client that hung up; says nothing of the backend)."))
	errs = errors.Join(errs, err)
	t.sentBytes, err = m.Int64Counter(MetricSentBytes, metric.WithUnit("By"),
		metric.WithDescription("Payload bytes of the requests the backend accepted, before transport compression."))
	errs = errors.Join(errs, err)
	t.breakerTransitions, err = m.Int64Counter(MetricBreakerTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker transitions, by the state entered (open, half_open, closed)."))
	errs = errors.Join(errs, err)
	t.breakerState, err = m.Int64ObservableGauge(MetricBreakerState, metric.WithUnit("{state}"),
		metric.WithDescription("Circuit breaker state: 0 closed, 1 open, 2 half-open."))
	errs = errors.Join(errs, err)
	for _, o := range []string{outcomeDelivered, outcomeRejected, outcomeFailed, outcomeCircuitOpen, outcomeCancelled} {
		t.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(t.exporter, attribute.String("outcome", o)))
	}
	for _, s := range []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen} {
		t.toState[s] = metric.WithAttributeSet(attribute.NewSet(t.exporter, attribute.String("to", s.String())))
	}
	return t, errs
}

// observeBreaker reports b's state in the state gauge at every collection.
func (t *telemetry) observeBreaker(b *breaker.Breaker) error {
	reg, err := t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(t.breakerState, int64(b.State()), t.own)
		return nil
	}, t.breakerState)
	t.registration = reg
	return err
}

func (t *telemetry) shutdown() {
	if t.registration != nil {
		_ = t.registration.Unregister()
	}
}

func (t *telemetry) delivered(ctx context.Context, bytes int) {
	t.requests.Add(ctx, 1, t.outcomes[outcomeDelivered])
	t.sent(ctx, bytes)
}

// sent counts payload bytes the backend accepted.
func (t *telemetry) sent(ctx context.Context, bytes int) {
	if bytes > 0 {
		t.sentBytes.Add(ctx, int64(bytes), t.own)
	}
}

func (t *telemetry) request(ctx context.Context, outcome string) {
	t.requests.Add(ctx, 1, t.outcomes[outcome])
}

func (t *telemetry) rejected(ctx context.Context, reason string, records int) {
	t.recordsRejected.Add(ctx, int64(records), metric.WithAttributes(t.exporter, attribute.String("reason", reason)))
}

func (t *telemetry) retried(ctx context.Context, records int) {
	if records > 0 {
		t.recordsRetried.Add(ctx, int64(records), t.own)
	}
}

func (t *telemetry) breakerTransition(to breaker.State) {
	t.breakerTransitions.Add(context.Background(), 1, t.toState[to])
}
