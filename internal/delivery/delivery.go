package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// LeftOut is the Plan owner of a record the request builder did not put in any request (see Plan.LeftOut).
const LeftOut = -1

// Plan is what an exporter's request builder made of one push: which request carries each record.
type Plan struct {
	// Owner has one entry per record of the push, in ResourceLogs / ScopeLogs / LogRecords order: the index of
	// the request that carries it, or LeftOut.
	Owner []int32
	// Requests is the number of requests, sent in index order.
	Requests int
	// LeftOut counts, by reason, the records the builder refused for good (too large, too old...): they are
	// reported as rejected before anything is sent.
	LeftOut []Rejection

	perRequest []int // records per request, counted by Deliver
	retryAfter []int // per request: how many of its first records are handled (nothingToRetry: all), set by Deliver
}

// Reset empties p for a push of records records, keeping its memory.
func (p *Plan) Reset(records int) {
	if cap(p.Owner) < records {
		p.Owner = make([]int32, records)
	}
	p.Owner = p.Owner[:records]
	p.Requests = 0
	clear(p.LeftOut)
	p.LeftOut = p.LeftOut[:0]
}

// Rejection is a number of records a backend (or the request builder, on its behalf) refused for good.
type Rejection struct {
	// Reason is short, stable and of low cardinality ("http_400", "record_too_large"): the value of the
	// rejected-records metric's reason attribute and of the log line's reason field.
	Reason string
	// Records is how many records were refused.
	Records int
	// Detail is logged with the first rejection of a log interval (status, start of the answer...). String
	// values are cut to SnippetLimit bytes: a log line never carries unbounded sender data.
	Detail []zap.Field
}

// Result is what sending one request achieved besides its error.
type Result struct {
	// Bytes is the payload size of the request, counted in the sent-bytes metric when it was delivered. With a
	// retryable error and a Progress, it is the size of what the backend stored of it, counted too: those
	// records are never sent again.
	Bytes int
	// Rejected lists records the backend refused inside a request it otherwise accepted (CloudWatch's
	// rejectedLogEventsInfo, rows PostgreSQL refused): counted and logged; the rest of the request is delivered.
	Rejected []Rejection
	// Progress, with a retryable error, is how many of the request's first records (in push order) were stored
	// or rejected before the failure: only the others are retried.
	Progress int
}

// Send sends request i of a plan. Its error follows the collector's model: nil (delivered), permanent
// (consumererror.NewPermanent: refused for good), or retryable (anything else, exporterhelper.NewThrottleRetry
// for a delay the backend asked for).
type Send func(ctx context.Context, i int) (Result, error)

// Settings configure a Deliverer.
type Settings struct {
	// ID is the exporter's component ID, carried by every metric series as the exporter attribute (as in
	// exporterhelper's own metrics), so that two exporters of one type keep separate series.
	ID component.ID
	// Backend names the destination in log lines and errors ("the endpoint", "Loki", "CloudWatch", "PostgreSQL").
	Backend string
	// Breaker is the circuit breaker's configuration.
	Breaker breaker.Config
	// Timeout bounds each request (0: no bound, e.g. when the HTTP client's own timeout does it). It is applied per
	// request here, not by exporterhelper per push, so that time a push spends held behind an open circuit is
	// never cut short by a timeout meant for the backend.
	Timeout time.Duration
	// Describe names a permanent error for the rejected-records metric and gives the details to log. Nil: reason
	// "rejected" and the error itself.
	Describe func(err error) (reason string, detail []zap.Field)
	// RefusesConfig, when not nil, tells a permanent error that refuses the exporter's configuration rather than
	// the data (bad credentials, unknown endpoint): it is reported as a permanent error in the component status.
	RefusesConfig func(err error) bool
	// Isolated, when not nil, tells a retryable failure that concerns its own request only, the backend being up
	// and answering (Loki's 429 for one tenant over its own rate limit, while the push also carries requests of
	// other tenants). The requests after it are still sent while the circuit stays closed, and only the records
	// of the failed requests are retried, so that one throttled tenant never holds the others back. It is not
	// reported as a failing backend, neither in the component status nor to the circuit breaker, for which the
	// backend answered: a tenant that stays over its limit never opens the circuit on the others, and its request
	// can be the probe that closes it. Nil: every retryable failure ends the push.
	Isolated func(err error) bool
}

