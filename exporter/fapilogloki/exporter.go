package fapilogloki

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// logsExporter wires request builder, encoder and transport to the shared delivery path (circuit breaker,
// outcome classification, rejections, status and telemetry). The exporter helper around it provides the queue,
// batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	labels    *labeler
	tenants   *tenants
	builder   *requestBuilder
	encoder   encoder
	transport transport
	delivery  *delivery.Deliverer

	scratch sync.Pool // *pushScratch, one per concurrent push
}

type pushScratch struct {
	entry  envelope.Entry
	batch  batch
	chunks []chunk
	encode encodeScratch
	plan   delivery.Plan
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	url, err := pushURL(cfg.ClientConfig.Endpoint)
	if err != nil {
		return nil, err
	}
	tel, err := newLokiTelemetry(set.TelemetrySettings, set.ID)
	if err != nil {
		return nil, err
	}
	tenants, err := newTenants(cfg, set.TelemetrySettings, set.ID)
	if err != nil {
		return nil, err
	}
	d, err := delivery.New(set.TelemetrySettings, metadata.ScopeName, delivery.Settings{
		ID:            set.ID,
		Backend:       "Loki",
		Breaker:       cfg.CircuitBreaker,
		Describe:      describeRefusal,
		RefusesConfig: tenants.refusesConfig,
		Isolated:      tenants.throttledAlone,
		// The HTTP client's own timeout bounds each request, as in core's otlphttp exporter.
	})
	if err != nil {
		tenants.shutdown()
		return nil, err
	}
	labels := newLabeler(cfg, set.Logger, tel)
	e := &logsExporter{
		cfg:      cfg,
		set:      set,
		labels:   labels,
		tenants:  tenants,
		builder:  newRequestBuilder(cfg, labels, tenants),
		delivery: d,
	}
	e.encoder = newEncoder(cfg.Encoding, labels, e.builder.metaNames)
	e.transport = newTransport(cfg, url, e.encoder.contentType(), httpsend.UserAgent(set.BuildInfo))
	e.scratch.New = func() any { return new(pushScratch) }
	return e, nil
}

// start builds the HTTP client here rather than at creation: auth and middleware extensions exist only now.
func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	client, err := httpsend.NewClient(ctx, &e.cfg.ClientConfig, host, e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.transport.client = client
	e.delivery.Start(host)
	for _, d := range e.labels.defs {
		if d.dynamic < 0 && d.value != e.cfg.Labels[d.name] {
			e.set.Logger.Info("Static label value sanitised: Loki label values keep only [a-zA-Z0-9_-]",
				zap.String("label", d.name), zap.String("configured", e.cfg.Labels[d.name]), zap.String("sent", d.value))
		}
	}
	return nil
}

func (e *logsExporter) shutdown(context.Context) error {
	if e.transport.client != nil {
		e.transport.client.CloseIdleConnections()
	}
	e.tenants.shutdown()
	return nil
}

// push sends ld. Each record is serialized once; records are grouped by tenant and into streams by their labels,
// and the streams go out in requests of one tenant and at most max_streams_per_request streams. The delivery path
// sends the requests in order and tells exporterhelper what to retry: a request Loki refuses (4xx: too old, line
// too long...) is counted and logged while the other requests still go; after a retryable failure only the
// records not delivered yet are retried, and a tenant throttled alone (429) does not hold the others back.
func (e *logsExporter) push(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	s := e.scratch.Get().(*pushScratch)
	defer e.release(s)

	b := &s.batch
	e.builder.build(ld, time.Now(), &s.entry, b)
	s.chunks = e.builder.chunks(b, s.chunks)
	e.builder.plan(b, s.chunks, &s.plan)
	return e.delivery.Deliver(ctx, ld, &s.plan, func(ctx context.Context, i int) (delivery.Result, error) {
		c := s.chunks[i]
		body := e.encoder.encode(b, c, &s.encode)
		defer body.release()
		err := e.transport.send(ctx, body, b.tenantOf(c))
		if err == nil || consumererror.IsPermanent(err) { // handled for good: a retry would route them again
			e.tenants.countOverflow(ctx, b.refusedTenant, b.overflowIn(c))
		}
		return delivery.Result{Bytes: len(body.buf)}, err
	})
}

func (e *logsExporter) release(s *pushScratch) {
	s.batch.release()
	e.scratch.Put(s)
}
