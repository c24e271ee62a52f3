package fapilogloki

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

func TestPush_PostsToThePushPathOfTheEndpoint(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	tests := []struct{ endpoint, path, query string }{
		{srv.URL, "/loki/api/v1/push", ""},
		{srv.URL + "/", "/loki/api/v1/push", ""},
		{srv.URL + "/loki/api/v1/push", "/loki/api/v1/push", ""},
		{srv.URL + "/insert", "/insert/loki/api/v1/push", ""}, // VictoriaLogs
		{srv.URL + "/insert/loki/api/v1/push/", "/insert/loki/api/v1/push", ""},
		{srv.URL + "/insert?_msg_field=message", "/insert/loki/api/v1/push", "_msg_field=message"},
	}
	for _, tt := range tests {
		exp, _ := startExporter(t, syncConfig(tt.endpoint))
		before := rec.count()
		require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 2)))
		got := rec.all()[before]
		assert.Equal(t, tt.path, got.path, tt.endpoint)
		assert.Equal(t, tt.query, got.query, tt.endpoint)
	}
}

func TestPush_ProtobufRequestHeaders(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, syncConfig(srv.URL))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 3)))
	h := rec.all()[0].header
	assert.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
	assert.Empty(t, h.Get("Content-Encoding"), "Loki reads the body itself as snappy; Content-Encoding: snappy is a 400")
	assert.NotEmpty(t, h.Get("User-Agent"))
	assert.Empty(t, h.Get("X-Scope-OrgID"), "no tenant configured")
	assert.Empty(t, h.Get("Authorization"), "no credentials configured")
	requireEachOnce(t, rec.delivered(t), "m", 3)
}

func TestPush_Any2xxIsSuccess(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusNoContent} {
		rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
			return status, nil, ""
		}}
		srv := newServer(t, rec)
		cfg := syncConfig(srv.URL)
		cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
		exp, _ := startExporter(t, cfg)
		require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 4)), "HTTP %d", status)
		assert.Equal(t, 1, rec.count(), "HTTP %d is not retried", status)
	}
}

func TestPush_TenantAndAuthenticationHeaders(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		wantAuth  string
	}{
		{"basic", func(c *Config) { c.AuthUsername, c.AuthPassword = "grafana", "s3cr3t:pw" },
			"Basic " + base64.StdEncoding.EncodeToString([]byte("grafana:s3cr3t:pw"))},
		{"bearer", func(c *Config) { c.AuthToken = "glc_t0k3n" }, "Bearer glc_t0k3n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, rec)
			cfg := syncConfig(srv.URL)
			cfg.TenantID = "team-a"
			tt.configure(cfg)
			exp, _ := startExporter(t, cfg)
			require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 2)))
			h := rec.all()[0].header
			assert.Equal(t, "team-a", h.Get("X-Scope-OrgID"))
			assert.Equal(t, tt.wantAuth, h.Get("Authorization"))
		})
	}
}

// requireNotInLogs fails when any logged message or field contains secret.
func requireNotInLogs(t *testing.T, logs *observer.ObservedLogs, secret string) {
	t.Helper()
	for _, entry := range logs.All() {
		require.NotContains(t, entry.Message, secret)
		require.NotContains(t, fmt.Sprint(entry.ContextMap()), secret)
	}
}

