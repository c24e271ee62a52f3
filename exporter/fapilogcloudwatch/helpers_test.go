package fapilogcloudwatch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// awsTestEnv points the SDK's standard chain at static test credentials in us-east-1 and away from any profile
// or instance metadata of the machine.
func awsTestEnv(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// startKumo starts the in-process AWS emulator. kumo keeps one CloudWatch Logs store per process, so every test
// uses its own log group (uniqueGroup).
func startKumo(t testing.TB) string {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	if srv.URL == "" {
		t.Fatal("kumo did not start")
	}
	return srv.URL
}

var groupSeq atomic.Int64

func uniqueGroup(t *testing.T) string {
	name := destination.CloudWatchLogGroup.Sanitize(strings.ReplaceAll(t.Name(), "/", "-"))
	return fmt.Sprintf("/fapilog/test/%s-%d-%d", name, time.Now().UnixNano(), groupSeq.Add(1))
}

// readClient is an SDK client for the test's own reads and changes, independent of the exporter's client.
func readClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// readEvents returns every event of a stream, oldest first. kumo answers at most 10,000 events per call and
// does not paginate, so the time range is halved until each window fits.
func readEvents(t *testing.T, client *cloudwatchlogs.Client, group, stream string) []types.OutputLogEvent {
	t.Helper()
	var out []types.OutputLogEvent
	var window func(from, to int64)
	window = func(from, to int64) {
		resp, err := client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartTime: aws.Int64(from), EndTime: aws.Int64(to), StartFromHead: aws.Bool(true), Limit: aws.Int32(10_000),
		})
		require.NoError(t, err)
		if len(resp.Events) == 10_000 && from < to {
			mid := from + (to-from)/2
			window(from, mid)
			window(mid+1, to)
			return
		}
		out = append(out, resp.Events...)
	}
	window(0, time.Now().Add(48*time.Hour).UnixMilli())
	return out
}

// streamNames lists the streams of a group.
func streamNames(t *testing.T, client *cloudwatchlogs.Client, group string) []string {
	t.Helper()
	resp, err := client.DescribeLogStreams(context.Background(), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	var names []string
	for _, s := range resp.LogStreams {
		names = append(names, aws.ToString(s.LogStreamName))
	}
	slices.Sort(names)
	return names
}

// retentionOf returns the retention of a group (0 when none is set).
func retentionOf(t *testing.T, client *cloudwatchlogs.Client, group string) int32 {
	t.Helper()
	resp, err := client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	require.NoError(t, err)
	for _, g := range resp.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			return aws.ToInt32(g.RetentionInDays)
		}
	}
	t.Fatalf("log group %s does not exist", group)
	return 0
}

// testLogs returns n records with message ids "<prefix>-<i>" and timestamps at(i), in one resource.
func testLogs(prefix string, n int, at func(i int) time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.orders")
	for i := range n {
		appendRecord(sl, prefix, i, at(i), fmt.Sprintf("order %d placed: héllo 世界", i))
	}
	return ld
}

func appendRecord(sl plog.ScopeLogs, prefix string, i int, at time.Time, body string) plog.LogRecord {
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.Body().SetStr(body)
	lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("%s-%d", prefix, i))
	lr.Attributes().PutInt("seq", int64(i))
	return lr
}

// recent spaces records a millisecond apart, ending about now.
func recent(n int) func(i int) time.Time {
	base := time.Now().Add(-time.Duration(n)*time.Millisecond - time.Minute)
	return func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) }
}

// envelopeJSON encodes a record independently of the exporter: what its CloudWatch message must be.
func envelopeJSON(ld plog.Logs) map[string]string {
	out := map[string]string{}
	var e envelope.Entry
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		out[e.MessageID()] = string(e.AppendJSON(nil))
	})
	return out
}

// messageID extracts context.message_id from an envelope; "" when the message is not a whole envelope.
func messageID(message string) string {
	var env struct {
		Context struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
	}
	if json.Unmarshal([]byte(message), &env) != nil {
		return ""
	}
	return env.Context.MessageID
}

// countIDs counts message ids in events.
func countIDs(events []types.OutputLogEvent) map[string]int {
	ids := map[string]int{}
	for _, ev := range events {
		ids[messageID(aws.ToString(ev.Message))]++
	}
	return ids
}

// exactlyOnce checks that ids holds "<prefix>-0" .. "<prefix>-<n-1>", each once, and nothing else.
func exactlyOnce(t *testing.T, ids map[string]int, prefix string, n int) {
	t.Helper()
	require.Len(t, ids, n, "distinct records")
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		require.Equal(t, 1, ids[id], "record %s", id)
	}
}

// testConfig is a config for tests: no queue (ConsumeLogs returns after delivery or the last retry), fast retries.
func testConfig(endpoint, group string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.EndpointURL = endpoint
	cfg.LogGroupName = group
	cfg.LogStreamName = "app-1"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 20 * time.Second
	return cfg
}

