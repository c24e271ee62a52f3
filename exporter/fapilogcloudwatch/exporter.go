package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// logsExporter wires encoder, request builder and transport to the shared delivery path (circuit breaker,
// outcome classification, rejections, status and telemetry). The exporter helper around it provides the queue,
// batching and retries.
type logsExporter struct {
	cfg       *Config
	set       exporter.Settings
	routes    *routes
	encoder   encoder
	builder   requestBuilder
	transport *transport
	delivery  *delivery.Deliverer
	telemetry *metadata.TelemetryBuilder
	// own is the exporter attribute of the exporter's own series (as on the delivery path's and exporterhelper's).
	own metric.AddOption

	// httpClient carries the CloudWatch calls; shutdown closes its idle connections, which the SDK's own client
	// offers no way to do.
	httpClient *http.Client
	encoding   sync.Pool // *encodeScratch, one per concurrent conversion
	plans      sync.Pool // *plan, one per concurrent push
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	// {hostname} and {timestamp} are fixed now, when the collector creates the exporter.
	r, err := newRoutes(cfg, set, collectorHostname(), time.Now())
	if err != nil {
		return nil, err
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		r.shutdown()
		return nil, err
	}
	e := &logsExporter{
		cfg:       cfg,
		set:       set,
		routes:    r,
		encoder:   newEncoder(cfg, r),
		builder:   newRequestBuilder(cfg),
		telemetry: tel,
		own:       metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", set.ID.String()))),
	}
	e.delivery, err = delivery.New(set.TelemetrySettings, metadata.ScopeName, delivery.Settings{
		ID:            set.ID,
		Backend:       "CloudWatch",
		Breaker:       cfg.CircuitBreaker,
		Describe:      describe,
		RefusesConfig: e.refusesConfig,
		Isolated:      isolated,
		// timeout bounds each API call in the transport (a request may need CreateLogGroup, CreateLogStream and
		// PutLogEvents again), as the HTTP client's timeout does in the HTTP exporters.
	})
	if err != nil {
		r.shutdown()
		return nil, err
	}
	e.encoding.New = func() any { return new(encodeScratch) }
	e.plans.New = func() any { return new(plan) }
	return e, nil
}

// start loads the AWS configuration (region and credentials from the standard chain). Nothing is sent yet: groups
// and streams are created on first use, so a collector starts even while CloudWatch is unreachable.
func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	api, err := e.newSDKClient(ctx)
	if err != nil {
		return err
	}
	e.transport = newTransport(e.cfg, api, e.set.Logger)
	e.delivery.Start(host)
	group, stream := e.routes.describe()
	e.set.Logger.Info("Sending logs to CloudWatch", zap.String("log_group", group), zap.String("log_stream", stream))
	return nil
}

// newSDKClient builds the aws-sdk-go-v2 client. The SDK's own retries are off (aws.NopRetryer): the exporter
// helper's retry_on_failure is the only retry policy, so a failure is neither retried twice over nor hidden from
// the circuit breaker, and an open circuit really leaves the service alone. PutLogEvents bodies are written by
// putLogEventsProtocol.
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
	e.httpClient = ownHTTPClient(awsCfg.HTTPClient)
	awsCfg.HTTPClient = e.httpClient
	return cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) {
		if e.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(e.cfg.EndpointURL)
		}
		o.Protocol = putLogEventsProtocol{o.Protocol}
	}), nil
}

// ownHTTPClient makes the CloudWatch client's HTTP client one the exporter owns, so that shutdown can close its
// idle connections: the SDK's BuildableClient hides its transport. The transport is a copy of the one the AWS
// configuration resolved (AWS_CA_BUNDLE or a profile's ca_bundle applied), else the SDK's default (connection
// pool, dial and TLS timeouts, TLS 1.2 minimum, proxy from the environment). Redirects are not followed:
// CloudWatch answers none, and a request re-sent elsewhere would hand its signature to another host.
func ownHTTPClient(resolved aws.HTTPClient) *http.Client {
	buildable, ok := resolved.(*awshttp.BuildableClient)
	if !ok {
		buildable = awshttp.NewBuildableClient()
	}
	return &http.Client{
		Transport:     buildable.GetTransport(),
		Timeout:       buildable.GetTimeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// shutdown closes the idle connections of the SDK's client: nothing is left behind when the collector reloads
// its configuration or stops.
func (e *logsExporter) shutdown(context.Context) error {
	if e.httpClient != nil {
		e.httpClient.CloseIdleConnections()
	}
	e.routes.shutdown()
	e.telemetry.Shutdown()
	return nil
}

// refusesConfig tells a refusal of the configuration (a permanent component status) from one of the data (see
// the package function). With log groups from the records, a missing group or stream and AccessDenied (IAM
// policies grant log groups one by one) concern one group: they are counted and logged like other refusals,
// and do not mark the whole exporter as failed for good while the other groups are delivered.
func (e *logsExporter) refusesConfig(err error) bool {
	if e.routes.routed() {
		if _, missing := errors.AsType[*missingError](err); missing || errorCode(err) == codeAccessDenied {
			return false
		}
	}
	return refusesConfig(err)
}

// convert encodes ld into the request the queue holds and batches (see logsRequest), when the collector hands
// ld to the exporter. Records without a timestamp take the time they arrived.
func (e *logsExporter) convert(ctx context.Context, ld plog.Logs) (xexporterhelper.Request, error) {
	s := e.encoding.Get().(*encodeScratch)
	defer e.encoding.Put(s)
	req, truncated := e.encoder.encode(ld, time.Now(), s)
	if truncated > 0 {
		e.telemetry.FapilogExporterCloudwatchRecordsTruncated.Add(ctx, int64(truncated), e.own)
	}
	return req, nil
}

// push sends a batch: one PutLogEvents request per group and stream and per 10,000 events / 1 MiB / 24 h; the
// delivery path sends them, counts what CloudWatch refused and says what to retry. After a retryable failure
// that follows deliveries or refusals, the error carries exactly the records still to deliver (partialFailure).
func (e *logsExporter) push(ctx context.Context, r xexporterhelper.Request) error {
	req := r.(*logsRequest)
	if req.items == 0 {
		return nil
	}
	p := e.plans.Get().(*plan)
	defer func() {
		p.release()
		e.plans.Put(p)
	}()
	e.builder.build(req, time.Now(), p)
	retry, err := e.delivery.DeliverEncoded(ctx, &p.Plan, func(ctx context.Context, i int) (delivery.Result, error) {
		r := &p.requests[i]
		d := p.dests[r.dest]
		refused, err := e.transport.send(ctx, d.group, d.stream, r.events)
		if err == nil || consumererror.IsPermanent(err) { // handled for good: never sent again, so counted once
			e.routes.countOverflow(ctx, p.refused, r.overflow)
		}
		return delivery.Result{Bytes: r.bytes, Rejected: refused.rejections(d.group, d.stream)}, err
	})
	if retry == nil {
		return err
	}
	return &partialFailure{err: err, rest: req.subset(retry)}
}
