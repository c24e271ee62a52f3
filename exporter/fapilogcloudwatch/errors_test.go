package fapilogcloudwatch

import (
	"context"
	"errors"
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
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

// precreate makes the group and stream, so that a test's request count is about what it injects.
func precreate(t *testing.T, url, group, stream string) {
	t.Helper()
	client := readClient(url)
	_, err := client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	_, err = client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
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
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
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
			awsTestEnv(t)
			url := startKumo(t)
			rec := newRecorder(t, url, int(defaultMaxEventSize))
			group := uniqueGroup(t)
			precreate(t, url, group, "app-1")
			rec.inject = onPut(map[int]*fault{0: f})
			exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

			require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("five", 10, recent(10))))
			require.Len(t, rec.allPuts(), 2)
			exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "five", 10)
		})
	}
}

func TestPush_FailureMidBatchHandsBackOnlyTheUnsentRecords(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	rec.inject = onPut(map[int]*fault{1: awsError(400, "ThrottlingException", "Rate exceeded")})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	const n = 25_000
	ld := testLogs("mid", n, recent(n))
	err := e.push(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var partial consumererror.Logs
	require.True(t, errors.As(err, &partial), "a partial failure carries the records still to send")
	first := len(rec.allPuts()[0].Events)
	require.Greater(t, first, 0)
	assert.Equal(t, n-first, partial.Data().LogRecordCount(), "the first request was delivered: not handed back")
	assert.Equal(t, 1, ld.ResourceLogs().Len(), "the batch itself is left as it was")
	assert.Equal(t, n, ld.LogRecordCount())

	// What the exporter helper would do next: send what was handed back.
	require.NoError(t, e.push(context.Background(), partial.Data()))
	rec.requireWithinLimits(t)
	exactlyOnce(t, rec.accepted(), "mid", n)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "mid", n)
}

func TestExport_FailureMidBatchIsRetriedByTheHelperAndEverythingArrivesOnce(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	rec.inject = onPut(map[int]*fault{2: awsError(503, "ServiceUnavailableException", "busy"), 4: {status: 502, body: "bad gateway"}})
	exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	const n = 12_000
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("helper", n, recent(n))))
	rec.requireWithinLimits(t)
	exactlyOnce(t, rec.accepted(), "helper", n)
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "app-1")), "helper", n)
}

func TestPush_InvalidSequenceTokenIsAnsweredWithTheExpectedToken(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	const expected = "49590000000000000000000000000000000000000000000000000001"
	bad := awsError(400, "InvalidSequenceTokenException", "The given sequenceToken is invalid.")
	bad.body = strings.TrimSuffix(bad.body, "}") + `,"expectedSequenceToken":"` + expected + `"}`
	rec.inject = onPut(map[int]*fault{0: bad})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	require.NoError(t, e.push(context.Background(), testLogs("tok", 5, recent(5))))
	puts := rec.allPuts()
	require.Len(t, puts, 2, "answered at once, without waiting for a retry")
	assert.Nil(t, puts[0].SequenceToken, "modern CloudWatch ignores tokens: none is sent until an endpoint asks")
	assert.Equal(t, expected, aws.ToString(puts[1].SequenceToken))
	exactlyOnce(t, rec.accepted(), "tok", 5)

	// From now on the endpoint is treated as legacy: the next request carries the token of the last answer.
	require.NoError(t, e.push(context.Background(), testLogs("next", 2, recent(2))))
	puts = rec.allPuts()
	require.Len(t, puts, 3)
	assert.NotEmpty(t, aws.ToString(puts[2].SequenceToken))
	assert.NotEqual(t, expected, aws.ToString(puts[2].SequenceToken))
}

func TestPush_DataAlreadyAcceptedCountsAsDeliveredAndIsNotSentAgain(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	accepted := awsError(400, "DataAlreadyAcceptedException", "The given batch of log events has already been accepted.")
	accepted.body = strings.TrimSuffix(accepted.body, "}") + `,"expectedSequenceToken":"tok-7"}`
	rec.inject = onPut(map[int]*fault{0: accepted})
	e := startLogsExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))

	require.NoError(t, e.push(context.Background(), testLogs("dup", 3, recent(3))))
	require.Len(t, rec.allPuts(), 1, "sending it again would store it twice")

	require.NoError(t, e.push(context.Background(), testLogs("after", 3, recent(3))))
	puts := rec.allPuts()
	require.Len(t, puts, 2)
	assert.Equal(t, "tok-7", aws.ToString(puts[1].SequenceToken), "the next request continues from the expected token")
}