// routesFor builds the routes of log_group_name group and log_stream_name stream (with the other keys as
// mutate sets them), {hostname} being web-1 and {timestamp} 1767323045.
func routesFor(t testing.TB, group, stream string, mutate ...func(*Config)) *routes {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.LogGroupName, cfg.LogStreamName = group, stream
	for _, m := range mutate {
		m(cfg)
	}
	require.NoError(t, cfg.Validate())
	r, err := newRoutes(cfg, exportertest.NewNopSettings(metadata.Type), "web-1", time.Unix(1767323045, 0))
	require.NoError(t, err)
	t.Cleanup(r.shutdown)
	return r
}

// observed is exporter settings whose logs, metrics (the exporter's own and exporterhelper's) and component
// status the test can read.
type observed struct {
	set     exporter.Settings
	logs    *observer.ObservedLogs
	metrics *telemetrytest.Metrics
	host    *telemetrytest.StatusHost
}

func observe(t *testing.T) observed {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	var metrics *telemetrytest.Metrics
	set.TelemetrySettings, metrics = telemetrytest.NewSettings(t)
	set.Logger = zap.New(core)
	return observed{set: set, logs: logs, metrics: metrics, host: telemetrytest.NewStatusHost()}
}

// rejected reads the rejected-records counter by reason.
func (o observed) rejected(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range o.metrics.Collect(t) {
		if m.Name != delivery.MetricRecordsRejected {
			continue
		}
		sum, ok := m.Data.(metricdata.Sum[int64])
		require.True(t, ok, "%s is a sum of int64", m.Name)
		for _, dp := range sum.DataPoints {
			reason, _ := dp.Attributes.Value(attribute.Key("reason"))
			out[reason.AsString()] += dp.Value
		}
	}
	return out
}

// truncated reads the exporter's own truncated-records counter.
func (o observed) truncated(t *testing.T) int64 {
	t.Helper()
	return o.metrics.Int(t, "otelcol_fapilog_exporter_cloudwatch_records_truncated")
}

// startExporter creates the exporter through the factory, as the collector does, and starts it.
func startExporter(t *testing.T, cfg *Config, set exporter.Settings) exporter.Logs {
	t.Helper()
	return startWithHost(t, cfg, set, componenttest.NewNopHost())
}

// startObserved is startExporter with everything the exporter reports observed.
func startObserved(t *testing.T, cfg *Config) (exporter.Logs, observed) {
	t.Helper()
	o := observe(t)
	return startWithHost(t, cfg, o.set, o.host), o
}

func startWithHost(t *testing.T, cfg *Config, set exporter.Settings, host component.Host) exporter.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// startLogsExporter builds the exporter without the helper, to look at push's own result.
func startLogsExporter(t *testing.T, cfg *Config, set exporter.Settings) *logsExporter {
	t.Helper()
	require.NoError(t, cfg.Validate())
	e, err := newLogsExporter(cfg, set)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		e.delivery.Shutdown()
		require.NoError(t, e.shutdown(context.Background()))
	})
	return e
}

// pushLogs converts ld as the collector hands it to the exporter and pushes it, to look at push's own result.
func pushLogs(ctx context.Context, t *testing.T, e *logsExporter, ld plog.Logs) error {
	t.Helper()
	req, err := e.convert(ctx, ld)
	require.NoError(t, err)
	return e.push(ctx, req)
}

// retryOf is the request a partial failure hands back to exporterhelper's retry: what OnError returns.
func retryOf(t *testing.T, err error) *logsRequest {
	t.Helper()
	_, ok := errors.AsType[*partialFailure](err)
	require.True(t, ok, "a partial failure carries the records still to send: %v", err)
	return new(logsRequest).OnError(err).(*logsRequest)
}

// eventsByGroup counts a request's events by log group.
func eventsByGroup(req *logsRequest) map[string]int {
	out := map[string]int{}
	for _, c := range req.chunks {
		for _, ev := range c.events {
			out[c.dests[ev.dest].group]++
		}
	}
	return out
}

// putEvent is one event of a PutLogEvents request as the recording endpoint decoded it.
type putEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// recordedPut is one PutLogEvents request and the answer it got.
type recordedPut struct {
	Group         string     `json:"logGroupName"`
	Stream        string     `json:"logStreamName"`
	SequenceToken *string    `json:"sequenceToken"`
	Events        []putEvent `json:"logEvents"`
	status        int
	injected      bool
}

// fault is an answer the recording endpoint gives instead of forwarding a request.
type fault struct {
	status int
	header map[string]string
	body   string
}

// awsError is an answer in the AWS JSON 1.1 error shape.
func awsError(status int, code, message string) *fault {
	body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	return &fault{status: status, body: string(body)}
}

