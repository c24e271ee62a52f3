package delivery

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logsOf returns n records whose bodies are their indexes, spread over two resources.
func logsOf(n int) plog.Logs {
	ld := plog.NewLogs()
	var sl plog.ScopeLogs
	for i := range n {
		if i == 0 || i == n/2 {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutInt("half", int64(i))
			sl = rl.ScopeLogs().AppendEmpty()
		}
		sl.LogRecords().AppendEmpty().Body().SetInt(int64(i))
	}
	return ld
}

func bodies(ld plog.Logs) []int64 {
	var out []int64
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().Int())
			}
		}
	}
	return out
}

// evenSplit plans n records into requests of size records each.
func evenSplit(n, size int) *Plan {
	p := &Plan{}
	p.Reset(n)
	for i := range p.Owner {
		p.Owner[i] = int32(i / size)
	}
	p.Requests = (n + size - 1) / size
	return p
}

type fixture struct {
	d       *Deliverer
	metrics *telemetrytest.Metrics
	host    *telemetrytest.StatusHost
	logs    *observer.ObservedLogs
}

func newFixture(t *testing.T, set Settings) *fixture {
	t.Helper()
	tel, metrics := telemetrytest.NewSettings(t)
	core, logs := observer.New(zap.WarnLevel)
	tel.Logger = zap.New(core)
	if set.Backend == "" {
		set.Backend = "the endpoint"
	}
	d, err := New(tel, "test", set)
	require.NoError(t, err)
	host := telemetrytest.NewStatusHost()
	d.Start(host)
	t.Cleanup(d.Shutdown)
	return &fixture{d: d, metrics: metrics, host: host, logs: logs}
}

var errDown = errors.New("connection refused")

func rejected400(err error) (string, []zap.Field) { return "http_400", []zap.Field{zap.Error(err)} }

func TestDeliver_EverythingDelivered(t *testing.T) {
	f := newFixture(t, Settings{})
	err := f.d.Deliver(context.Background(), logsOf(10), evenSplit(10, 4), func(_ context.Context, i int) (Result, error) {
		return Result{Bytes: 100 * (i + 1)}, nil
	})
	require.NoError(t, err)
	assert.EqualValues(t, 3, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "delivered")))
	assert.EqualValues(t, 600, f.metrics.Int(t, MetricSentBytes))
	assert.Zero(t, f.metrics.Int(t, MetricRecordsRejected))
	assert.Empty(t, f.host.Statuses(), "a healthy backend reports nothing new")
}

func TestDeliver_PartRejectedIsPartialSuccessWithOneWarning(t *testing.T) {
	f := newFixture(t, Settings{Describe: rejected400})
	var sent []int
	err := f.d.Deliver(context.Background(), logsOf(10), evenSplit(10, 1), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		if i == 3 {
			return Result{}, consumererror.NewPermanent(errors.New("HTTP 400: bad record"))
		}
		return Result{}, nil
	})
	require.NoError(t, err, "a partial rejection is not a failure of the push: exporterhelper counts it as sent")
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sent, "a rejected request does not stop the others")
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRecordsRejected, attribute.String("reason", "http_400")))
	assert.EqualValues(t, 9, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "delivered")))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "rejected")))
	require.Equal(t, 1, f.logs.Len(), "exactly one warning line")
	line := f.logs.All()[0]
	assert.Equal(t, "http_400", line.ContextMap()["reason"])
	assert.EqualValues(t, 1, line.ContextMap()["rejected_records"])
	assert.Contains(t, line.ContextMap()["error"], "bad record")
}

func TestDeliver_EverythingRejectedIsPermanent(t *testing.T) {
	f := newFixture(t, Settings{Describe: rejected400})
	err := f.d.Deliver(context.Background(), logsOf(4), evenSplit(4, 2), func(context.Context, int) (Result, error) {
		return Result{}, consumererror.NewPermanent(errors.New("HTTP 400"))
	})
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "nothing delivered and nothing to retry: the collector counts all 4 as failed")
	assert.EqualValues(t, 4, f.metrics.Int(t, MetricRecordsRejected))
	assert.Equal(t, 1, f.logs.Len(), "one line per reason per interval")
}

