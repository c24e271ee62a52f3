package fapiloghttp

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// logsExporter wires encoder, request builder and transport to the shared delivery path (circuit breaker,
// outcome classification, rejections, status and telemetry). The exporter helper around it provides the queue,
// batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	builder   requestBuilder
	transport transport
	delivery  *delivery.Deliverer

	scratch        sync.Pool    // *pushScratch, one per concurrent push
	bytesPerRecord atomic.Int64 // size of the last batch's records, to allocate bodies once
}

type pushScratch struct {
	entry envelope.Entry
	batch encodedBatch
	plan  plan
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	if err := validateEndpoint(cfg.ClientConfig.Endpoint); err != nil {
		return nil, err
	}
	d, err := delivery.New(set.TelemetrySettings, metadata.ScopeName, delivery.Settings{
		ID:            set.ID,
		Backend:       "the endpoint",
		Breaker:       cfg.CircuitBreaker,
		Describe:      httpsend.Describe,
		RefusesConfig: httpsend.RefusesConfig,
		// The HTTP client's own timeout bounds each request, as in core's otlphttp exporter.
	})
	if err != nil {
		return nil, err
	}
	e := &logsExporter{
		cfg:       cfg,
		set:       set,
		builder:   newRequestBuilder(cfg),
		transport: newTransport(cfg, httpsend.UserAgent(set.BuildInfo)),
		delivery:  d,
	}
	e.scratch.New = func() any { return new(pushScratch) }
	e.bytesPerRecord.Store(512)
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
	e.logStartWarnings()
	return nil
}

func (e *logsExporter) logStartWarnings() {
	logger, cfg := e.set.Logger, e.cfg
	if cfg.Mode == ModeWebhook {
		switch {
		case cfg.Secret == "":
			logger.Warn("Webhook requests are not signed: set secret so that the receiver can verify them")
		case cfg.SignatureMode == SignatureHeader:
			logger.Warn("signature_mode: header is deprecated: it sends the secret itself in X-Webhook-Secret on every " +
				"request. Verify X-Fapilog-Signature-256 in the receiver and switch to signature_mode: hmac")
			if u, err := url.Parse(cfg.ClientConfig.Endpoint); err == nil && u.Scheme == "http" {
				logger.Warn("signature_mode: header over plain http sends the webhook secret in clear text")
			}
		}
	}
	if cfg.RetryMaxAttempts > 0 {
		r := cfg.retryConfig()
		logger.Info("retry_max_attempts replaces retry_on_failure.max_elapsed_time",
			zap.Int("retry_max_attempts", cfg.RetryMaxAttempts), zap.Bool("retry_enabled", r.Enabled),
			zap.Duration("max_elapsed_time", r.MaxElapsedTime))
	}
}

func (e *logsExporter) shutdown(context.Context) error {
	if e.transport.client != nil {
		e.transport.client.CloseIdleConnections()
	}
	return nil
}

// push sends ld. Each record is encoded once; the batch goes out as one request, or as several when
// max_request_bytes calls for it; the delivery path sends them and says what to retry.
func (e *logsExporter) push(ctx context.Context, ld plog.Logs) error {
	records := ld.LogRecordCount()
	if records == 0 {
		return nil
	}
	s := e.scratch.Get().(*pushScratch)
	defer e.release(s)

	e.prepare(s, ld, records)
	return e.delivery.Deliver(ctx, ld, &s.plan.Plan, func(ctx context.Context, i int) (delivery.Result, error) {
		r := s.plan.requests[i]
		return delivery.Result{Bytes: len(r.body)}, e.transport.send(ctx, r)
	})
}

// prepare encodes ld once and plans its requests into s.
func (e *logsExporter) prepare(s *pushScratch, ld plog.Logs, records int) {
	// A fresh body each time: the HTTP client may read a request body again after Do returns (HTTP/2 retries).
	s.batch.body = make([]byte, 0, e.sizeHint(records))
	s.batch.encode(ld, time.Now(), &e.builder.framing, &s.entry)
	e.bytesPerRecord.Store(int64(len(s.batch.body) / records))
	e.builder.build(&s.batch, &s.plan)
}

func (e *logsExporter) release(s *pushScratch) {
	s.batch.body = nil // owned by the requests just sent
	clear(s.plan.requests)
	e.scratch.Put(s)
}

func (e *logsExporter) sizeHint(records int) int {
	return records*int(e.bytesPerRecord.Load())*9/8 + 256
}