func TestPush_RejectedLogEventsInfoIsCountedByReason(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	rec.inject = onPut(map[int]*fault{0: {status: 200, body: `{"nextSequenceToken":"t1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":2,"expiredLogEventEndIndex":3,"tooNewLogEventStartIndex":8}}`}})
	obs := observe(t)
	e := startLogsExporter(t, testConfig(rec.URL, group), obs.set)

	require.NoError(t, e.push(context.Background(), testLogs("rej", 10, recent(10))), "the rest of the request was stored")
	assert.Equal(t, map[string]int64{
		"rejected by CloudWatch: too old":                              2,
		"rejected by CloudWatch: older than the log group's retention": 1,
		"rejected by CloudWatch: too new":                              2,
	}, obs.dropped(t))
	assert.Len(t, rec.allPuts(), 1, "refused events are not sent again")
	logged := obs.logs.FilterMessage("Dropped log records").All()
	require.NotEmpty(t, logged)
	assert.Equal(t, "app-1", logged[0].ContextMap()["log_stream"])
}

func TestPush_InvalidParameterDropsThatRequestOnlyAndIsPermanent(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "api")
	precreate2 := readClient(url)
	_, err := precreate2.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("worker")})
	require.NoError(t, err)
	rec.inject = func(action string, _ int, put *recordedPut) *fault {
		if put != nil && put.Stream == "api" {
			return awsError(400, "InvalidParameterException", "Log event too large")
		}
		return nil
	}
	cfg := testConfig(rec.URL, group)
	cfg.LogStreamName = "{service.name}"
	obs := observe(t)
	exp := startExporter(t, cfg, obs.set)

	ld := plog.NewLogs()
	for _, svc := range []string{"api", "worker"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range 4 {
			appendRecord(sl, svc, i, time.Now().Add(-time.Minute), "x")
		}
	}
	err = exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "the service rejected the data itself: not retried")
	assert.ErrorContains(t, err, "InvalidParameterException")
	assert.Len(t, rec.allPuts(), 2, "one request per stream, none retried")
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), group, "worker")), "worker", 4)
	assert.Equal(t, map[string]int64{"rejected by CloudWatch (InvalidParameterException)": 4}, obs.dropped(t))
}

func TestPush_OpenCircuitLeavesCloudWatchAlone(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	precreate(t, url, group, "app-1")
	rec.inject = onPut(map[int]*fault{0: awsError(500, "InternalServerException", "x"), 1: awsError(500, "InternalServerException", "x")})
	cfg := testConfig(rec.URL, group)
	cfg.CircuitBreaker.Threshold = 2
	cfg.CircuitBreaker.Recovery = time.Minute
	e := startLogsExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))

	for range 2 {
		require.Error(t, e.push(context.Background(), testLogs("cb", 3, recent(3))))
	}
	held, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := e.push(held, testLogs("cb", 3, recent(3)))
	require.ErrorIs(t, err, breaker.ErrOpen, "a request is held behind the open circuit until its context ends")
	assert.False(t, consumererror.IsPermanent(err), "the data waits in the queue")
	assert.Len(t, rec.allPuts(), 2, "no request while the circuit is open")
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
	_, err := e.transport.send(context.Background(), "s", []types.InputLogEvent{{Message: aws.String("m"), Timestamp: aws.Int64(time.Now().UnixMilli())}})
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

// slowAnswer answers after the exporter's timeout (300 ms in sendOnce) has passed.
func slowAnswer(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Second):
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
			err, hits := sendOnce(t, tc.handler, 300*time.Millisecond)
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
	_, err = e.transport.send(context.Background(), "s", []types.InputLogEvent{{Message: aws.String("m"), Timestamp: aws.Int64(1)}})
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