// recorder is the recording endpoint: an HTTP server in front of kumo that decodes every PutLogEvents request
// (AWS JSON 1.1, X-Amz-Target: Logs_20140328.PutLogEvents), checks it against CloudWatch's documented limits,
// and forwards it, unless inject answers it instead.
type recorder struct {
	URL          string
	maxEventSize int
	upstream     *httputil.ReverseProxy

	mu         sync.Mutex
	puts       []*recordedPut
	calls      map[string]int
	violations []string
	// inject may answer a request itself: action is the X-Amz-Target operation, n counts calls of that
	// operation from 0, put is the decoded request for PutLogEvents (nil otherwise).
	inject func(action string, n int, put *recordedPut) *fault
}

func newRecorder(t *testing.T, kumoURL string, maxEventSize int) *recorder {
	t.Helper()
	target, err := url.Parse(kumoURL)
	require.NoError(t, err)
	rec := &recorder{maxEventSize: maxEventSize, upstream: httputil.NewSingleHostReverseProxy(target), calls: map[string]int{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	var put *recordedPut
	if action == "PutLogEvents" {
		put = new(recordedPut)
		if err := json.Unmarshal(body, put); err != nil {
			rec.violate("undecodable PutLogEvents body: %v", err)
		}
		rec.check(put, len(body))
	}
	rec.mu.Lock()
	n := rec.calls[action]
	rec.calls[action]++
	var f *fault
	if rec.inject != nil {
		f = rec.inject(action, n, put)
	}
	if put != nil {
		rec.puts = append(rec.puts, put)
	}
	rec.mu.Unlock()

	if f != nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("injected-%s-%d", action, n))
		for k, v := range f.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		rec.setStatus(put, f.status, true)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rec.upstream.ServeHTTP(sw, r)
	rec.setStatus(put, sw.status, false)
}

func (rec *recorder) setStatus(put *recordedPut, status int, injected bool) {
	if put == nil {
		return
	}
	rec.mu.Lock()
	put.status, put.injected = status, injected
	rec.mu.Unlock()
}

// check records every way put breaks CloudWatch's documented PutLogEvents limits.
func (rec *recorder) check(put *recordedPut, bodyLen int) {
	n := len(put.Events)
	if n == 0 || n > maxEventsPerRequest {
		rec.violate("%d events in one request (1 to 10,000 allowed)", n)
	}
	size := 0
	for i, ev := range put.Events {
		size += len(ev.Message) + eventOverhead
		if len(ev.Message)+eventOverhead > rec.maxEventSize {
			rec.violate("event %d is %d bytes with overhead, over max_event_size %d", i, len(ev.Message)+eventOverhead, rec.maxEventSize)
		}
		if !utf8.ValidString(ev.Message) {
			rec.violate("event %d is not valid UTF-8", i)
		}
		if i > 0 && ev.Timestamp < put.Events[i-1].Timestamp {
			rec.violate("event %d (%d) is older than event %d (%d): not in chronological order", i, ev.Timestamp, i-1, put.Events[i-1].Timestamp)
		}
	}
	if size > maxRequestBytes {
		rec.violate("request is %d bytes counting 26 per event (max 1,048,576); body %d bytes", size, bodyLen)
	}
	if n > 0 {
		first := slices.MinFunc(put.Events, func(a, b putEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		last := slices.MaxFunc(put.Events, func(a, b putEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		if span := last.Timestamp - first.Timestamp; span > maxRequestSpan.Milliseconds() {
			rec.violate("request spans %s (max 24h)", time.Duration(span)*time.Millisecond)
		}
	}
}

func (rec *recorder) violate(format string, args ...any) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.violations = append(rec.violations, fmt.Sprintf(format, args...))
}

// allPuts returns copies of the requests recorded so far: their status may still be set by the handler.
func (rec *recorder) allPuts() []*recordedPut {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]*recordedPut, len(rec.puts))
	for i, put := range rec.puts {
		c := *put
		out[i] = &c
	}
	return out
}

func (rec *recorder) callCount(action string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.calls[action]
}

// accepted counts message ids in the requests the service answered 200, injected or not.
func (rec *recorder) accepted() map[string]int {
	ids := map[string]int{}
	for _, put := range rec.allPuts() {
		if put.status != http.StatusOK {
			continue
		}
		for _, ev := range put.Events {
			ids[messageID(ev.Message)]++
		}
	}
	return ids
}

func (rec *recorder) requireWithinLimits(t *testing.T) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Empty(t, rec.violations, "requests broke CloudWatch's limits")
	require.NotEmpty(t, rec.puts, "no PutLogEvents request was made")
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// describeGroups lists the names of the groups starting with prefix.
func describeGroups(t *testing.T, client *cloudwatchlogs.Client, prefix string) []string {
	t.Helper()
	resp, err := client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(prefix)})
	require.NoError(t, err)
	var names []string
	for _, g := range resp.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	slices.Sort(names)
	return names
}