func TestPush_SecretsAreNeverLoggedNorInErrors(t *testing.T) {
	const password, token = "pw-hunter2", "tok-hunter3"
	rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
		return http.StatusUnauthorized, nil, "invalid credentials"
	}}
	srv := newServer(t, rec)

	basic := syncConfig(srv.URL)
	basic.AuthUsername, basic.AuthPassword = "user", password
	bearer := syncConfig(srv.URL)
	bearer.AuthToken = token
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://user:" + password + "@" + l.Addr().String()
	require.NoError(t, l.Close())
	unreachable := syncConfig(down) // a password in the URL itself
	unreachable.AuthToken = token

	for _, cfg := range []*Config{basic, bearer} {
		printed := fmt.Sprintf("%+v %#v", cfg, cfg)
		assert.NotContains(t, printed, password, "auth_password prints as [REDACTED]")
		assert.NotContains(t, printed, token, "auth_token prints as [REDACTED]")
	}
	for _, cfg := range []*Config{basic, bearer, unreachable} {
		exp, logs := startExporter(t, cfg)
		err := exp.ConsumeLogs(context.Background(), testLogs("m", 3))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), password)
		assert.NotContains(t, err.Error(), token)
		requireNotInLogs(t, logs, password)
		requireNotInLogs(t, logs, token)
	}
	assert.Equal(t, 2, rec.count())
}

func TestPush_429RetryAfterIsHonoured(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request, _ []pushedStream) (int, map[string]string, string) {
		if n == 0 {
			return http.StatusTooManyRequests, map[string]string{"Retry-After": "2"}, "Ingestion rate limit exceeded"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, fastRetryConfig(srv.URL))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 10)))
	require.Eventually(t, func() bool { return rec.count() >= 2 }, 10*time.Second, 20*time.Millisecond)
	got := rec.all()
	assert.GreaterOrEqual(t, got[1].at.Sub(got[0].at), 2*time.Second, "the retry waited for Retry-After, not the 10ms back-off")
	requireEachOnce(t, rec.delivered(t), "m", 10)
}

// Which answers are tried again: as core otlphttp (408, 429, 502, 503, 504), plus 500, which Loki's distributor
// answers while ingesters are briefly unavailable and which Grafana's own clients retry; never 501, 505 or another 4xx.
func TestPush_WhichStatusesAreRetried(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
		{400, false}, {401, false}, {404, false}, {413, false}, {501, false}, {505, false},
	}
	for _, tt := range tests {
		rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
			return tt.status, nil, ""
		}}
		srv := newServer(t, rec)
		exp, _ := startExporter(t, syncConfig(srv.URL))
		err := exp.ConsumeLogs(context.Background(), testLogs("m", 3))
		require.Error(t, err, "HTTP %d", tt.status)
		assert.Equal(t, !tt.retry, consumererror.IsPermanent(err), "HTTP %d retried: %v", tt.status, tt.retry)
	}
}

func TestPush_500ThenOKDeliversEverythingOnce(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request, _ []pushedStream) (int, map[string]string, string) {
		if n == 0 {
			return http.StatusInternalServerError, nil, "ingester unavailable"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, fastRetryConfig(srv.URL))
	const total = 60
	ld := testLogs("m", total)
	for i := 0; i < total; i += 20 { // handed over in pieces, batched by the queue
		require.NoError(t, exp.ConsumeLogs(context.Background(), pick(ld, "m", i, i+20)))
	}
	require.Eventually(t, func() bool { return len(rec.delivered(t)) == total }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a duplicate would show up now
	requireEachOnce(t, rec.delivered(t), "m", total)
	assert.Equal(t, 2, rec.count(), "one failed attempt, one retry")
}

// rejectLevel answers 400 with Loki's answer for entries too old to every request holding a stream of that level.
func rejectLevel(level string) func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
	return func(_ int, _ *http.Request, streams []pushedStream) (int, map[string]string, string) {
		for _, s := range streams {
			if s.labels["level"] == level {
				return http.StatusBadRequest, nil, "entry for stream '{level=\"" + level + "\"}' has timestamp too old: " +
					"2020-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-11-25T17:00:00Z"
			}
		}
		return http.StatusNoContent, nil, ""
	}
}

