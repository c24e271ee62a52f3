package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/droplog"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// errorSnippetLimit is how much of CloudWatch's answer is logged with a rejected request.
const errorSnippetLimit = 256

// logsExporter wires encoder, request builder and transport behind the circuit breaker. The exporter helper
// around it provides the queue, batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	template  streamTemplate // log_stream_name as written; bound to the host and start time in start
	streams   streamTemplate
	builder   requestBuilder
	transport *transport
	breaker   *breaker.Breaker
	drops     *droplog.Reporter

	// newAPI builds the CloudWatch client at start; tests replace it.
	newAPI  func(ctx context.Context) (cloudWatchAPI, error)
	now     func() time.Time
	scratch sync.Pool // *pushScratch, one per concurrent push
}

type pushScratch struct {
	entry envelope.Entry
	batch encodedBatch
	plan  plan
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	tmpl, err := parseStreamTemplate(cfg.LogStreamName)
	if err != nil {
		return nil, fmt.Errorf("log_stream_name: %w", err)
	}
	e := &logsExporter{
		cfg:      cfg,
		set:      set,
		template: tmpl,
		builder:  newRequestBuilder(cfg),
		breaker:  breaker.New(cfg.CircuitBreaker, set.Logger, nil),
		drops:    droplog.New(set.TelemetrySettings, metadata.ScopeName),
		now:      time.Now,
	}
	e.newAPI = e.newSDKClient
	e.scratch.New = func() any { return new(pushScratch) }
	return e, nil
}

// start loads the AWS configuration (region and credentials from the standard chain) and binds {hostname} and
// {timestamp} of the stream name. Nothing is sent yet: the group and stream are created on first use, so a
// collector starts even while CloudWatch is unreachable.
func (e *logsExporter) start(ctx context.Context, _ component.Host) error {
	api, err := e.newAPI(ctx)
	if err != nil {
		return err
	}
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = missingAttributeValue
	}
	e.streams = e.template.bind(hostname, e.now())
	e.transport = newTransport(e.cfg, api, e.set.Logger)
	if name, ok := e.streams.static(); ok {
		e.set.Logger.Info("Sending logs to CloudWatch", zap.String("log_group", e.cfg.LogGroupName), zap.String("log_stream", name))
	} else {
		e.set.Logger.Info("Sending logs to CloudWatch, one stream per resource", zap.String("log_group", e.cfg.LogGroupName), zap.String("log_stream_name", e.cfg.LogStreamName))
	}
	return nil
}

// newSDKClient builds the aws-sdk-go-v2 client. The SDK's own retries are off (aws.NopRetryer): the exporter
// helper's retry_on_failure is the only retry policy, so a failure is neither retried twice over nor hidden from
// the circuit breaker, and an open circuit really leaves the service alone.
func (e *logsExporter) newSDKClient(ctx context.Context) (cloudWatchAPI, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithAppID("fapilog-otelcol"),
	}
	if e.cfg.Region != "" {
		opts = append(opts, config.WithRegion(e.cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("region: not set: set region, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the AWS profile")
	}
	return cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) {
		if e.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(e.cfg.EndpointURL)
		}
	}), nil
}

func (e *logsExporter) shutdown(context.Context) error { return nil }

// push sends ld. Each record is encoded once; the batch goes out as one PutLogEvents request per stream and per
// 10,000 events / 1 MiB / 24 h. Records CloudWatch can never accept are dropped and counted before sending; a
// request CloudWatch rejects is dropped and counted while the others still go. When a request fails in a
// retryable way, its records and those of the requests not sent yet are handed back for retry, never the ones
// already delivered.
func (e *logsExporter) push(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	s := e.scratch.Get().(*pushScratch)
	defer func() {
		s.plan.release()
		e.scratch.Put(s)
	}()
	now := e.now()
	s.batch.encode(ld, now, &e.streams, &s.entry)
	e.builder.build(&s.batch, now, &s.plan)
	e.reportLeftOut(ctx, &s.plan)
	leftOut := s.plan.tooOld + s.plan.tooNew + s.plan.oversize

	var rejected []error
	rejectedRecords := 0
	for i, r := range s.plan.requests {
		stream := s.batch.streams[r.stream]
		var refused rejectedEvents
		err := e.breaker.Do(ctx, func(ctx context.Context) error {
			var err error
			refused, err = e.transport.send(ctx, stream, r.events)
			return err
		})
		switch {
		case err == nil:
			e.reportRefused(ctx, refused, stream)
		case consumererror.IsPermanent(err):
			e.drops.Drop(ctx, "rejected by CloudWatch ("+errorCode(err)+")", len(r.events),
				zap.String("log_group", e.cfg.LogGroupName), zap.String("log_stream", stream), zap.String("error", snippet(err)))
			rejected = append(rejected, err)
			rejectedRecords += len(r.events)
		case i == 0 && leftOut == 0:
			return err // nothing delivered, nothing dropped: the helper retries ld as it is
		default:
			return consumererror.NewLogs(err, plogsubset.Select(ld, func(r int) bool { return s.plan.owner[r] >= int32(i) }))
		}
	}
	if len(rejected) > 0 {
		return consumererror.NewPermanent(fmt.Errorf("CloudWatch rejected %d of %d records: %w", rejectedRecords, len(s.plan.owner), errors.Join(rejected...)))
	}
	return nil
}

// reportLeftOut counts and logs the records the request builder did not send as they were.
func (e *logsExporter) reportLeftOut(ctx context.Context, p *plan) {
	group := zap.String("log_group", e.cfg.LogGroupName)
	e.drops.Drop(ctx, "event older than 14 days", p.tooOld, group)
	e.drops.Drop(ctx, "event more than 2 hours in the future", p.tooNew, group)
	e.drops.Drop(ctx, "event larger than max_event_size", p.oversize, group, zap.Int64("max_event_size", int64(e.cfg.MaxEventSize)))
	// A truncated record is delivered, but not whole: it is counted under its own reason.
	e.drops.Drop(ctx, "event truncated to max_event_size", p.truncated, group, zap.Int64("max_event_size", int64(e.cfg.MaxEventSize)))
}

// reportRefused counts and logs the events CloudWatch refused inside an accepted request.
func (e *logsExporter) reportRefused(ctx context.Context, r rejectedEvents, stream string) {
	fields := []zap.Field{zap.String("log_group", e.cfg.LogGroupName), zap.String("log_stream", stream)}
	e.drops.Drop(ctx, "rejected by CloudWatch: too old", r.tooOld, fields...)
	e.drops.Drop(ctx, "rejected by CloudWatch: older than the log group's retention", max(0, r.expired-r.tooOld), fields...)
	e.drops.Drop(ctx, "rejected by CloudWatch: too new", r.tooNew, fields...)
}

func snippet(err error) string {
	s := err.Error()
	if len(s) > errorSnippetLimit {
		return s[:errorSnippetLimit]
	}
	return s
}
