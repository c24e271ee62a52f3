package fapiloghttp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

func TestPush_EachFormatSendsItsExactBodyAndContentType(t *testing.T) {
	tests := []struct {
		format      BatchFormat
		key         string
		contentType string
		frame       func(envs [][]byte) string
	}{
		{FormatArray, "", "application/json", func(e [][]byte) string { return "[" + string(bytes.Join(e, []byte(","))) + "]" }},
		{FormatNDJSON, "", "application/x-ndjson", func(e [][]byte) string { return string(bytes.Join(e, []byte("\n"))) + "\n" }},
		{FormatWrapped, "records", "application/json", func(e [][]byte) string {
			return `{"records":[` + string(bytes.Join(e, []byte(","))) + "]}"
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, rec)
			cfg := syncConfig(srv.URL + "/ingest")
			cfg.BatchFormat, cfg.BatchWrapperKey = tt.format, tt.key
			exp, _ := startExporter(t, cfg)

			ld := testLogs("m", 3)
			require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			got := rec.all()
			require.Len(t, got, 1)
			assert.Equal(t, tt.contentType, got[0].header.Get("Content-Type"))
			assert.Equal(t, tt.frame(envelopes(ld)), string(got[0].body))
			assert.Empty(t, got[0].header.Get(webhook.SignatureHeader), "http mode does not sign")
		})
	}
}

func TestPush_HTTPModeSendsAListEvenOfOne(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, syncConfig(srv.URL))
	ld := testLogs("m", 1)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, "["+string(envelopes(ld)[0])+"]", string(rec.all()[0].body))
}

func TestPush_ConfiguredHeadersAreSent(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "Authorization", Value: "Bearer t0k3n"}}
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 2)))
	assert.Equal(t, "Bearer t0k3n", rec.all()[0].header.Get("Authorization"))
}

// independentSignature recomputes the signature the way a receiver in any language would.
func independentSignature(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "."))
	h.Write(body)
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

func TestWebhook_SignatureVerifiesOverTheExactBytesReceived(t *testing.T) {
	for _, n := range []int{1, 5} {
		t.Run(strconv.Itoa(n)+" records", func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, rec)
			cfg := syncConfig(srv.URL)
			cfg.Mode, cfg.Secret = ModeWebhook, "wh-s3cr3t"
			exp, _ := startExporter(t, cfg)
			ld := testLogs("m", n)
			require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

			got := rec.all()[0]
			ts := got.header.Get(webhook.TimestampHeader)
			sig := got.header.Get(webhook.SignatureHeader)
			sent, err := strconv.ParseInt(ts, 10, 64)
			require.NoError(t, err)
			assert.InDelta(t, time.Now().Unix(), sent, 5)
			assert.Contains(t, string(got.raw), "héllo 世界 🚀", "non-ASCII travels as raw UTF-8")
			assert.Equal(t, independentSignature("wh-s3cr3t", ts, got.raw), sig)
			require.NoError(t, webhook.Verify([]byte("wh-s3cr3t"), ts, got.raw, sig, 0))
			assert.ErrorIs(t, webhook.Verify([]byte("wrong"), ts, got.raw, sig, 0), webhook.ErrSignatureMismatch)
			if n == 1 {
				assert.Equal(t, string(envelopes(ld)[0]), string(got.raw), "a batch of one is a single object")
			} else {
				assert.Len(t, decodeBody(t, got.header.Get("Content-Type"), got.raw), n)
			}
		})
	}
}

func TestWebhook_CompressedRequestVerifiesAfterDecompression(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.Mode, cfg.Secret = ModeWebhook, "wh-s3cr3t"
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 20)))

	got := rec.all()[0]
	require.Equal(t, "gzip", got.header.Get("Content-Encoding"))
	ts, sig := got.header.Get(webhook.TimestampHeader), got.header.Get(webhook.SignatureHeader)
	assert.NoError(t, webhook.Verify([]byte("wh-s3cr3t"), ts, got.body, sig, 0), "the signature covers the uncompressed body")
	assert.Error(t, webhook.Verify([]byte("wh-s3cr3t"), ts, got.raw, sig, 0), "not the compressed bytes")
}

func TestWebhook_LegacyHeaderModeSendsTheSecretAndWarnsAtStart(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.Mode, cfg.Secret, cfg.SignatureMode = ModeWebhook, "legacy-secret", SignatureHeader
	exp, logs := startExporter(t, cfg)
	assert.Equal(t, 1, logs.FilterMessageSnippet("signature_mode: header is deprecated").Len())
	assert.Equal(t, 1, logs.FilterMessageSnippet("clear text").Len(), "plain http endpoint")
	for _, entry := range logs.All() {
		assert.NotContains(t, entry.Message, "legacy-secret", "the secret is never logged")
	}

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 2)))
	got := rec.all()[0]
	assert.Equal(t, "legacy-secret", got.header.Get(webhook.LegacySecretHeader))
	assert.Empty(t, got.header.Get(webhook.SignatureHeader))
}