// The scenario of the "No silent loss" issue for Loki: one stream's request of three refused (too old); the
// others delivered, the push a success for the collector (like core otlphttp's partial success), one warning with
// Loki's reason, the refusal counted.
func TestPush_OneStreamRefusedIsPartialSuccessAndTheOthersAreDelivered(t *testing.T) {
	rec := &recorder{respond: rejectLevel("WARNING")}
	srv := newServer(t, rec)
	cfg := fastRetryConfig(srv.URL) // retries on, so that not retrying is a decision
	cfg.MaxStreamsPerRequest = 1
	batch := cfg.QueueConfig.Get().Batch.Get()
	batch.MinSize, batch.MaxSize = 30, 30
	o := startObserved(t, cfg)

	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 30)))
	require.Eventually(t, func() bool { return o.Metrics.Int(t, "otelcol_exporter_sent_log_records") == 30 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a retry would show up now
	assert.Equal(t, 3, rec.count(), "one request per stream, the refused one not retried")
	ids := rec.delivered(t)
	assert.Len(t, ids, 20, "the INFO and ERROR streams went")
	for id := range ids {
		assert.NotEqual(t, 1, mustIndex(t, id)%3, "%s is not a WARNING record", id)
	}
	assert.Zero(t, o.Metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "a partial refusal is no failed push")
	assert.EqualValues(t, 10, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "too_old"),
		attribute.String("exporter", "fapilogloki")))
	assert.EqualValues(t, 2, o.Metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "delivered")))
	assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "rejected")))

	require.Equal(t, 1, o.Logs.FilterLevelExact(zapcore.WarnLevel).Len(), "exactly one warning")
	refusals := o.Logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, refusals, 1)
	fields := refusals[0].ContextMap()
	assert.Equal(t, "too_old", fields["reason"])
	assert.EqualValues(t, 10, fields["rejected_records"])
	assert.EqualValues(t, 400, fields["status"])
	assert.Contains(t, fields["response"], "timestamp too old", "the start of Loki's answer names the stream")
	assert.Zero(t, o.Logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error line: nothing was lost that was not reported")
	assert.False(t, o.Host.Seen(componentstatus.StatusRecoverableError), "a refusal of the data says Loki is up")
}

func TestPush_EveryStreamRefusedIsAPermanentError(t *testing.T) {
	rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
		return http.StatusBadRequest, nil, "Max entry size '262144' bytes exceeded for stream '{level=\"INFO\"}' while adding an entry with length '300000' bytes"
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.MaxStreamsPerRequest = 1
	o := startObserved(t, cfg)
	err := o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 6))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "nothing delivered, nothing to retry: %v", err)
	assert.Contains(t, err.Error(), "Loki refused all 6 records")
	assert.EqualValues(t, 6, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "line_too_long")))
	assert.Equal(t, 1, o.Logs.FilterMessage("Log records rejected for good").Len(), "one line per reason per interval")
}

// Loki's 400 answers are named after its own discard reasons; anything else keeps its status.
func TestDescribeRefusal_NamesLokisReasons(t *testing.T) {
	tests := []struct {
		status int
		answer string
		want   string
	}{
		{400, "entry for stream '{app=\"x\"}' has timestamp too old: 2020-01-01T00:00:00Z, oldest acceptable timestamp is: ...", "too_old"},
		{400, "entry for stream '{app=\"x\"}' has timestamp too new: 2030-01-01T00:00:00Z", "too_new"},
		{400, "entry with timestamp 2026-01-01 00:00:00 +0000 UTC ignored, reason: 'entry out of order' for stream: {app=\"x\"}", "out_of_order"},
		{400, "entry with timestamp 2026-01-01 ignored, reason: 'entry too far behind, entry timestamp is: ...'", "out_of_order"},
		{400, "Max entry size '262144' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length '300000' bytes", "line_too_long"},
		{400, "stream '{app=\"x\"}' includes structured metadata, but this feature is disallowed.", "structured_metadata_disallowed"},
		{413, "request body too large: 9000000 bytes, limit: 5000000 bytes", "request_too_large"},
		{400, "cannot read Loki protobuf data: cannot decompress data: too big data size 101388 exceeding 65536 bytes", "request_too_large"}, // VictoriaLogs
		{400, "cannot read Loki JSON data: too big data size exceeding -loki.maxRequestSize=65536 bytes", "request_too_large"},
		{400, "error at least one label pair is required per stream", "http_400"},
		{401, "no org id", "http_401"},
	}
	for _, tt := range tests {
		err := consumererror.NewPermanent(&httpsend.StatusError{StatusCode: tt.status, Snippet: []byte(tt.answer), Answer: []byte(tt.answer)})
		reason, detail := describeRefusal(err)
		assert.Equal(t, tt.want, reason, tt.answer)
		assert.NotEmpty(t, detail)
	}
}