func TestDeliver_RetryableFailureHandsBackOnlyWhatWasNotDelivered(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}})
	var sent []int
	err := f.d.Deliver(context.Background(), logsOf(10), evenSplit(10, 3), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		if i == 1 {
			return Result{}, errDown
		}
		return Result{}, nil
	})
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Equal(t, []int{0, 1}, sent, "requests after a retryable failure are not tried against a failing backend")
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "exporterhelper must retry a subset: %v", err)
	assert.Equal(t, []int64{3, 4, 5, 6, 7, 8, 9}, bodies(partial.Data()))
	assert.EqualValues(t, 7, f.metrics.Int(t, MetricRecordsRetried))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "failed")))
	assert.Equal(t, componentstatus.StatusRecoverableError, f.host.Last())

	require.NoError(t, f.d.Deliver(context.Background(), partial.Data(), evenSplit(7, 7), func(context.Context, int) (Result, error) {
		return Result{}, nil
	}))
	assert.Equal(t, componentstatus.StatusOK, f.host.Last(), "healthy again at the first delivered request")
}

func TestDeliver_NothingDeliveredRetriesTheBatchAsItIs(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}})
	err := f.d.Deliver(context.Background(), logsOf(6), evenSplit(6, 2), func(context.Context, int) (Result, error) {
		return Result{}, errDown
	})
	require.ErrorIs(t, err, errDown)
	assert.False(t, errors.As(err, new(consumererror.Logs)), "no copy of the batch when all of it is retried")
	assert.EqualValues(t, 6, f.metrics.Int(t, MetricRecordsRetried))
}

func TestDeliver_ProgressInsideAFailedRequestIsNotRetried(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}})
	err := f.d.Deliver(context.Background(), logsOf(10), evenSplit(10, 10), func(context.Context, int) (Result, error) {
		return Result{Progress: 4, Rejected: []Rejection{{Reason: "postgres_22P05", Records: 1}}}, errDown
	})
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial))
	assert.Equal(t, []int64{4, 5, 6, 7, 8, 9}, bodies(partial.Data()))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRecordsRejected, attribute.String("reason", "postgres_22P05")))
}

func TestDeliver_RecordsLeftOutByTheBuilderAreRejectedNotRetried(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: false}})
	p := evenSplit(6, 3)
	p.Owner[0], p.Owner[4] = LeftOut, LeftOut
	p.LeftOut = append(p.LeftOut, Rejection{Reason: "record_too_large", Records: 2})
	err := f.d.Deliver(context.Background(), logsOf(6), p, func(_ context.Context, i int) (Result, error) {
		if i == 1 {
			return Result{}, errDown
		}
		return Result{}, nil
	})
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial))
	assert.Equal(t, []int64{3, 5}, bodies(partial.Data()))
	assert.EqualValues(t, 2, f.metrics.Int(t, MetricRecordsRejected, attribute.String("reason", "record_too_large")))
}

func TestDeliver_BackendRefusingTheConfigurationIsAPermanentStatus(t *testing.T) {
	f := newFixture(t, Settings{RefusesConfig: func(err error) bool { return strings.Contains(err.Error(), "401") }})
	err := f.d.Deliver(context.Background(), logsOf(2), evenSplit(2, 2), func(context.Context, int) (Result, error) {
		return Result{}, consumererror.NewPermanent(errors.New("HTTP 401 Unauthorized"))
	})
	require.Error(t, err)
	assert.Equal(t, componentstatus.StatusPermanentError, f.host.Last())
}

var errThrottled = errors.New("HTTP 429: tenant over its rate limit")

func isolatedThrottle(err error) bool { return errors.Is(err, errThrottled) }

// An Isolated failure (one tenant throttled) does not hold the other requests of the push back: they are sent, and
// only the throttled request's records are retried.
func TestDeliver_IsolatedFailureLetsTheOtherRequestsGo(t *testing.T) {
	f := newFixture(t, Settings{Isolated: isolatedThrottle})
	var sent []int
	err := f.d.Deliver(context.Background(), logsOf(9), evenSplit(9, 3), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		if i == 0 {
			return Result{}, errThrottled
		}
		return Result{}, nil
	})
	assert.Equal(t, []int{0, 1, 2}, sent, "the requests after the throttled one are sent")
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "exporterhelper must retry a subset: %v", err)
	assert.Equal(t, []int64{0, 1, 2}, bodies(partial.Data()), "only the throttled request's records")
	assert.EqualValues(t, 3, f.metrics.Int(t, MetricRecordsRetried))
	assert.Empty(t, f.host.Statuses(), "one throttled tenant is no failing backend")
}

