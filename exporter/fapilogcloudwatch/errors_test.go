package fapilogcloudwatch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
)

// recordedStream starts kumo behind the recording endpoint with a new group holding stream.
func recordedStream(t *testing.T, stream string) (kumoURL string, rec *recorder, group string) {
	t.Helper()
	awsTestEnv(t)
	kumoURL = startKumo(t)
	rec = newRecorder(t, kumoURL, int(defaultMaxEventSize))
	group = uniqueGroup(t)
	precreate(t, kumoURL, group, stream)
	return kumoURL, rec, group
}

// precreate makes the group and stream, so that a test's request count is about what it injects.
func precreate(t *testing.T, url, group, stream string) {
	t.Helper()
	_, err := readClient(url).CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	precreateStream(t, url, group, stream)
}

// precreateStream makes one more stream in an existing group.
func precreateStream(t *testing.T, url, group, stream string) {
	t.Helper()
	_, err := readClient(url).CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
}

// onPut answers the PutLogEvents calls numbered in faults (from 0) and forwards everything else.
func onPut(faults map[int]*fault) func(string, int, *recordedPut) *fault {
	return func(action string, n int, _ *recordedPut) *fault {
		if action != "PutLogEvents" {
			return nil
		}
		return faults[n]
	}
}

func TestPush_ThrottlingExceptionThenOKDeliversEverythingOnce(t *testing.T) {
	url, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{0: awsError(400, "ThrottlingException", "Rate exceeded")})
	exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("thr", 20, recent(20))))
	puts := rec.allPuts()
	require.Len(t, puts, 2, "one throttled attempt, one retry by retry_on_failure (the SDK's retryer is off)")
	assert.Equal(t, 400, puts[0].status)
	exactlyOnce(t, rec.accepted(), "thr", 20)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "thr", 20)
}

func TestPush_500ThenOKDeliversEverythingOnce(t *testing.T) {
	for name, f := range map[string]*fault{
		"html 500":                        {status: 500, header: map[string]string{"Content-Type": "text/html"}, body: "<html>Internal Server Error</html>"},
		"ServiceUnavailableException 503": awsError(503, "ServiceUnavailableException", "try later"),
		"InternalServerException 500":     awsError(500, "InternalServerException", "oops"),
	} {
		t.Run(name, func(t *testing.T) {
			url, rec, group := recordedStream(t, "app-1")
			rec.inject = onPut(map[int]*fault{0: f})
			exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

			require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("five", 10, recent(10))))
			require.Len(t, rec.allPuts(), 2)
			exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "five", 10)
		})
	}
}

func TestPush_FailureMidBatchHandsBackOnlyTheUnsentRecords(t *testing.T) {
	url, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{1: awsError(400, "ThrottlingException", "Rate exceeded")})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	const n = 25_000
	ld := testLogs("mid", n, recent(n))
	err := pushLogs(context.Background(), t, e, ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	rest := retryOf(t, err)
	first := len(rec.allPuts()[0].Events)
	require.Greater(t, first, 0)
	assert.Equal(t, n-first, rest.ItemsCount(), "the first request was delivered: not handed back")
	assert.Equal(t, n, ld.LogRecordCount(), "the batch itself is left as it was")

	// What the exporter helper would do next: send what was handed back.
	require.NoError(t, e.push(context.Background(), rest))
	rec.requireWithinLimits(t)
	exactlyOnce(t, rec.accepted(), "mid", n)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "mid", n)
}

func TestExport_FailureMidBatchIsRetriedByTheHelperAndEverythingArrivesOnce(t *testing.T) {
	url, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{2: awsError(503, "ServiceUnavailableException", "busy"), 4: {status: 502, body: "bad gateway"}})
	exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	const n = 12_000
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("helper", n, recent(n))))
	rec.requireWithinLimits(t)
	exactlyOnce(t, rec.accepted(), "helper", n)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "helper", n)
}