func mustIndex(t *testing.T, id string) int {
	t.Helper()
	var i int
	_, err := fmt.Sscanf(id, "m-%d", &i)
	require.NoError(t, err)
	return i
}

func TestPush_RetryableFailureOfOneRequestRetriesOnlyItsRecords(t *testing.T) {
	var failed atomic.Bool
	rec := &recorder{respond: func(_ int, _ *http.Request, streams []pushedStream) (int, map[string]string, string) {
		if streams[0].labels["level"] == "WARNING" && failed.CompareAndSwap(false, true) {
			return http.StatusServiceUnavailable, nil, ""
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	cfg.MaxStreamsPerRequest = 1
	exp, _ := startExporter(t, cfg)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 30)))
	assert.Equal(t, 4, rec.count(), "three requests, then the failed one again")
	sent := rec.messageIDs(t, false)
	for id, n := range sent {
		want := 1
		if mustIndex(t, id)%3 == 1 {
			want = 2 // WARNING: failed once, retried once
		}
		assert.Equal(t, want, n, id)
	}
	requireEachOnce(t, rec.delivered(t), "m", 30)
}

// After a network error the remaining requests of the push are not tried against a backend that is down: they are
// retried together with the failed one.
func TestPush_NetworkErrorHandsBackTheRequestsNotSentYet(t *testing.T) {
	var dropped atomic.Bool
	rec := &recorder{}
	srv := newServer(t, rec)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dropped.CompareAndSwap(false, true) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close() // the connection breaks: no HTTP answer at all
			}
			return
		}
		rec.ServeHTTP(w, r)
	})
	cfg := syncConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	cfg.MaxStreamsPerRequest = 1
	exp, _ := startExporter(t, cfg)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 30)))
	assert.Equal(t, 3, rec.count(), "after the broken first request nothing else was sent; the retry sent all three")
	requireEachOnce(t, rec.delivered(t), "m", 30)
}

// During an outage the circuit opens; requests made meanwhile are held (never failed for the time they spent
// behind the circuit), one probe goes out after circuit_breaker_recovery, and once it succeeds every held request
// is delivered. The breaker's state and transitions are metrics, and the component status follows the backend.
func TestBreaker_HoldsRequestsUntilOneProbeSucceedsThenDeliversThem(t *testing.T) {
	var healthy, holdNext atomic.Bool
	probeArrived, release := make(chan struct{}), make(chan struct{})
	rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
		if !healthy.Load() {
			return http.StatusServiceUnavailable, nil, "down"
		}
		return http.StatusNoContent, nil, ""
	}}
	rec.t = t
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holdNext.CompareAndSwap(true, false) { // hold the first request (the probe) until the test lets it go
			close(probeArrived)
			<-release
		}
		rec.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	cfg := syncConfig(srv.URL)
	cfg.CircuitBreaker = breaker.Config{Enabled: true, Threshold: 3, Recovery: 300 * time.Millisecond}
	o := startObserved(t, cfg)
	send := func(prefix string) error { return o.Exporter.ConsumeLogs(context.Background(), testLogs(prefix, 3)) }

	for i := range 3 {
		err := send(fmt.Sprintf("down%d", i))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "503 is retried")
	}
	assert.Equal(t, 3, rec.count())
	assert.Equal(t, 1, o.Logs.FilterMessageSnippet("Circuit breaker opened").Len())
	assert.EqualValues(t, breaker.Open, o.Metrics.Int(t, delivery.MetricBreakerState))
	assert.Equal(t, componentstatus.StatusRecoverableError, o.Host.Last())

	// Loki comes back. Pushes made now are held until the probe time; one goes out as the probe, the others wait
	// for its verdict, and all are delivered once it succeeds.
	healthy.Store(true)
	holdNext.Store(true)
	results := make(chan error, 6)
	for i := range 6 {
		go func() { results <- send(fmt.Sprintf("held%d", i)) }()
	}
	select {
	case <-probeArrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the probe never reached Loki")
	}
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 3, rec.count(), "while the probe is out, nobody else reaches Loki")
	assert.EqualValues(t, breaker.HalfOpen, o.Metrics.Int(t, delivery.MetricBreakerState))
	close(release)
	for range 6 {
		require.NoError(t, <-results, "held requests are delivered, not failed")
	}
	assert.Equal(t, 9, rec.count(), "one probe, then the five held requests")
	for i := range 6 {
		requireEachOnce(t, withPrefix(rec.delivered(t), fmt.Sprintf("held%d", i)), fmt.Sprintf("held%d", i), 3)
	}
	assert.EqualValues(t, breaker.Closed, o.Metrics.Int(t, delivery.MetricBreakerState))
	for _, to := range []string{"open", "half_open", "closed"} {
		assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", to)), to)
	}
	assert.Equal(t, componentstatus.StatusOK, o.Host.Last())
}