func TestWebhook_WithoutSecretIsUnsignedAndWarns(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.Mode = ModeWebhook
	exp, logs := startExporter(t, cfg)
	assert.Equal(t, 1, logs.FilterMessageSnippet("not signed").Len())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 1)))
	assert.Empty(t, rec.all()[0].header.Get(webhook.SignatureHeader))
}

func TestPush_TLSWithCAFileFromConfig(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below is expected to fail
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	cfg := syncConfig(srv.URL)
	cfg.Mode, cfg.Secret = ModeWebhook, "tls-secret"
	cfg.ClientConfig.TLS.CAFile = caFile
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 4)))
	got := rec.all()
	require.Len(t, got, 1)
	require.NoError(t, webhook.Verify([]byte("tls-secret"), got[0].header.Get(webhook.TimestampHeader), got[0].raw,
		got[0].header.Get(webhook.SignatureHeader), 0))
	requireEachOnce(t, rec.delivered(t), "m", 4)

	// Without the CA the server's certificate is not trusted: TLS verification is on.
	untrusted, _ := startExporter(t, syncConfig(srv.URL))
	err := untrusted.ConsumeLogs(context.Background(), testLogs("x", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Equal(t, 1, rec.count())
}

func TestPush_503ThenOKDeliversEverythingOnce(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request) (int, map[string]string, string) {
		if n < 3 {
			return http.StatusServiceUnavailable, nil, "warming up"
		}
		return http.StatusOK, nil, ""
	}}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, fastRetryConfig(srv.URL))

	const total = 250
	ld := testLogs("m", total)
	// Hand the records over in small pieces, as receivers do; the queue batches them.
	for i := 0; i < total; i += 25 {
		piece := recordsBetween(ld, i, i+25)
		require.NoError(t, exp.ConsumeLogs(context.Background(), piece))
	}
	require.Eventually(t, func() bool { return len(rec.delivered(t)) == total }, 15*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a duplicate would show up now
	requireEachOnce(t, rec.delivered(t), "m", total)
	for _, r := range rec.all() {
		assert.LessOrEqual(t, len(decodeBody(t, r.header.Get("Content-Type"), r.body)), 100, "batch_size 100")
	}
}

// recordsBetween is records [from, to) of ld, with their resource and scope.
func recordsBetween(ld plog.Logs, from, to int) plog.Logs {
	return plogsubset.Select(ld, func(i int) bool { return i >= from && i < to })
}

func TestPush_429RetryAfterIsHonoured(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request) (int, map[string]string, string) {
		if n == 0 {
			return http.StatusTooManyRequests, map[string]string{"Retry-After": "2"}, "slow down"
		}
		return http.StatusOK, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := fastRetryConfig(srv.URL)
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("m", 10)))
	require.Eventually(t, func() bool { return rec.count() >= 2 }, 10*time.Second, 20*time.Millisecond)
	got := rec.all()
	assert.GreaterOrEqual(t, got[1].at.Sub(got[0].at), 2*time.Second, "the retry waited for Retry-After, not the 10ms back-off")
	requireEachOnce(t, rec.delivered(t), "m", 10)
}

func TestPush_400IsNotRetriedAndIsReported(t *testing.T) {
	reason := `{"error":"schema mismatch","detail":"` + strings.Repeat("d", 300) + `"}`
	rec := &recorder{respond: func(int, *http.Request) (int, map[string]string, string) {
		return http.StatusBadRequest, nil, reason
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig // retries on, so that not retrying is a decision
	o := startObserved(t, cfg)

	err := o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 7))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "nothing delivered, nothing to retry: %v", err)
	assert.Contains(t, err.Error(), "HTTP 400")
	assert.Contains(t, err.Error(), "refused all 7 records")
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 1, rec.count(), "a rejection is not retried")

	rejections := o.Logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, rejections, 1, "the rejection is logged")
	fields := rejections[0].ContextMap()
	assert.Equal(t, "http_400", fields["reason"])
	assert.EqualValues(t, 7, fields["rejected_records"])
	assert.Equal(t, reason[:256], fields["response"], "the first 256 bytes of the response")
	assert.EqualValues(t, 7, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_400")))
	assert.EqualValues(t, 7, o.Metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "the collector counts the refused push as failed")
	assert.False(t, o.Host.Seen(componentstatus.StatusRecoverableError), "a refusal of the data says the endpoint is up")
}