func TestPush_InvalidSequenceTokenIsAnsweredWithTheExpectedToken(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	const expected = "49590000000000000000000000000000000000000000000000000001"
	bad := awsError(400, "InvalidSequenceTokenException", "The given sequenceToken is invalid.")
	bad.body = strings.TrimSuffix(bad.body, "}") + `,"expectedSequenceToken":"` + expected + `"}`
	rec.inject = onPut(map[int]*fault{0: bad})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	require.NoError(t, pushLogs(context.Background(), t, e, testLogs("tok", 5, recent(5))))
	puts := rec.allPuts()
	require.Len(t, puts, 2, "answered at once, without waiting for a retry")
	assert.Nil(t, puts[0].SequenceToken, "modern CloudWatch ignores tokens: none is sent until an endpoint asks")
	assert.Equal(t, expected, aws.ToString(puts[1].SequenceToken))
	exactlyOnce(t, rec.accepted(), "tok", 5)

	// From now on the endpoint is treated as legacy: the next request carries the token of the last answer.
	require.NoError(t, pushLogs(context.Background(), t, e, testLogs("next", 2, recent(2))))
	puts = rec.allPuts()
	require.Len(t, puts, 3)
	assert.NotEmpty(t, aws.ToString(puts[2].SequenceToken))
	assert.NotEqual(t, expected, aws.ToString(puts[2].SequenceToken))
}

func TestPush_DataAlreadyAcceptedCountsAsDeliveredAndIsNotSentAgain(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	accepted := awsError(400, "DataAlreadyAcceptedException", "The given batch of log events has already been accepted.")
	accepted.body = strings.TrimSuffix(accepted.body, "}") + `,"expectedSequenceToken":"tok-7"}`
	rec.inject = onPut(map[int]*fault{0: accepted})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	require.NoError(t, pushLogs(context.Background(), t, e, testLogs("dup", 3, recent(3))))
	require.Len(t, rec.allPuts(), 1, "sending it again would store it twice")

	require.NoError(t, pushLogs(context.Background(), t, e, testLogs("after", 3, recent(3))))
	puts := rec.allPuts()
	require.Len(t, puts, 2)
	assert.Equal(t, "tok-7", aws.ToString(puts[1].SequenceToken), "the next request continues from the expected token")
}

func TestPush_RejectedLogEventsInfoIsCountedByReason(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{0: {status: 200, body: `{"nextSequenceToken":"t1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":2,"expiredLogEventEndIndex":3,"tooNewLogEventStartIndex":8}}`}})
	exp, obs := startObserved(t, testConfig(rec.URL, group))

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("rej", 10, recent(10))), "the rest of the request was stored")
	assert.Equal(t, map[string]int64{"too_old": 2, "expired": 1, "too_new": 2}, obs.rejected(t))
	assert.Len(t, rec.allPuts(), 1, "refused events are not sent again")
	assert.EqualValues(t, 10, obs.metrics.Int(t, "otelcol_exporter_sent_log_records"), "the push counts as sent (partial success)")
	assert.Zero(t, obs.metrics.Int(t, "otelcol_exporter_send_failed_log_records"))
	logged := obs.logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, logged, 3, "one line per reason")
	for _, l := range logged {
		assert.Equal(t, "app-1", l.ContextMap()["log_stream"])
		assert.Equal(t, group, l.ContextMap()["log_group"])
	}
}

// The scenario of the "No silent loss" issue for CloudWatch: one PutLogEvents request of several refused; the
// others delivered, the push a success for the collector (like core otlphttp's partial success), one warning,
// the refusal counted by reason.
func TestPush_OneRequestRefusedIsPartialSuccess(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	services := []string{"api", "worker", "billing", "search"}
	precreate(t, url, group, services[0])
	for _, svc := range services[1:] {
		precreateStream(t, url, group, svc)
	}
	rec.inject = func(_ string, _ int, put *recordedPut) *fault {
		if put != nil && put.Stream == "billing" {
			return awsError(400, "InvalidParameterException", "Log event too large")
		}
		return nil
	}
	cfg := testConfig(rec.URL, group)
	cfg.LogStreamName = "{service.name}"
	exp, obs := startObserved(t, cfg)

	ld := plog.NewLogs()
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range 4 {
			appendRecord(sl, svc, i, time.Now().Add(-time.Minute), "x")
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld), "a partial refusal is a partial success")
	assert.Len(t, rec.allPuts(), 4, "one request per stream, none retried")
	client := readClient(url)
	for _, svc := range []string{"api", "worker", "search"} {
		exactlyOnce(t, countIDs(readEvents(t, client, group, svc)), svc, 4)
	}
	assert.Empty(t, readEvents(t, client, group, "billing"))

	assert.Equal(t, map[string]int64{"invalid_parameter": 4}, obs.rejected(t))
	assert.EqualValues(t, 16, obs.metrics.Int(t, "otelcol_exporter_sent_log_records"), "exporterhelper counts the push as sent")
	assert.Zero(t, obs.metrics.Int(t, "otelcol_exporter_send_failed_log_records"))
	assert.EqualValues(t, 3, obs.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "delivered")))
	assert.EqualValues(t, 1, obs.metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "rejected")))
	warnings := obs.logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warnings, 1, "exactly one warning")
	fields := warnings[0].ContextMap()
	assert.Equal(t, "invalid_parameter", fields["reason"])
	assert.Equal(t, "InvalidParameterException", fields["error_code"])
	assert.EqualValues(t, 4, fields["rejected_records"])
	assert.Zero(t, obs.logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error line: nothing was lost")
	assert.False(t, obs.host.Seen(componentstatus.StatusRecoverableError), "a refusal of the data says the service is up")
	assert.False(t, obs.host.Seen(componentstatus.StatusPermanentError), "the data was refused, not the configuration")
}