// withPrefix keeps the message ids that start with prefix + "-".
func withPrefix(ids map[string]int, prefix string) map[string]int {
	out := map[string]int{}
	for id, n := range ids {
		if strings.HasPrefix(id, prefix+"-") {
			out[id] = n
		}
	}
	return out
}

// startUserLabelCapped starts an exporter whose streams are labelled by level and data.user, with at most
// maxValues values of data.user, sending to a recorder.
func startUserLabelCapped(t *testing.T, maxValues int) (*recorder, *telemetrytest.Observed) {
	t.Helper()
	rec := &recorder{}
	cfg := syncConfig(newServer(t, rec).URL)
	cfg.LabelKeys = []string{"level", "data.user"}
	cfg.MaxLabelValues = maxValues
	return rec, startObserved(t, cfg)
}

func TestPush_MaxLabelValuesSendsNewValuesAsOtherAndWarnsOnce(t *testing.T) {
	rec, o := startUserLabelCapped(t, 3)
	exp, logs := o.Exporter, o.Logs

	ld := testLogs("m", 10)
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				lr.SetSeverityNumber(levels[0])
				lr.Attributes().PutStr("user", fmt.Sprintf("u%d", i))
				i++
			}
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("x", 3)), "records without the field are unaffected")

	users := rec.entriesByLabel("data_user")
	// Record order: the even records of the first resource come first, so u0, u1, u2 are the first values seen.
	assert.Equal(t, map[string]int{"u0": 1, "u1": 1, "u2": 1, "_other_": 7, "": 3}, users)
	assert.EqualValues(t, 7, o.Metrics.Int(t, metricLabelValuesReplaced, attribute.String("label", "data_user")))
	assert.Zero(t, o.Metrics.Int(t, metricLabelValuesReplaced, attribute.String("label", "level")))
	warnings := logs.FilterMessageSnippet("max_label_values").All()
	require.Len(t, warnings, 1, "rate-limited: one warning for the seven values")
	assert.Equal(t, "data_user", warnings[0].ContextMap()["label"])
	assert.Len(t, rec.delivered(t), 13, "capping changes labels, never drops records")
}

