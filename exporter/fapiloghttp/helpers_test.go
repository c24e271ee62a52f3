package fapiloghttp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// testLogs returns n records with message ids "<prefix>-<i>" spread over two resources and scopes, so that
// splitting and partial retries have to keep each record's resource and scope.
func testLogs(prefix string, n int) plog.Logs {
	ld := plog.NewLogs()
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(fmt.Sprintf("app.scope%d", r))
		for i := r; i < n; i += 2 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, i*int(time.Millisecond), time.UTC)))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.Body().SetStr(fmt.Sprintf("record %d: héllo 世界 🚀", i))
			lr.Attributes().PutStr("message_id", fmt.Sprintf("%s-%d", prefix, i))
			lr.Attributes().PutInt("seq", int64(i))
		}
	}
	return ld
}

// withBigRecord gives the record with message id id a body of size bytes.
func withBigRecord(ld plog.Logs, id string, size int) plog.Logs {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if v, _ := lr.Attributes().Get("message_id"); v.Str() == id {
					lr.Body().SetStr(strings.Repeat("x", size))
				}
			}
		}
	}
	return ld
}

// envelopes encodes ld independently of the exporter: the bare envelope of each record, in order.
func envelopes(ld plog.Logs) [][]byte {
	var out [][]byte
	var e envelope.Entry
	envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) {
		out = append(out, e.AppendJSON(nil))
	})
	return out
}

// received is one request as the test server saw it.
type received struct {
	at     time.Time
	header http.Header
	body   []byte // after undoing Content-Encoding
	raw    []byte // as it came off the wire
	status int
}

// recorder is an HTTP endpoint that records every request and answers with respond (200 when nil).
type recorder struct {
	mu       sync.Mutex
	requests []received
	respond  func(n int, r *http.Request) (status int, header map[string]string, body string)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	body := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	rec.mu.Lock()
	n := len(rec.requests)
	status, header, respBody := http.StatusOK, map[string]string(nil), ""
	if rec.respond != nil {
		status, header, respBody = rec.respond(n, r)
	}
	rec.requests = append(rec.requests, received{at: time.Now(), header: r.Header.Clone(), body: body, raw: raw, status: status})
	rec.mu.Unlock()
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, respBody)
}

func (rec *recorder) all() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.requests...)
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

// delivered counts message ids in the requests answered 2xx.
func (rec *recorder) delivered(t *testing.T) map[string]int {
	t.Helper()
	return rec.messageIDs(t, true)
}

// messageIDs counts message ids in every request (onlyAccepted: only those answered 2xx).
func (rec *recorder) messageIDs(t *testing.T, onlyAccepted bool) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range rec.all() {
		if onlyAccepted && (r.status < 200 || r.status > 299) {
			continue
		}
		for _, env := range decodeBody(t, r.header.Get("Content-Type"), r.body) {
			ids[env.Context.MessageID]++
		}
	}
	return ids
}

type envelopeDoc struct {
	Context struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Message string `json:"message"`
}

// decodeBody reads any body the exporter sends: a list, one object, {"<key>":[...]} or NDJSON.
func decodeBody(t *testing.T, contentType string, body []byte) []envelopeDoc {
	t.Helper()
	var docs []envelopeDoc
	if contentType == contentTypeNDJSON {
		require.True(t, bytes.HasSuffix(body, []byte("\n")), "NDJSON ends with a newline")
		for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			var d envelopeDoc
			require.NoError(t, json.Unmarshal([]byte(line), &d), line)
			docs = append(docs, d)
		}
		return docs
	}
	require.Equal(t, contentTypeJSON, contentType)
	switch bytes.TrimSpace(body)[0] {
	case '[':
		require.NoError(t, json.Unmarshal(body, &docs), "%s", body)
	case '{':
		var probe map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &probe))
		if _, isEnvelope := probe["context"]; isEnvelope {
			var d envelopeDoc
			require.NoError(t, json.Unmarshal(body, &d))
			return []envelopeDoc{d}
		}
		require.Len(t, probe, 1, "a wrapped body has one key")
		for _, list := range probe {
			require.NoError(t, json.Unmarshal(list, &docs))
		}
	default:
		t.Fatalf("unexpected body %q", body)
	}
	return docs
}

// syncConfig is a config for an exporter whose ConsumeLogs returns the outcome of the send itself: no queue,
// no retry, so each call is exactly one attempt.
func syncConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	return cfg
}

// fastRetryConfig is a config with the default queue and batching but intervals short enough for tests.
func fastRetryConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = time.Minute
	batch := cfg.QueueConfig.Get().Batch.Get()
	batch.FlushTimeout = 50 * time.Millisecond
	cfg.CircuitBreaker.Recovery = 200 * time.Millisecond
	return cfg
}

// startObserved builds the exporter with the factory, as the collector does, and starts it.
func startObserved(t *testing.T, cfg *Config) *telemetrytest.Observed {
	t.Helper()
	return telemetrytest.StartExporter(t, NewFactory(), cfg)
}

// startExporter is startObserved for tests that look only at the logs.
func startExporter(t *testing.T, cfg *Config) (exporter.Logs, *observer.ObservedLogs) {
	t.Helper()
	o := startObserved(t, cfg)
	return o.Exporter, o.Logs
}

func newServer(t *testing.T, rec *recorder) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv
}

func requireEachOnce(t *testing.T, ids map[string]int, prefix string, n int) {
	t.Helper()
	require.Len(t, ids, n, "every record arrives")
	for i := range n {
		require.Equal(t, 1, ids[fmt.Sprintf("%s-%d", prefix, i)], "record %s-%d arrives exactly once", prefix, i)
	}
}