func TestDeliver_IsolatedFailuresOfEveryRequestRetryTheWholePush(t *testing.T) {
	f := newFixture(t, Settings{Isolated: isolatedThrottle, Breaker: breaker.Config{Enabled: false}})
	var sent []int
	err := f.d.Deliver(context.Background(), logsOf(4), evenSplit(4, 2), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		if i == 0 {
			return Result{Progress: 1}, errThrottled
		}
		return Result{}, errThrottled
	})
	assert.Equal(t, []int{0, 1}, sent)
	require.ErrorIs(t, err, errThrottled)
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial))
	assert.Equal(t, []int64{1, 2, 3}, bodies(partial.Data()), "less the first request's progress")
}

// An Isolated failure is an answer of the backend: however often one tenant is throttled, the circuit stays closed
// and every other request goes.
func TestDeliver_IsolatedFailuresNeverOpenTheCircuit(t *testing.T) {
	f := newFixture(t, Settings{Isolated: isolatedThrottle, Breaker: breaker.Config{Enabled: true, Threshold: 1, Recovery: time.Hour}})
	for range 5 { // the throttled tenant's records, retried
		// An open circuit would hold the push for an hour: the deadline makes that a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var sent []int
		err := f.d.Deliver(ctx, logsOf(6), evenSplit(6, 2), func(_ context.Context, i int) (Result, error) {
			sent = append(sent, i)
			if i == 0 {
				return Result{}, errThrottled
			}
			return Result{}, nil
		})
		require.ErrorIs(t, err, errThrottled)
		assert.Equal(t, []int{0, 1, 2}, sent, "the other tenants' requests go")
	}
	assert.Equal(t, breaker.Closed, f.d.breaker.State())
	assert.Empty(t, f.host.Statuses(), "one throttled tenant is no failing backend")
}

// When the circuit was opened by a real failure, a probe that only meets one tenant's throttle shows the backend
// answering: the circuit closes and the rest of the push goes, instead of every held request failing with that
// tenant's 429.
func TestDeliver_IsolatedFailureOfTheProbeClosesTheCircuit(t *testing.T) {
	const recovery = 50 * time.Millisecond
	f := newFixture(t, Settings{Isolated: isolatedThrottle, Breaker: breaker.Config{Enabled: true, Threshold: 1, Recovery: recovery}})
	require.ErrorIs(t, f.d.Deliver(context.Background(), logsOf(2), evenSplit(2, 1), func(context.Context, int) (Result, error) {
		return Result{}, errDown
	}), errDown)
	require.Equal(t, breaker.Open, f.d.breaker.State())

	var sent []int
	err := f.d.Deliver(context.Background(), logsOf(6), evenSplit(6, 2), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		if i == 0 { // the probe
			return Result{}, errThrottled
		}
		return Result{}, nil
	})
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "only the throttled request's records are retried: %v", err)
	assert.Equal(t, []int64{0, 1}, bodies(partial.Data()))
	assert.Equal(t, []int{0, 1, 2}, sent)
	assert.Equal(t, breaker.Closed, f.d.breaker.State())
}

// A failure that is not Isolated ends the push: a backend that is down is not tried again for the other requests.
func TestDeliver_FailureThatIsNotIsolatedEndsThePush(t *testing.T) {
	f := newFixture(t, Settings{Isolated: isolatedThrottle, Breaker: breaker.Config{Enabled: false}})
	var sent []int
	require.Error(t, f.d.Deliver(context.Background(), logsOf(6), evenSplit(6, 2), func(_ context.Context, i int) (Result, error) {
		sent = append(sent, i)
		return Result{}, errDown
	}))
	assert.Equal(t, []int{0}, sent)
}

func TestDeliver_TimeoutBoundsEachRequest(t *testing.T) {
	f := newFixture(t, Settings{Timeout: 50 * time.Millisecond, Breaker: breaker.Config{Enabled: false}})
	start := time.Now()
	err := f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), func(ctx context.Context, _ int) (Result, error) {
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, consumererror.IsPermanent(err), "a timeout is retried")
	assert.Less(t, time.Since(start), time.Second)
}

