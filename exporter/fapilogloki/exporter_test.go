package fapilogloki

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
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

// rejectLevel answers 400, as Loki does for entries too old, to every request holding a stream of that level.
func rejectLevel(level string) func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
	return func(_ int, _ *http.Request, streams []pushedStream) (int, map[string]string, string) {
		for _, s := range streams {
			if s.labels["level"] == level {
				return http.StatusBadRequest, nil, "entry for stream '{level=\"" + level + "\"}' has timestamp too old"
			}
		}
		return http.StatusNoContent, nil, ""
	}
}

func TestPush_400ForOneRequestDoesNotBlockTheOthers(t *testing.T) {
	rec := &recorder{respond: rejectLevel("WARNING")}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig // retries on, so that not retrying is a decision
	cfg.MaxStreamsPerRequest = 1
	exp, logs := startExporter(t, cfg)

	err := exp.ConsumeLogs(context.Background(), testLogs("m", 30))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), "rejected 10 of 30 records")
	assert.Contains(t, err.Error(), "HTTP 400")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, 3, rec.count(), "one request per stream, the rejected one not retried")
	ids := rec.delivered(t)
	assert.Len(t, ids, 20, "the INFO and ERROR streams went")
	for id := range ids {
		assert.NotEqual(t, 1, mustIndex(t, id)%3, "%s is not a WARNING record", id)
	}

	drops := logs.FilterMessage("Dropped log records").All()
	require.Len(t, drops, 1, "the drop is logged")
	fields := drops[0].ContextMap()
	assert.Equal(t, "rejected by loki (HTTP 400)", fields["reason"])
	assert.EqualValues(t, 10, fields["dropped"])
	assert.Contains(t, fields["response"], "timestamp too old")
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

func TestBreaker_OpensAfterThresholdAndSparesTheBackend(t *testing.T) {
	var healthy atomic.Bool
	rec := &recorder{respond: func(int, *http.Request, []pushedStream) (int, map[string]string, string) {
		if healthy.Load() {
			return http.StatusNoContent, nil, ""
		}
		return http.StatusServiceUnavailable, nil, "down"
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.CircuitBreaker = breaker.Config{Enabled: true, Threshold: 2, Recovery: 300 * time.Millisecond}
	exp, logs := startExporter(t, cfg)
	send := func() error { return exp.ConsumeLogs(context.Background(), testLogs("m", 3)) }

	require.Error(t, send())
	require.Error(t, send())
	assert.Equal(t, 1, logs.FilterMessageSnippet("Circuit breaker opened").Len())
	held, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := exp.ConsumeLogs(held, testLogs("m", 3))
	require.ErrorIs(t, err, breaker.ErrOpen, "a request is held behind the open circuit until its context ends")
	assert.False(t, consumererror.IsPermanent(err), "data stays queued while the circuit is open")
	assert.Equal(t, 2, rec.count(), "the open circuit does not touch the backend")

	healthy.Store(true)
	time.Sleep(350 * time.Millisecond)
	require.NoError(t, send(), "the probe goes through and closes the circuit")
	require.NoError(t, send())
	assert.Equal(t, 4, rec.count())
}

func TestPush_MaxLabelValuesSendsNewValuesAsOtherAndWarnsOnce(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.LabelKeys = []string{"level", "data.user"}
	cfg.MaxLabelValues = 3
	exp, logs := startExporter(t, cfg)

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

	users := map[string]int{}
	for _, r := range rec.all() {
		for _, s := range r.streams {
			users[s.labels["data_user"]] += len(s.entries)
		}
	}
	// Record order: the even records of the first resource come first, so u0, u1, u2 are the first values seen.
	assert.Equal(t, map[string]int{"u0": 1, "u1": 1, "u2": 1, "_other_": 7, "": 3}, users)
	warnings := logs.FilterMessageSnippet("max_label_values").All()
	require.Len(t, warnings, 1, "rate-limited: one warning for the seven values")
	assert.Equal(t, "data_user", warnings[0].ContextMap()["label"])
	assert.Len(t, rec.delivered(t), 13, "capping changes labels, never drops records")
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