// The scenario of the "No silent loss" issue: one request of ten refused; the nine others delivered, the push a
// success for the collector (like core otlphttp's partial success), one warning, the refusal counted by reason.
func TestPush_OneOfTenRequestsRefusedIsPartialSuccess(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request) (int, map[string]string, string) {
		if n == 4 {
			return http.StatusBadRequest, nil, "invalid record"
		}
		return http.StatusOK, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := fastRetryConfig(srv.URL)
	cfg.MaxRequestBytes = 400
	batch := cfg.QueueConfig.Get().Batch.Get()
	batch.MinSize, batch.MaxSize = 10, 10
	o := startObserved(t, cfg)

	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := range 10 {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(fmt.Sprintf("record %d %s", i, strings.Repeat("x", 200))) // one record per 400-byte request
		lr.Attributes().PutStr("message_id", fmt.Sprintf("m-%d", i))
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld))
	require.Eventually(t, func() bool { return o.Metrics.Int(t, "otelcol_exporter_sent_log_records") == 10 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)

	assert.Equal(t, 10, rec.count(), "one record per request, none sent twice")
	assert.Len(t, rec.delivered(t), 9)
	assert.Zero(t, o.Metrics.Int(t, "otelcol_exporter_send_failed_log_records"))
	assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_400"),
		attribute.String("exporter", "fapiloghttp")), "series carry the exporter's component ID, as exporterhelper's do")
	assert.EqualValues(t, 9, o.Metrics.Int(t, delivery.MetricRequests, attribute.String("outcome", "delivered")))
	assert.Equal(t, 1, o.Logs.FilterLevelExact(zapcore.WarnLevel).Len(), "exactly one warning")
	assert.Equal(t, 1, o.Logs.FilterMessage("Log records rejected for good").FilterField(zap.String("reason", "http_400")).Len())
	assert.Zero(t, o.Logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error line: nothing was lost")
	o.Metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

func TestPush_RedirectIsNotFollowed(t *testing.T) {
	target := &recorder{}
	targetSrv := newServer(t, target)
	rec := &recorder{respond: func(int, *http.Request) (int, map[string]string, string) {
		return http.StatusFound, map[string]string{"Location": targetSrv.URL}, ""
	}}
	srv := newServer(t, rec)
	exp, _ := startExporter(t, syncConfig(srv.URL))
	err := exp.ConsumeLogs(context.Background(), testLogs("m", 2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "redirects to "+targetSrv.URL)
	assert.Zero(t, target.count(), "a POST redirected by 302 would arrive as a bodiless GET")
}

func TestPush_ServerDownForSecondsThenUpDeliversEverything(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens: connection refused

	exp, _ := startExporter(t, fastRetryConfig("http://"+addr+"/ingest"))
	const total = 300
	ld := testLogs("m", total)
	for i := 0; i < total; i += 30 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), recordsBetween(ld, i, i+30)))
	}
	time.Sleep(3 * time.Second) // long enough for the breaker to open and probe several times

	rec := &recorder{}
	var up net.Listener
	require.Eventually(t, func() bool { up, err = net.Listen("tcp", addr); return err == nil }, 5*time.Second, 50*time.Millisecond)
	srv := httptest.NewUnstartedServer(rec)
	srv.Listener = up
	srv.Start()
	t.Cleanup(srv.Close)

	require.Eventually(t, func() bool { return len(rec.delivered(t)) == total }, 20*time.Second, 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	requireEachOnce(t, rec.delivered(t), "m", total)
}

func TestBreaker_HoldsRequestsUntilOneProbeSucceedsThenDeliversThem(t *testing.T) {
	var healthy, holdNext atomic.Bool
	probeArrived, release := make(chan struct{}), make(chan struct{})
	rec := &recorder{respond: func(int, *http.Request) (int, map[string]string, string) {
		if !healthy.Load() {
			return http.StatusServiceUnavailable, nil, "down"
		}
		return http.StatusOK, nil, ""
	}}
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
	send := func() error { return o.Exporter.ConsumeLogs(context.Background(), testLogs("m", 1)) }

	for range 3 {
		require.Error(t, send())
	}
	assert.Equal(t, 3, rec.count())
	assert.Equal(t, 1, o.Logs.FilterMessageSnippet("Circuit breaker opened").Len())
	assert.EqualValues(t, breaker.Open, o.Metrics.Int(t, delivery.MetricBreakerState))
	assert.Equal(t, componentstatus.StatusRecoverableError, o.Host.Last())

	// The endpoint comes back. Requests made now are held until the probe time; one goes out as the probe, the
	// others wait for its verdict, and all are delivered once it succeeds.
	healthy.Store(true)
	holdNext.Store(true)
	results := make(chan error, 6)
	for range 6 {
		go func() { results <- send() }()
	}
	select {
	case <-probeArrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the probe never reached the backend")
	}
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 3, rec.count(), "while the probe is out, nobody else reaches the endpoint")
	assert.EqualValues(t, breaker.HalfOpen, o.Metrics.Int(t, delivery.MetricBreakerState))
	close(release)
	for range 6 {
		require.NoError(t, <-results, "held requests are delivered, not failed")
	}
	assert.Equal(t, 9, rec.count(), "one probe, then the five held requests")
	assert.Equal(t, 1, o.Logs.FilterMessageSnippet("Circuit breaker closed").Len())
	assert.EqualValues(t, breaker.Closed, o.Metrics.Int(t, delivery.MetricBreakerState))
	for _, to := range []string{"open", "half_open", "closed"} {
		assert.EqualValues(t, 1, o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", to)), to)
	}
	assert.Equal(t, componentstatus.StatusOK, o.Host.Last())
}