// Within one push, a value seen before keeps its label (sanitised once), and every record whose value is over
// the cap is counted, not only the first one of the push.
func TestPush_RepeatedValuesInOnePushKeepTheirLabelAndEachReplacedRecordCounts(t *testing.T) {
	rec, o := startUserLabelCapped(t, 3)

	ld := testLogs("m", 20)
	users := []string{"u 0", "u1", "u2", "u3", "u4"}
	i := 0
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		lr.Attributes().PutStr("user", users[i%len(users)]) // the first resource's ten records: each user twice
		i++
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld))

	got := rec.entriesByLabel("data_user")
	assert.Equal(t, map[string]int{"u_0": 2, "u1": 2, "u2": 2, "_other_": 4, "": 10}, got)
	assert.EqualValues(t, 4, o.Metrics.Int(t, metricLabelValuesReplaced, attribute.String("label", "data_user")))
}

func TestPush_ConcurrentPushesShareLabelsSafely(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.LabelKeys = []string{"level", "data.seq"}
	cfg.MaxLabelValues = 50
	exp, _ := startExporter(t, cfg)
	var wg sync.WaitGroup
	var errs atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if exp.ConsumeLogs(context.Background(), testLogs(fmt.Sprintf("g%d", g), 40)) != nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, errs.Load())
	values := map[string]bool{}
	for _, r := range rec.all() {
		for _, s := range r.streams {
			values[s.labels["data_seq"]] = true
		}
	}
	assert.Len(t, values, 40, "40 distinct seq values fit under the cap of 50, none became _other_")
	assert.NotContains(t, values, "_other_")
	for g := range 8 {
		ids := map[string]int{}
		for id, n := range rec.delivered(t) {
			if strings.HasPrefix(id, fmt.Sprintf("g%d-", g)) {
				ids[strings.Replace(id, fmt.Sprintf("g%d-", g), "m-", 1)] = n
			}
		}
		requireEachOnce(t, ids, "m", 40)
	}
}

func TestPush_JSONEncodingEndToEnd(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.Encoding = EncodingJSON
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 9)))
	got := rec.all()[0]
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	requireEachOnce(t, rec.delivered(t), "m", 9)
}

func TestStart_ReportsStaticLabelValuesThatWereSanitised(t *testing.T) {
	cfg := syncConfig("http://127.0.0.1:1")
	cfg.Labels = StaticLabels{"env": "prod.eu", "app": "api"}
	_, logs := startExporter(t, cfg)
	lines := logs.FilterMessageSnippet("Static label value sanitised").All()
	require.Len(t, lines, 1, "only the value that changed")
	assert.Equal(t, "env", lines[0].ContextMap()["label"])
	assert.Equal(t, "prod_eu", lines[0].ContextMap()["sent"])
}

// Every metric the exporter reports (its own and the delivery path's) is declared in metadata.yaml and documented
// in documentation.md: a push meets a failure that opens the circuit, a probe, a refusal, deliveries and a capped
// label, so that each instrument records something.
func TestTelemetry_EveryMetricIsDeclaredAndDocumented(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request, streams []pushedStream) (int, map[string]string, string) {
		switch {
		case n == 0:
			return http.StatusServiceUnavailable, nil, "ingester unavailable"
		case streams[0].labels["level"] == "WARNING":
			return http.StatusBadRequest, nil, "entry for stream '{level=\"WARNING\"}' has timestamp too old"
		}
		return http.StatusNoContent, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.CircuitBreaker = breaker.Config{Enabled: true, Threshold: 1, Recovery: 50 * time.Millisecond}
	cfg.MaxStreamsPerRequest = 1
	cfg.LabelKeys = []string{"level", "data.seq"}
	cfg.MaxLabelValues = 3
	o := startObserved(t, cfg)

	require.Error(t, o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 4)), "503: the circuit opens")
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 4)), "held for the probe, then partly refused")
	assert.EqualValues(t, 2, o.Metrics.Int(t, metricLabelValuesReplaced, attribute.String("label", "data_seq")),
		"seq 3 is the fourth value of data_seq, once per push")
	assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "too_old")))
	assert.EqualValues(t, 4, o.Metrics.Int(t, delivery.MetricRecordsRetried))
	assert.Positive(t, o.Metrics.Int(t, delivery.MetricSentBytes))
	assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "closed")))
	o.Metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}
