package fapiloghttp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/droplog"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// logsExporter wires encoder, request builder and transport behind the circuit breaker. The exporter helper
// around it provides the queue, batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	builder   requestBuilder
	transport transport
	breaker   *breaker.Breaker
	drops     *droplog.Reporter

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
	userAgent := httpsend.UserAgent(set.BuildInfo)
	e := &logsExporter{
		cfg:       cfg,
		set:       set,
		builder:   newRequestBuilder(cfg),
		transport: newTransport(cfg, userAgent),
		breaker:   breaker.New(cfg.CircuitBreaker, set.Logger),
		drops:     droplog.New(set.TelemetrySettings, metadata.ScopeName),
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
// max_request_bytes calls for it. A request the endpoint rejects (4xx) is dropped and counted while the others
// still go. When a request fails in a retryable way, it and the ones after it are handed back for retry, never
// the ones already delivered.
func (e *logsExporter) push(ctx context.Context, ld plog.Logs) error {
	records := ld.LogRecordCount()
	if records == 0 {
		return nil
	}
	s := e.scratch.Get().(*pushScratch)
	defer e.release(s)

	e.prepare(s, ld, records)
	if s.plan.dropped > 0 {
		e.drops.Drop(ctx, "record larger than max_request_bytes", s.plan.dropped, zap.Int64("max_request_bytes", int64(e.cfg.MaxRequestBytes)))
	}

	var rejected []error
	rejectedRecords := 0
	for i, r := range s.plan.requests {
		err := e.breaker.Do(ctx, func(ctx context.Context) error { return e.transport.send(ctx, r) })
		switch {
		case err == nil:
		case consumererror.IsPermanent(err):
			httpsend.ReportRejected(ctx, e.drops, "endpoint", err, r.records)
			rejected = append(rejected, err)
			rejectedRecords += r.records
		case i == 0 && s.plan.dropped == 0:
			return err // nothing delivered, nothing dropped: the helper retries ld as it is
		default:
			return consumererror.NewLogs(err, plogsubset.Select(ld, func(r int) bool { return s.plan.owner[r] >= i }))
		}
	}
	if len(rejected) > 0 {
		return consumererror.NewPermanent(fmt.Errorf("endpoint rejected %d of %d records: %w", rejectedRecords, records, errors.Join(rejected...)))
	}
	return nil
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