func TestPush_MaxRequestBytesSplitsAndDropsOnlyTheRecordThatCanNeverFit(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.MaxRequestBytes = 2048
	exp, logs := startExporter(t, cfg)

	ld := withBigRecord(testLogs("m", 12), "m-5", 4096)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld), "the rest of the batch goes")
	assert.Greater(t, rec.count(), 1, "split into several requests")
	for _, r := range rec.all() {
		assert.LessOrEqual(t, len(r.body), 2048)
	}
	ids := rec.delivered(t)
	assert.Len(t, ids, 11)
	assert.NotContains(t, ids, "m-5")
	drops := logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, drops, 1)
	assert.Equal(t, "record_too_large", drops[0].ContextMap()["reason"])
	assert.EqualValues(t, 1, drops[0].ContextMap()["rejected_records"])
	assert.EqualValues(t, 2048, drops[0].ContextMap()["max_request_bytes"])
}

func TestPush_PartialFailureRetriesOnlyWhatWasNotDelivered(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request) (int, map[string]string, string) {
		if n == 1 {
			return http.StatusBadGateway, nil, ""
		}
		return http.StatusOK, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	ld := testLogs("m", 12)
	cfg.MaxRequestBytes = confunits.ByteSize(3*len(envelopes(ld)[0]) + 10) // 3 records a request: 4 requests
	exp, _ := startExporter(t, cfg)

	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	got := rec.all()
	// 4 requests planned; the second fails, which stops the push; the retry sends the second, third and fourth.
	require.Equal(t, 5, len(got))
	first := decodeBody(t, got[0].header.Get("Content-Type"), got[0].body)
	// Every request ever sent, failed ones included: records of the first (delivered) request were sent once.
	sent := rec.messageIDs(t, false)
	for _, d := range first {
		assert.Equal(t, 1, sent[d.Context.MessageID], "%s was delivered by the first request and not sent again", d.Context.MessageID)
	}
	requireEachOnce(t, rec.delivered(t), "m", 12)
}

func TestPush_OneRejectedPartDoesNotBlockTheRest(t *testing.T) {
	rec := &recorder{respond: func(n int, _ *http.Request) (int, map[string]string, string) {
		if n == 0 {
			return http.StatusUnprocessableEntity, nil, "bad record"
		}
		return http.StatusOK, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	ld := testLogs("m", 12)
	cfg.MaxRequestBytes = confunits.ByteSize(3*len(envelopes(ld)[0]) + 10)
	o := startObserved(t, cfg)

	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld), "a partial rejection is a partial success")
	got := rec.all()
	require.Greater(t, len(got), 1)
	rejected := len(decodeBody(t, got[0].header.Get("Content-Type"), got[0].body))
	assert.Len(t, rec.delivered(t), 12-rejected, "the other requests still went")
	assert.EqualValues(t, rejected, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_422")))
}

func TestPush_RetryMaxAttemptsBoundsTheRetries(t *testing.T) {
	rec := &recorder{respond: func(int, *http.Request) (int, map[string]string, string) {
		return http.StatusServiceUnavailable, nil, ""
	}}
	srv := newServer(t, rec)
	cfg := syncConfig(srv.URL)
	cfg.CircuitBreaker.Enabled = false
	cfg.RetryConfig = fastRetryConfig(srv.URL).RetryConfig
	cfg.RetryConfig.RandomizationFactor = 0
	cfg.RetryConfig.Multiplier = 2
	cfg.ClientConfig.Timeout = 20 * time.Millisecond
	cfg.RetryMaxAttempts = 3 // budget (20ms+10ms) + (20ms+20ms) = 70ms
	exp, logs := startExporter(t, cfg)
	assert.Equal(t, 1, logs.FilterMessageSnippet("retry_max_attempts replaces").Len())

	start := time.Now()
	err := exp.ConsumeLogs(context.Background(), testLogs("m", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no more retries left")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.GreaterOrEqual(t, rec.count(), 3, "at least retry_max_attempts attempts")
	assert.LessOrEqual(t, rec.count(), 5, "bounded")
}