func TestPush_EveryRecordRefusedIsPermanent(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{0: awsError(400, "InvalidParameterException", "bad")})
	exp, obs := startObserved(t, testConfig(rec.URL, group))

	err := exp.ConsumeLogs(context.Background(), testLogs("all", 5, recent(5)))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "nothing delivered, nothing to retry: %v", err)
	assert.ErrorContains(t, err, "CloudWatch refused all 5 records")
	assert.ErrorContains(t, err, "InvalidParameterException")
	assert.Len(t, rec.allPuts(), 1, "not retried")
	assert.Equal(t, map[string]int64{"invalid_parameter": 5}, obs.rejected(t))
	assert.EqualValues(t, 5, obs.metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "the collector counts the refused push as failed")
}

func TestPush_RefusedCredentialsAreAPermanentComponentStatus(t *testing.T) {
	for code, reason := range map[string]string{
		"AccessDeniedException":       "access_denied",
		"UnrecognizedClientException": "unrecognized_client",
	} {
		t.Run(code, func(t *testing.T) {
			_, rec, group := recordedStream(t, "app-1")
			rec.inject = onPut(map[int]*fault{0: awsError(400, code, "not allowed")})
			exp, obs := startObserved(t, testConfig(rec.URL, group))

			err := exp.ConsumeLogs(context.Background(), testLogs("cred", 3, recent(3)))
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err))
			assert.Equal(t, map[string]int64{reason: 3}, obs.rejected(t))
			assert.Equal(t, componentstatus.StatusPermanentError, obs.host.Last(), "no request can succeed until the configuration changes")
		})
	}
}

func TestPush_OpenCircuitLeavesCloudWatchAlone(t *testing.T) {
	_, rec, group := recordedStream(t, "app-1")
	rec.inject = onPut(map[int]*fault{0: awsError(500, "InternalServerException", "x"), 1: awsError(500, "InternalServerException", "x")})
	cfg := testConfig(rec.URL, group)
	cfg.CircuitBreaker.Threshold = 2
	cfg.CircuitBreaker.Recovery = time.Minute
	e := startLogsExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))

	for range 2 {
		require.Error(t, pushLogs(context.Background(), t, e, testLogs("cb", 3, recent(3))))
	}
	held, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := pushLogs(held, t, e, testLogs("cb", 3, recent(3)))
	require.ErrorIs(t, err, breaker.ErrOpen, "a request is held behind the open circuit until its context ends")
	assert.False(t, consumererror.IsPermanent(err), "the data waits in the queue")
	assert.Len(t, rec.allPuts(), 2, "no request while the circuit is open")
}