// Deliverer is the one delivery path of the network exporters: it sends a push's planned requests through the
// circuit breaker, classifies each outcome (delivered, refused for good, or to retry), counts and logs what was
// refused, reports the backend's health as component status and its own telemetry, and tells exporterhelper
// exactly which records to retry.
type Deliverer struct {
	set        Settings
	breaker    *breaker.Breaker
	rejections *rejectionLog
	telemetry  *telemetry
	status     *statusReporter
}

// New builds the Deliverer of one exporter; scopeName is the exporter's metadata.ScopeName.
func New(tel component.TelemetrySettings, scopeName string, set Settings) (*Deliverer, error) {
	d := &Deliverer{set: set, status: &statusReporter{}}
	var err error
	d.telemetry, err = newTelemetry(tel, scopeName, set.ID)
	if err != nil {
		return nil, err
	}
	d.breaker = breaker.New(set.Breaker, tel.Logger, d.breakerChanged)
	if d.breaker != nil {
		if err := d.telemetry.observeBreaker(d.breaker); err != nil {
			return nil, err
		}
	}
	d.rejections = newRejectionLog(tel.Logger, d.telemetry)
	if d.set.Describe == nil {
		d.set.Describe = func(err error) (string, []zap.Field) { return "rejected", []zap.Field{zap.Error(err)} }
	}
	return d, nil
}

// Start gives the Deliverer the host its component status is reported to.
func (d *Deliverer) Start(host component.Host) { d.status.start(host) }

// Shutdown releases requests held behind an open circuit (they keep their data: exporterhelper's persistent queue
// sends them again after a restart) and stops the telemetry. Call it before exporterhelper's own shutdown (see
// WithEarlyShutdown), so that a shutdown never waits for a probe.
func (d *Deliverer) Shutdown() {
	d.breaker.Stop()
	d.telemetry.shutdown()
}

// Deliver sends the planned requests of ld in order and returns what exporterhelper must know: nil when every
// record was delivered or refused for good (refusals are counted and logged, like core otlphttp's partial
// success); consumererror.NewLogs with the records still to deliver when a request failed in a retryable way
// (its records, less its Progress, and those of the requests after it, which are not tried against a failing
// backend unless the failure was Isolated); the plain error when nothing was delivered or refused, so ld is
// retried as it is; a permanent error only when every record was refused.
func (d *Deliverer) Deliver(ctx context.Context, ld plog.Logs, p *Plan, send Send) error {
	retry, err := d.DeliverEncoded(ctx, p, send)
	if retry == nil {
		return err
	}
	return consumererror.NewLogs(err, plogsubset.Select(ld, retry))
}

