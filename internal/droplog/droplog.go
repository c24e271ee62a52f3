package droplog

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// MetricName is the counter every fapilog exporter increments for each record it drops.
const MetricName = "fapilog_exporter_dropped_records"

// logInterval is the minimum time between two log lines for the same reason.
const logInterval = 10 * time.Second

// Reporter counts and logs dropped records for one exporter.
type Reporter struct {
	logger  *zap.Logger
	counter metric.Int64Counter
	now     func() time.Time

	mu      sync.Mutex
	reasons map[string]*reasonState
	total   atomic.Int64
}

type reasonState struct {
	lastLogged time.Time
	unlogged   int64
}

// New builds a reporter from the exporter's telemetry; scopeName is the exporter's metadata.ScopeName.
func New(set component.TelemetrySettings, scopeName string) *Reporter {
	counter, err := set.MeterProvider.Meter(scopeName).Int64Counter(MetricName,
		metric.WithDescription("Log records an exporter dropped because the backend can never accept them"),
		metric.WithUnit("{records}"))
	if err != nil {
		set.Logger.Warn("Cannot create the dropped-records counter", zap.Error(err))
	}
	return &Reporter{logger: set.Logger, counter: counter, now: time.Now, reasons: map[string]*reasonState{}}
}

// Drop records that n records were dropped for reason (a short stable phrase such as "event too large").
// detail fields are logged with the first drop of an interval.
func (r *Reporter) Drop(ctx context.Context, reason string, n int, detail ...zap.Field) {
	if n <= 0 {
		return
	}
	r.total.Add(int64(n))
	if r.counter != nil {
		r.counter.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	r.mu.Lock()
	st, ok := r.reasons[reason]
	if !ok {
		st = &reasonState{}
		r.reasons[reason] = st
	}
	now := r.now()
	if ok && now.Sub(st.lastLogged) < logInterval {
		st.unlogged += int64(n)
		r.mu.Unlock()
		return
	}
	suppressed := st.unlogged
	st.lastLogged, st.unlogged = now, 0
	r.mu.Unlock()

	fields := append([]zap.Field{zap.String("reason", reason), zap.Int("dropped", n), zap.Int64("dropped_since_last_log", suppressed)}, detail...)
	r.logger.Warn("Dropped log records", fields...)
}

// Total is the number of records dropped since the reporter was created.
func (r *Reporter) Total() int64 { return r.total.Load() }