func TestDeliver_OutageShorterThanTheProbeLosesNothingAndIsReported(t *testing.T) {
	const recovery = 200 * time.Millisecond
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: true, Threshold: 2, Recovery: recovery}})
	var down atomic.Bool
	down.Store(true)
	send := func(context.Context, int) (Result, error) {
		if down.Load() {
			return Result{}, errDown
		}
		return Result{}, nil
	}
	for range 2 {
		require.Error(t, f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), send))
	}
	assert.EqualValues(t, int64(breaker.Open), f.metrics.Int(t, MetricBreakerState))
	assert.Equal(t, componentstatus.StatusRecoverableError, f.host.Last())

	// The backend comes back long before the probe; a push arriving now waits for the probe, then goes out.
	down.Store(false)
	start := time.Now()
	require.NoError(t, f.d.Deliver(context.Background(), logsOf(3), evenSplit(3, 3), send))
	assert.GreaterOrEqual(t, time.Since(start), recovery/2, "held until the probe")
	assert.EqualValues(t, int64(breaker.Closed), f.metrics.Int(t, MetricBreakerState))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricBreakerTransitions, attribute.String("to", "open")))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricBreakerTransitions, attribute.String("to", "half_open")))
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricBreakerTransitions, attribute.String("to", "closed")))
	assert.Equal(t, componentstatus.StatusOK, f.host.Last())
}

func TestDeliver_FailedProbeCountsAsCircuitOpenForTheHeldRequests(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.Config{Enabled: true, Threshold: 1, Recovery: 50 * time.Millisecond}})
	fail := func(context.Context, int) (Result, error) { return Result{}, errDown }
	require.Error(t, f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), fail))
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- f.d.Deliver(context.Background(), logsOf(1), evenSplit(1, 1), fail) }()
	}
	for range 3 {
		err := <-errs
		require.ErrorIs(t, err, errDown)
		assert.False(t, consumererror.IsPermanent(err))
	}
	assert.EqualValues(t, 2, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "failed")), "the first failure and the probe")
	assert.EqualValues(t, 2, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "circuit_open")))
}

func TestRejectionLog_BoundsWhatItLogs(t *testing.T) {
	f := newFixture(t, Settings{})
	long := strings.Repeat("x", 8000)
	f.d.rejections.report(context.Background(), []Rejection{{Reason: "r", Records: 1,
		Detail: []zap.Field{zap.String("message_id", long), zap.ByteString("response", []byte(long)), zap.Error(errors.New(long))}}})
	require.Equal(t, 1, f.logs.Len())
	for k, v := range f.logs.All()[0].ContextMap() {
		if s, ok := v.(string); ok {
			assert.LessOrEqual(t, len(s), SnippetLimit+3, "field %s", k)
		}
	}
}

func TestRejectionLog_OneLinePerReasonPerInterval(t *testing.T) {
	f := newFixture(t, Settings{})
	now := time.Unix(1_800_000_000, 0)
	f.d.rejections.now = func() time.Time { return now }
	for range 100 {
		f.d.rejections.report(context.Background(), []Rejection{{Reason: "too_large", Records: 1}})
	}
	f.d.rejections.report(context.Background(), []Rejection{{Reason: "http_400", Records: 2}})
	assert.Equal(t, 2, f.logs.Len())
	now = now.Add(logInterval)
	f.d.rejections.report(context.Background(), []Rejection{{Reason: "too_large", Records: 1}})
	require.Equal(t, 3, f.logs.Len())
	assert.EqualValues(t, 99, f.logs.All()[2].ContextMap()["rejected_since_last_log"])
	assert.EqualValues(t, 103, f.metrics.Int(t, MetricRecordsRejected), "every record is counted, logged or not")
}

// A push whose caller gave up (shutdown, a client that hung up, no queue in between) is no failing backend: the
// breaker, the component status and the requests metric say so, and its records still go back.
func TestDeliver_CancelledPushIsNoFailingBackend(t *testing.T) {
	f := newFixture(t, Settings{Breaker: breaker.NewDefaultConfig()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.d.Deliver(ctx, logsOf(4), evenSplit(4, 2), func(ctx context.Context, _ int) (Result, error) {
		return Result{}, ctx.Err() // what net/http returns for a cancelled request
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, consumererror.IsPermanent(err), "the records go back")
	assert.Equal(t, breaker.Closed, f.d.breaker.State())
	assert.EqualValues(t, 1, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "cancelled")))
	assert.Zero(t, f.metrics.Int(t, MetricRequests, attribute.String("outcome", "failed")))
	assert.Empty(t, f.host.Statuses(), "the backend did nothing wrong")
}
