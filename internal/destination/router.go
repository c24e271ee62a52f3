package destination

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// Metric names, as the exporters' metadata.yaml declare them (mdatagen adds the otelcol_ prefix).
const (
	MetricOverflow = "otelcol_fapilog_exporter_destinations_overflow"
	MetricOpen     = "otelcol_fapilog_exporter_destinations_open"
)

// overflowLogInterval keeps a lasting overflow to one warning a minute.
const overflowLogInterval = time.Minute

// Router resolves the destination of each resource's records and keeps the number of distinct destinations at
// max_destinations: records that would open one more go to the default destination instead, and are counted.
// The cap holds for the router's lifetime (the exporter's run): destinations such as files outlive the moment
// they are written to. A Router is safe for concurrent use.
type Router struct {
	template   *Template
	max        int
	defaultDst string
	logger     *zap.Logger
	now        func() time.Time

	mu           sync.Mutex
	admitted     map[string]string // interned names, the default included once it is used
	scratch      []byte
	lastWarning  time.Time
	overflowSeen int64 // records overflowed since the last warning

	overflow     metric.Int64Counter
	open         metric.Int64ObservableGauge
	registration metric.Registration
	// own carries the exporter attribute on every series (see WithComponentID).
	own metric.MeasurementOption
}

// RouterOption adjusts a Router.
type RouterOption func(*Router)

// WithComponentID puts the exporter's component ID on every series as the exporter attribute, as on
// exporterhelper's and internal/delivery's metrics, so that two exporters of one type keep separate series.
func WithComponentID(id component.ID) RouterOption {
	return func(r *Router) {
		r.own = metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", id.String())))
	}
}

// NewRouter returns a router for t with at most maxDestinations distinct destinations besides the default one
// (maxDestinations must be at least 1). Its metrics are recorded under scopeName, the exporter's
// metadata.ScopeName; the exporter's metadata.yaml declares them.
func NewRouter(t *Template, maxDestinations int, set component.TelemetrySettings, scopeName string, opts ...RouterOption) (*Router, error) {
	if maxDestinations < 1 {
		return nil, errors.New("max_destinations must be at least 1")
	}
	r := &Router{
		template: t, max: maxDestinations, defaultDst: t.DefaultName(), logger: set.Logger, now: time.Now,
		admitted: map[string]string{}, own: metric.WithAttributeSet(attribute.NewSet()),
	}
	for _, opt := range opts {
		opt(r)
	}
	meter := set.MeterProvider.Meter(scopeName)
	var err, errs error
	r.overflow, err = meter.Int64Counter(MetricOverflow, metric.WithUnit("{record}"),
		metric.WithDescription("Log records sent to the default destination because max_destinations distinct destinations were already in use."))
	errs = errors.Join(errs, err)
	r.open, err = meter.Int64ObservableGauge(MetricOpen, metric.WithUnit("{destination}"),
		metric.WithDescription("Distinct destinations in use since the exporter started: at most max_destinations, plus the default destination."))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, errs
	}
	r.registration, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(r.open, int64(r.Destinations()), r.own)
		return nil
	}, r.open)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Resolve returns the destination of a resource's records and, when they go to the default destination because
// the cap is reached, the name they were refused (else ""). Call it once per ResourceLogs, not per record: the
// name depends on resource attributes only. It allocates only for a destination seen first. It counts nothing:
// an exporter may route the same records again (a retry, a client sending them again), so it counts them with
// CountOverflow once they are handled for good, and a record is counted once.
func (r *Router) Resolve(resource pcommon.Resource) (name, refused string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scratch = r.template.AppendName(r.scratch[:0], resource.Attributes())
	if name, ok := r.admitted[string(r.scratch)]; ok {
		return name, ""
	}
	name = string(r.scratch)
	if name != r.defaultDst && r.nonDefault() >= r.max {
		refused, name = name, r.defaultDst
		if _, ok := r.admitted[name]; ok {
			return name, refused
		}
	}
	r.admitted[name] = name
	return name, refused
}

// CountOverflow counts records sent to the default destination in place of refused (as Resolve named it), and
// warns at most once a minute.
func (r *Router) CountOverflow(ctx context.Context, refused string, records int) {
	if records == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.countOverflow(ctx, refused, records)
}

// nonDefault is how many admitted destinations count against the cap.
func (r *Router) nonDefault() int {
	if _, ok := r.admitted[r.defaultDst]; ok {
		return len(r.admitted) - 1
	}
	return len(r.admitted)
}

func (r *Router) countOverflow(ctx context.Context, name string, records int) {
	r.overflow.Add(ctx, int64(records), r.own)
	r.overflowSeen += int64(records)
	if now := r.now(); now.Sub(r.lastWarning) >= overflowLogInterval {
		r.logger.Warn("max_destinations reached: records of further destinations go to the default destination",
			zap.Int("max_destinations", r.max), zap.String("default_destination", r.defaultDst),
			zap.String("refused", truncateForLog(name)), zap.Int64("records_since_last_warning", r.overflowSeen))
		r.lastWarning, r.overflowSeen = now, 0
	}
}

// truncateForLog keeps a log line bounded whatever a sender put in its attributes.
func truncateForLog(name string) string {
	return string(truncateUTF8([]byte(name), 128))
}

// Destinations is how many distinct destinations are in use, the default one included once used.
func (r *Router) Destinations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.admitted)
}

// Default is the default destination's name.
func (r *Router) Default() string { return r.defaultDst }

// Shutdown unregisters the gauge's callback.
func (r *Router) Shutdown() {
	if r.registration != nil {
		_ = r.registration.Unregister()
	}
}
