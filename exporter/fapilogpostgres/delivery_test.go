package fapilogpostgres

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// End-to-end through the factory-built exporter: its sending queue, batching and retries, against the real server.

// newFactoryExporter creates and starts the exporter the way the collector does. A test shuts it down itself
// (and checks the result); if it fails before, the cleanup does, so that its connections do not outlive it.
func newFactoryExporter(t *testing.T, cfg *Config, logger *zap.Logger) exporter.Logs {
	t.Helper()
	set := exportertest.NewNopSettings(metadata.Type)
	if logger != nil {
		set.Logger = logger
	}
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	once := &shutdownOnce{Logs: exp}
	t.Cleanup(func() { _ = once.Shutdown(context.Background()) })
	return once
}

// observedFactory is an exporter built by the factory, as the collector does, with everything it reports: logs
// (its own and the exporter helper's), metrics (its own, the delivery path's and exporterhelper's) and status.
type observedFactory struct {
	exporter.Logs
	logs    *observer.ObservedLogs
	metrics *telemetrytest.Metrics
	host    *telemetrytest.StatusHost
}

func startObservedFactory(t *testing.T, cfg *Config) *observedFactory {
	t.Helper()
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	var metrics *telemetrytest.Metrics
	set.TelemetrySettings, metrics = telemetrytest.NewSettings(t)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	host := telemetrytest.NewStatusHost()
	require.NoError(t, exp.Start(context.Background(), host))
	once := &shutdownOnce{Logs: exp}
	t.Cleanup(func() { _ = once.Shutdown(context.Background()) })
	return &observedFactory{Logs: once, logs: logs, metrics: metrics, host: host}
}

// shutdownOnce shuts the exporter down on the first call only: the exporter helper must not be shut down twice.
type shutdownOnce struct {
	exporter.Logs
	once sync.Once
	err  error
}

func (s *shutdownOnce) Shutdown(ctx context.Context) error {
	s.once.Do(func() { s.err = s.Logs.Shutdown(ctx) })
	return s.err
}

// sendInChunks hands n records to the exporter as chunk-sized requests, as receivers do.
func sendInChunks(t *testing.T, exp exporter.Logs, n, chunk int) {
	t.Helper()
	for first := 0; first < n; first += chunk {
		require.NoError(t, exp.ConsumeLogs(context.Background(), seqLogs(first, min(chunk, n-first))))
	}
}

// assertExactlyOnce checks that the table holds records 0..n-1, each exactly once.
func assertExactlyOnce(t *testing.T, table string, n int) {
	t.Helper()
	db := connectTestDB(t)
	assert.Equal(t, n, queryInt(t, db, "SELECT count(*) FROM "+table), "rows")
	assert.Equal(t, n, queryInt(t, db, "SELECT count(DISTINCT message_id) FROM "+table), "distinct message_ids")
	assert.Equal(t, n, queryInt(t, db, "SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM "+table), "distinct records")
	assert.Equal(t, n-1, queryInt(t, db, "SELECT max((event->'data'->>'seq')::int) - min((event->'data'->>'seq')::int) FROM "+table))
}

func TestFactory_10000RecordsDeliveredExactlyOnce(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	exp := newFactoryExporter(t, cfg, nil)
	sendInChunks(t, exp, 10_000, 50)
	require.NoError(t, exp.Shutdown(context.Background()), "shutdown drains the queue")
	assertExactlyOnce(t, quoteQualified(schema, "logs"), 10_000)
}