// An outage with the breaker on: requests made while CloudWatch is down are held behind the open circuit (its
// state and transitions visible as metrics, the component status a recoverable error), then delivered once the
// probe succeeds, each record once, and the status is OK again.
func TestBreaker_OutageIsVisibleAndEveryRecordIsDeliveredOnceAfterIt(t *testing.T) {
	url, rec, group := recordedStream(t, "app-1")
	var down atomic.Bool
	down.Store(true)
	rec.inject = func(action string, _ int, _ *recordedPut) *fault {
		if action == "PutLogEvents" && down.Load() {
			return awsError(503, "ServiceUnavailableException", "down")
		}
		return nil
	}
	cfg := testConfig(rec.URL, group)
	cfg.QueueConfig = createDefaultConfig().(*Config).QueueConfig
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 50 * time.Millisecond
	cfg.CircuitBreaker = breaker.Config{Enabled: true, Threshold: 3, Recovery: 300 * time.Millisecond}
	cfg.RetryConfig.MaxElapsedTime = time.Minute
	exp, obs := startObserved(t, cfg)

	const pushes, per = 10, 50
	for p := range pushes {
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for i := p * per; i < (p+1)*per; i++ {
			appendRecord(sl, "out", i, time.Now().Add(-time.Minute), "during the outage")
		}
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld), "queued")
	}
	require.Eventually(t, func() bool {
		return obs.metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "open")) >= 1
	}, 10*time.Second, 20*time.Millisecond, "the circuit opens during the outage")
	assert.NotEqualValues(t, breaker.Closed, obs.metrics.Int(t, delivery.MetricBreakerState), "open or probing")
	assert.Equal(t, componentstatus.StatusRecoverableError, obs.host.Last())
	time.Sleep(time.Second) // a few probes fail
	assert.Empty(t, rec.accepted(), "nothing stored during the outage")
	assert.Positive(t, obs.metrics.Int(t, delivery.MetricRecordsRetried))

	down.Store(false)
	require.Eventually(t, func() bool { return len(rec.accepted()) == pushes*per }, 20*time.Second, 20*time.Millisecond,
		"every record is delivered after the outage")
	time.Sleep(200 * time.Millisecond)
	exactlyOnce(t, rec.accepted(), "out", pushes*per)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "out", pushes*per)
	assert.Equal(t, componentstatus.StatusOK, obs.host.Last())
	assert.EqualValues(t, breaker.Closed, obs.metrics.Int(t, delivery.MetricBreakerState))
	assert.EqualValues(t, 1, obs.metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "closed")))
	assert.Zero(t, obs.metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "nothing lost")
	assert.Empty(t, obs.rejected(t))
	obs.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// sendOnce sends one request through the real SDK client to an endpoint that answers with handler, and
// returns the classified error and how many HTTP requests were made.
func sendOnce(t *testing.T, handler http.HandlerFunc, timeout time.Duration) (error, int64) {
	t.Helper()
	awsTestEnv(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL, "/g")
	cfg.TimeoutConfig.Timeout = timeout
	e := startLogsExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	_, err := e.transport.send(context.Background(), "/g", "s", []types.InputLogEvent{{Message: aws.String("m"), Timestamp: aws.Int64(time.Now().UnixMilli())}})
	return err, hits.Load()
}

func answer(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// slowAnswer answers after the exporter's timeout (2 s in sendOnce) has passed.
func slowAnswer(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
	answer(200, nil, "{}")(w, r)
}

func isThrottle(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "Throttle (") }

func TestSend_ClassifiesEveryKindOfAnswer(t *testing.T) {
	type want int
	const (
		retryable want = iota
		throttled
		permanent
	)
	jsonError := func(code string) string { return `{"__type":"` + code + `","message":"m"}` }
	tests := map[string]struct {
		handler http.HandlerFunc
		want    want
	}{
		"ThrottlingException":            {answer(400, nil, jsonError("ThrottlingException")), retryable},
		"LimitExceededException":         {answer(400, nil, jsonError("LimitExceededException")), retryable},
		"ServiceUnavailableException":    {answer(500, nil, jsonError("ServiceUnavailableException")), retryable},
		"502 without body":               {answer(502, nil, ""), retryable},
		"503 html":                       {answer(503, map[string]string{"Content-Type": "text/html"}, "<html>down</html>"), retryable},
		"429 with Retry-After":           {answer(429, map[string]string{"Retry-After": "7"}, ""), throttled},
		"503 with Retry-After":           {answer(503, map[string]string{"Retry-After": "3"}, jsonError("ServiceUnavailableException")), throttled},
		"InvalidParameterException":      {answer(400, nil, jsonError("InvalidParameterException")), permanent},
		"AccessDeniedException":          {answer(400, nil, jsonError("AccessDeniedException")), permanent},
		"UnrecognizedClientException":    {answer(400, nil, jsonError("UnrecognizedClientException")), permanent},
		"403 without code":               {answer(403, nil, ""), permanent},
		"slow answer beyond the timeout": {slowAnswer, retryable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// 2 s: generous enough that a loaded machine still gets a quick answer in before the timeout.
			err, hits := sendOnce(t, tc.handler, 2*time.Second)
			require.Error(t, err)
			assert.EqualValues(t, 1, hits, "the SDK does not retry on its own")
			switch tc.want {
			case retryable:
				assert.False(t, consumererror.IsPermanent(err), "%v", err)
				assert.False(t, isThrottle(err), "%v", err)
			case throttled:
				assert.True(t, isThrottle(err), "%v", err)
			case permanent:
				assert.True(t, consumererror.IsPermanent(err), "%v", err)
			}
		})
	}
}