// DeliverEncoded is Deliver for exporters whose queued requests hold their records already encoded rather than
// as a plog.Logs (a custom exporterhelper request): where Deliver returns consumererror.NewLogs, it returns the
// retryable error and retry, which tells by record index (the Plan's order) each record still to deliver, called
// once per record in index order; the exporter builds the request to retry from them. retry is nil otherwise:
// the error, if any, concerns the whole push.
func (d *Deliverer) DeliverEncoded(ctx context.Context, p *Plan, send Send) (retry func(i int) bool, err error) {
	records := len(p.Owner)
	p.prepare()
	refused := d.rejections.report(ctx, p.LeftOut)
	delivered, progressed := 0, 0
	var failures []error
	var firstRefusal error
	for i := range p.Requests {
		var res Result
		var answeredAlone error // a failure of this request only (Settings.Isolated): the backend answered
		err := d.breaker.Do(ctx, func(ctx context.Context) error {
			ctx, cancel := d.requestContext(ctx)
			defer cancel()
			var err error
			res, err = send(ctx, i)
			if err != nil && !consumererror.IsPermanent(err) && d.set.Isolated != nil && d.set.Isolated(err) {
				answeredAlone = err
				return nil
			}
			return err
		})
		if err == nil && answeredAlone != nil {
			err = answeredAlone
		}
		n := p.perRequest[i]
		stop := false
		switch {
		case err == nil:
			r := d.rejections.report(ctx, res.Rejected)
			refused += r
			delivered += n - r
			p.retryAfter[i] = nothingToRetry
			d.telemetry.delivered(ctx, res.Bytes)
			d.status.healthy()
		case consumererror.IsPermanent(err):
			reason, detail := d.set.Describe(err)
			refused += d.rejections.report(ctx, []Rejection{{Reason: reason, Records: n, Detail: detail}})
			p.retryAfter[i] = nothingToRetry
			d.telemetry.request(ctx, outcomeRejected)
			if firstRefusal == nil {
				firstRefusal = err
			}
			if d.set.RefusesConfig != nil && d.set.RefusesConfig(err) {
				d.status.refused(err)
			} else {
				d.status.healthy()
			}
		default:
			refused += d.rejections.report(ctx, res.Rejected)
			p.retryAfter[i] = res.Progress
			progressed += res.Progress
			if res.Progress > 0 {
				d.telemetry.sent(ctx, res.Bytes)
			}
			failures = append(failures, err)
			// The push's own context ending (shutdown, a client that hung up) says nothing of the backend, unlike
			// the per-request timeout; nor does a held request released by the exporter's shutdown. Either may
			// have been held behind the open circuit: no probe failed it.
			cancelled := ctx.Err() != nil || errors.Is(err, breaker.ErrStopped)
			switch {
			case cancelled:
				d.telemetry.request(ctx, outcomeCancelled)
			case errors.Is(err, breaker.ErrOpen):
				d.telemetry.request(ctx, outcomeCircuitOpen)
			default:
				d.telemetry.request(ctx, outcomeFailed)
			}
			stop = !d.isolated(err)
			if stop && !cancelled {
				d.status.failing(err)
			}
		}
		if stop {
			break
		}
	}
	if len(failures) == 0 {
		if delivered == 0 && refused > 0 {
			return nil, consumererror.NewPermanent(fmt.Errorf("%s refused all %d records: %w", d.set.Backend, records, firstRefusal))
		}
		return nil, nil
	}
	// exporterhelper honours the first throttle (Retry-After) it finds in the joined errors.
	failure := failures[0]
	if len(failures) > 1 {
		failure = errors.Join(failures...)
	}
	if delivered == 0 && refused == 0 && progressed == 0 {
		d.telemetry.retried(ctx, records)
		return nil, failure
	}
	d.telemetry.retried(ctx, p.undeliveredCount())
	return p.undelivered(), failure
}

// isolated reports whether the push goes on after the retryable failure err: only when Settings.Isolated says it
// concerns its own request and the circuit is still closed (a request held by the open circuit, or failed by its
// probe, says nothing good about the next one).
func (d *Deliverer) isolated(err error) bool {
	return d.set.Isolated != nil && !errors.Is(err, breaker.ErrOpen) && d.breaker.State() == breaker.Closed &&
		d.set.Isolated(err)
}

func (d *Deliverer) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.set.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d.set.Timeout)
}

func (d *Deliverer) breakerChanged(_, to breaker.State) {
	d.telemetry.breakerTransition(to)
	if to == breaker.Open {
		d.status.failing(fmt.Errorf("%s keeps failing: %w", d.set.Backend, breaker.ErrOpen))
	}
}

// nothingToRetry marks in Plan.retryAfter a request that was delivered or refused.
const nothingToRetry = -1

// prepare counts the records of each request and marks every request as still to deliver.
func (p *Plan) prepare() {
	if cap(p.perRequest) < p.Requests {
		p.perRequest = make([]int, p.Requests)
		p.retryAfter = make([]int, p.Requests)
	}
	p.perRequest, p.retryAfter = p.perRequest[:p.Requests], p.retryAfter[:p.Requests]
	clear(p.perRequest)
	clear(p.retryAfter)
	for _, o := range p.Owner {
		if o >= 0 {
			p.perRequest[o]++
		}
	}
}

// undeliveredCount is the number of records undelivered selects.
func (p *Plan) undeliveredCount() int {
	n := 0
	for i, after := range p.retryAfter {
		if after != nothingToRetry {
			n += p.perRequest[i] - after
		}
	}
	return n
}

// undelivered selects, by record index, the records still to deliver: those of each request after its first
// retryAfter records (all of them for a request never sent), none of a request delivered or refused.
func (p *Plan) undelivered() func(i int) bool {
	seen := make([]int, p.Requests)
	return func(i int) bool {
		o := p.Owner[i]
		if o < 0 || p.retryAfter[o] == nothingToRetry {
			return false
		}
		seen[o]++
		return seen[o] > p.retryAfter[o]
	}
}