// waitForRows waits until table holds at least n rows. Tests with failures wait before shutting the exporter
// down: at shutdown the helper abandons batches that are waiting for a retry (unless sending_queue.storage makes
// the queue persistent).
func waitForRows(t *testing.T, table string, n int) {
	t.Helper()
	db := connectTestDB(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got int
		err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&got)
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d rows after 60s (%v); want %d", table, got, err, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForLogs waits until logs holds at least n entries whose message contains snippet.
func waitForLogs(t *testing.T, logs *observer.ObservedLogs, snippet string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for logs.FilterMessageSnippet(snippet).Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d log entries %q after 60s; want %d", logs.FilterMessageSnippet(snippet).Len(), snippet, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitCutsRetried waits until table holds total rows and the cuts COPYs the proxy cut after their commit have been
// retried, shuts the exporter down, and checks that the retries skipped exactly the committed rows. The committed
// rows are in the table before their batches are retried, hence the wait for the retries (a shutdown abandons a
// batch waiting for its retry): each meets its rows already stored, so it goes through the duplicate-safe path,
// which logs what it skipped.
func awaitCutsRetried(t *testing.T, o *observedFactory, proxy *faultProxy, table string, total int, cuts int32) {
	t.Helper()
	waitForRows(t, table, total)
	waitForLogs(t, o.logs, "Skipped rows already stored", int(cuts))
	require.NoError(t, o.Shutdown(context.Background()))
	// Each cut COPY was committed (the proxy cuts on PostgreSQL's CommandComplete) and retried: without duplicate
	// protection its rows would be stored twice (TestFactory_WithoutDeduplicationAnAmbiguousFailureDuplicatesRows).
	require.Equal(t, cuts, proxy.cuts.Load(), "ambiguous failures happened")
	assert.Equal(t, total, queryInt(t, connectTestDB(t), "SELECT count(*) FROM "+table), "rows")
	assert.Equal(t, proxy.cutRows.Load(), o.metrics.Int(t, metricDuplicatesSkipped), "the retries skipped exactly the committed rows")
	assert.Zero(t, o.metrics.Int(t, "otelcol_exporter_send_failed_log_records"), "nothing dropped")
}

// skippedRows sums the rows the duplicate-safe path found already stored, from its debug log entries.
func skippedRows(logs *observer.ObservedLogs) int64 {
	var n int64
	for _, e := range logs.FilterMessageSnippet("Skipped rows already stored").All() {
		n += e.ContextMap()["skipped"].(int64)
	}
	return n
}

// dsnThrough is the test DSN pointed at another port on 127.0.0.1 (a proxy in front of the server).
func dsnThrough(t *testing.T, port int) string {
	t.Helper()
	u, err := url.Parse(testDSN(t))
	require.NoError(t, err, pgtest.URLEnv+" must be a URL for this test")
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return u.String()
}

func testServerAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testDSN(t))
	require.NoError(t, err, pgtest.URLEnv+" must be a URL for this test")
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// throughProxy points cfg at the test server through a new fault proxy, with retries fast enough for a test.
func throughProxy(t *testing.T, cfg *Config) *faultProxy {
	t.Helper()
	proxy := newFaultProxy(t, testServerAddr(t))
	cfg.DSN = configopaque.String(dsnThrough(t, proxy.port()))
	fastRetries(cfg)
	return proxy
}

// fastRetries makes the helper retry quickly, as a test cannot wait for the 5 s default.
func fastRetries(cfg *Config) {
	cfg.RetryConfig.InitialInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 200 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = time.Minute
	cfg.Recovery = 200 * time.Millisecond
	cfg.PoolAcquireTimeout = 2 * time.Second
}

func TestFactory_ConnectionLostAfterCommittedCopyIsRetriedWithoutDuplicates(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	proxy := throughProxy(t, cfg)
	o := startObservedFactory(t, cfg)
	exp, logs := o.Logs, o.logs

	// The first two COPYs are committed by PostgreSQL, then their connections die before the answer arrives.
	proxy.cutAfterCopy.Store(2)
	sendInChunks(t, exp, 3000, 100)
	awaitCutsRetried(t, o, proxy, quoteQualified(schema, "logs"), 3000, 2)
	assert.Equal(t, proxy.cutRows.Load(), skippedRows(logs), "the retries logged exactly the committed rows")
	assertExactlyOnce(t, quoteQualified(schema, "logs"), 3000)
	assert.Zero(t, logs.FilterMessageSnippet("Dropping data").Len(), "nothing dropped")
}

func TestFactory_WithoutDeduplicationAnAmbiguousFailureDuplicatesRows(t *testing.T) {
	// The cost of deduplicate: false, shown with the same fault as above: the retried batch is stored twice.
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	cfg := testConfig(t, schema)
	cfg.Deduplicate = false
	proxy := throughProxy(t, cfg)
	core, logs := observer.New(zapcore.InfoLevel)
	exp := newFactoryExporter(t, cfg, zap.New(core))
	proxy.cutAfterCopy.Store(1)
	sendInChunks(t, exp, 100, 100)
	waitForRows(t, quoteQualified(schema, "logs"), 200) // the retry has stored the batch again
	require.NoError(t, exp.Shutdown(context.Background()))
	require.Equal(t, int32(1), proxy.cuts.Load())
	require.Equal(t, int64(100), proxy.cutRows.Load(), "the cut COPY was committed")
	assert.Equal(t, 200, queryInt(t, db, "SELECT count(*) FROM "+quoteQualified(schema, "logs")))
	assert.Equal(t, 100, queryInt(t, db, "SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM "+quoteQualified(schema, "logs")),
		"each record twice")
	assert.Zero(t, logs.FilterMessageSnippet("Dropping data").Len(), "nothing dropped")
}

func TestFactory_DatabaseUnreachableAtStartIsWaitedFor(t *testing.T) {
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	proxy := newFaultProxy(t, testServerAddr(t))
	proxy.refuse.Store(true)
	cfg := testConfig(t, schema)
	cfg.DSN = configopaque.String(dsnThrough(t, proxy.port()))
	fastRetries(cfg)
	core, logs := observer.New(zapcore.WarnLevel)
	exp := newFactoryExporter(t, cfg, zap.New(core))
	require.Equal(t, 1, logs.FilterMessageSnippet("not reachable at start").Len())

	sendInChunks(t, exp, 500, 100)
	time.Sleep(500 * time.Millisecond) // several failed attempts while the database is "down"
	proxy.refuse.Store(false)
	waitForRows(t, quoteQualified(schema, "logs"), 500)
	require.NoError(t, exp.Shutdown(context.Background()))
	assertExactlyOnce(t, quoteQualified(schema, "logs"), 500)
}