func TestSend_TimingErrorsThatOutlastTheirImmediateFixAreRetryable(t *testing.T) {
	// The stream is created, but PutLogEvents keeps answering that it does not exist (eventual consistency).
	err, hits := sendOnce(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutLogEvents") {
			answer(400, nil, `{"__type":"ResourceNotFoundException","message":"The specified log stream does not exist."}`)(w, r)
			return
		}
		answer(200, nil, "{}")(w, r)
	}, time.Second)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "%v", err)
	assert.EqualValues(t, 3, hits, "put, create the stream, put once more; then the helper's retries take over")

	// A legacy endpoint whose expected token keeps changing under concurrent writers.
	err, hits = sendOnce(t, answer(400, nil, `{"__type":"InvalidSequenceTokenException","message":"m","expectedSequenceToken":"t"}`), time.Second)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "%v", err)
	assert.EqualValues(t, 1+maxTokenRetries, hits)
}

func TestSend_ConnectionRefusedIsRetryable(t *testing.T) {
	awsTestEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	e := startLogsExporter(t, testConfig("http://"+addr, "/g"), exportertest.NewNopSettings(metadata.Type))
	_, err = e.transport.send(context.Background(), "/g", "s", []types.InputLogEvent{{Message: aws.String("m"), Timestamp: aws.Int64(1)}})
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestRecorder_FlagsRequestsThatBreakTheLimits(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, 1024)
	group := uniqueGroup(t)
	precreate(t, url, group, "s")
	client := readClient(rec.URL)
	now := time.Now().UnixMilli()
	big := strings.Repeat("x", 300_000)
	_, _ = client.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{
			{Message: aws.String(big), Timestamp: aws.Int64(now)},
			{Message: aws.String(big), Timestamp: aws.Int64(now - 1)},
			{Message: aws.String(big), Timestamp: aws.Int64(now - 25*3_600_000)},
			{Message: aws.String(big), Timestamp: aws.Int64(now)},
		},
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	joined := strings.Join(rec.violations, "\n")
	assert.Contains(t, joined, "over max_event_size")
	assert.Contains(t, joined, "not in chronological order")
	assert.Contains(t, joined, "max 1,048,576")
	assert.Contains(t, joined, "max 24h")
}

func TestDescribe_ReasonsAreShortStableAndSayWhatTheConfigurationCauses(t *testing.T) {
	for code, want := range map[string]string{
		"InvalidParameterException":   "invalid_parameter",
		"AccessDeniedException":       "access_denied",
		"UnrecognizedClientException": "unrecognized_client",
		"KMSInvalidStateException":    "kms_invalid_state",
		"IncompleteSignature":         "incomplete_signature",
		"InvalidClientTokenId":        "invalid_client_token_id",
		"Exception":                   "",
		"Not-A-Code":                  "",
		strings.Repeat("A", 65):       "",
	} {
		assert.Equal(t, want, codeReason(code), code)
	}

	cases := map[string]struct {
		handler       http.HandlerFunc
		reason        string
		refusesConfig bool
	}{
		"InvalidParameterException": {answer(400, nil, `{"__type":"InvalidParameterException","message":"m"}`), "invalid_parameter", false},
		"AccessDeniedException":     {answer(400, nil, `{"__type":"AccessDeniedException","message":"m"}`), "access_denied", true},
		"403 without a code":        {answer(403, nil, ""), "http_403", true},
		"413 without a code":        {answer(413, nil, ""), "http_413", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err, _ := sendOnce(t, tc.handler, time.Second)
			require.True(t, consumererror.IsPermanent(err), "%v", err)
			reason, _ := describe(err)
			assert.Equal(t, tc.reason, reason)
			assert.Equal(t, tc.refusesConfig, refusesConfig(err))
		})
	}
}
