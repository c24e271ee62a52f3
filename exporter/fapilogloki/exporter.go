package fapilogloki

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/droplog"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// logsExporter wires request builder, encoder and transport behind the circuit breaker. The exporter helper
// around it provides the queue, batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	labels    *labeler
	builder   *requestBuilder
	encoder   encoder
	transport transport
	breaker   *breaker.Breaker
	drops     *droplog.Reporter

	scratch sync.Pool // *pushScratch, one per concurrent push
}

type pushScratch struct {
	entry  envelope.Entry
	batch  batch
	chunks []chunk
	encode encodeScratch
	failed []bool
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	url, err := pushURL(cfg.ClientConfig.Endpoint)
	if err != nil {
		return nil, err
	}
	labels := newLabeler(cfg, set.Logger)
	e := &logsExporter{
		cfg:     cfg,
		set:     set,
		labels:  labels,
		builder: newRequestBuilder(cfg, labels),
		breaker: breaker.New(cfg.CircuitBreaker, set.Logger, nil),
		drops:   droplog.New(set.TelemetrySettings, metadata.ScopeName),
	}
	e.encoder = encoder{encoding: cfg.Encoding, labels: labels, metaNames: e.builder.metaNames}
	userAgent := httpsend.UserAgent(set.BuildInfo)
	e.transport = newTransport(cfg, url, e.encoder.contentType(), userAgent)
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
	return nil
}

// push sends ld. Each record is serialized once; records are grouped into streams by their labels and the streams
// go out in requests of at most max_streams_per_request streams. A request Loki rejects (4xx: out of order, too
// old, line too long...) is dropped and counted while the other requests still go. Requests that fail in a
// retryable way are handed back for retry (consumererror.NewLogs), never the ones already delivered. After a
// network error the requests not sent yet are handed back too, without trying them against a backend that is down.
func (e *logsExporter) push(ctx context.Context, ld plog.Logs) error {
	records := ld.LogRecordCount()
	if records == 0 {
		return nil
	}
	s := e.scratch.Get().(*pushScratch)
	defer e.release(s)

	b := &s.batch
	e.builder.build(ld, time.Now(), &s.entry, b)
	s.chunks = e.builder.chunks(b, s.chunks)

	var retryable, rejected []error
	delivered, rejectedRecords, unreachable := 0, 0, false
	for _, c := range s.chunks {
		entries := b.entriesOf(c)
		var err error
		if unreachable {
			err = errNotSent
		} else {
			body := e.encoder.encode(b, c, &s.encode)
			err = e.breaker.Do(ctx, func(ctx context.Context) error { return e.transport.send(ctx, body) })
		}
		switch {
		case err == nil:
			delivered += len(entries)
		case consumererror.IsPermanent(err):
			httpsend.ReportRejected(ctx, e.drops, "loki", err, len(entries))
			rejected = append(rejected, err)
			rejectedRecords += len(entries)
		default:
			if !unreachable {
				retryable = append(retryable, err)
				_, answered := errors.AsType[*httpsend.StatusError](err)
				unreachable = !answered && !errors.Is(err, breaker.ErrOpen)
			}
			s.markFailed(records, entries)
		}
	}
	if len(retryable) > 0 {
		err := joinRetryable(retryable)
		if delivered == 0 && rejectedRecords == 0 {
			return err // nothing delivered, nothing dropped: the helper retries ld as it is
		}
		return consumererror.NewLogs(err, plogsubset.Select(ld, func(i int) bool { return s.failed[i] }))
	}
	if len(rejected) > 0 {
		return consumererror.NewPermanent(fmt.Errorf("loki rejected %d of %d records: %w", rejectedRecords, records, errors.Join(rejected...)))
	}
	return nil
}

// errNotSent marks the requests of a push left unsent after a network error: they are retried with the rest.
var errNotSent = errors.New("not sent: the endpoint was unreachable for an earlier request of the same batch")

func (s *pushScratch) markFailed(records int, entries []entry) {
	if len(s.failed) != records {
		s.failed = resizeBools(s.failed, records)
	}
	for i := range entries {
		s.failed[entries[i].record] = true
	}
}

func resizeBools(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// joinRetryable joins the errors of the failed requests with the longest throttle delay first: the retry sender
// waits for the first throttle error it finds.
func joinRetryable(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	best, bestDelay := 0, time.Duration(-1)
	for i, err := range errs {
		if se, ok := errors.AsType[*httpsend.StatusError](err); ok && se.RetryAfter > bestDelay {
			best, bestDelay = i, se.RetryAfter
		}
	}
	errs[0], errs[best] = errs[best], errs[0]
	return errors.Join(errs...)
}

func (e *logsExporter) release(s *pushScratch) {
	s.batch.release()
	s.failed = s.failed[:0]
	e.scratch.Put(s)
}
