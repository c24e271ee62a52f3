package fapilogpostgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
	"github.com/fapilog/fapilog-otelcol/internal/telemetrytest"
)

// testDSN is the URL of the test process's PostgreSQL server: FAPILOG_TEST_POSTGRES_URL, or else a private
// throwaway cluster (internal/pgtest); the machine's own PostgreSQL is never touched.
func testDSN(t testing.TB) string {
	t.Helper()
	return pgtest.Shared(t).URL()
}

// connectTestDB connects to the test server; the test fails (never skips) when it is unreachable.
func connectTestDB(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatalf("PostgreSQL test server not reachable at %s: %v", testDSN(t), err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// uniqueName returns prefix plus a random suffix, so tests never share a schema or table.
func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newTestSchema creates a schema of its own for the test and drops it (with everything in it) afterwards.
func newTestSchema(t testing.TB, db *pgx.Conn) string {
	t.Helper()
	schema := uniqueName("fapilog_pg_test_")
	mustExec(t, db, "CREATE SCHEMA "+quoteIdent(schema))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN(t))
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+quoteIdent(schema)+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func mustExec(t testing.TB, db *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t testing.TB, db *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func queryString(t testing.TB, db *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// seedTable creates the seed's table in schema, as fapilog itself creates it (no message_id column).
func seedTable(t testing.TB, db *pgx.Conn, schema string) tableSpec {
	t.Helper()
	spec := defaultSpec()
	spec.schema = schema
	mustExec(t, db, spec.createTableSQL())
	return spec
}

// startOnPoisonRefusingTable starts the exporter on a table it did not create (seedTable) that refuses every row
// whose message is "poison" (refusePoison), without deduplication.
func startOnPoisonRefusingTable(t *testing.T) (*pgx.Conn, tableSpec, *observedExporter) {
	t.Helper()
	db := connectTestDB(t)
	schema := newTestSchema(t, db)
	spec := seedTable(t, db, schema)
	refusePoison(t, db, spec)
	cfg := testConfig(t, schema)
	cfg.CreateTable, cfg.Deduplicate = false, false
	return db, spec, startObservedExporter(t, cfg, nil)
}

// refusePoison makes the table refuse every row whose message contains "poison" (SQLSTATE 23514, constraint
// no_poison): a row PostgreSQL can never accept.
func refusePoison(t testing.TB, db *pgx.Conn, spec tableSpec) {
	t.Helper()
	mustExec(t, db, "ALTER TABLE "+spec.qualified()+" ADD CONSTRAINT no_poison CHECK (message NOT LIKE '%poison%')")
}

// testConfig is the default configuration pointed at the test server and a table in schema.
func testConfig(t testing.TB, schema string) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.DSN = configopaque.String(testDSN(t))
	cfg.SchemaName = schema
	return cfg
}

// startExporter builds and starts the exporter (without the exporter helper) for tests of its push function.
func startExporter(t testing.TB, cfg *Config, logger *zap.Logger) *postgresExporter {
	t.Helper()
	if logger == nil {
		logger = zaptest.NewLogger(t, zaptestLevel())
	}
	set := componenttest.NewNopTelemetrySettings()
	set.Logger = logger
	return startWith(t, cfg, set, componenttest.NewNopHost(), nil)
}

// observedExporter is a started exporter (without the exporter helper) with what it reports to the collector:
// logs, metrics and component status.
type observedExporter struct {
	*postgresExporter
	logs    *observer.ObservedLogs
	metrics *telemetrytest.Metrics
	host    *telemetrytest.StatusHost
}

// startObservedExporter is startExporter, observed. prepare, when set, runs before start (to set a test clock).
func startObservedExporter(t testing.TB, cfg *Config, prepare func(*postgresExporter)) *observedExporter {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	set, metrics := telemetrytest.NewSettings(t)
	set.Logger = zap.New(core)
	host := telemetrytest.NewStatusHost()
	x := startWith(t, cfg, set, host, prepare)
	return &observedExporter{postgresExporter: x, logs: logs, metrics: metrics, host: host}
}

func startWith(t testing.TB, cfg *Config, set component.TelemetrySettings, host component.Host, prepare func(*postgresExporter)) *postgresExporter {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	x, err := newPostgresExporter(cfg, set, component.NewID(metadata.Type))
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(x)
	}
	if err := x.start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		x.delivery.Shutdown()
		_ = x.shutdown(context.Background())
	})
	return x
}

func zaptestLevel() zaptest.LoggerOption { return zaptest.Level(zap.WarnLevel) }

// seqLogs builds n records numbered from first (attribute seq), each with distinct content and so a distinct
// message_id, grouped in resources of 25 consecutive numbers (so a record keeps its resource, and its message_id,
// whichever batch it is built in) to exercise partial-batch bookkeeping.
func seqLogs(first, n int) plog.Logs {
	ld := plog.NewLogs()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var sl plog.ScopeLogs
	for i := 0; i < n; i++ {
		seq := first + i
		if i == 0 || seq%25 == 0 {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", seq/25%3))
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("app.module")
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(seq) * time.Millisecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(fmt.Sprintf("order %d accepted for processing %s", seq, strings.Repeat("x", 100)))
		lr.Attributes().PutInt("seq", int64(seq))
		lr.Attributes().PutStr("correlation_id", fmt.Sprintf("corr-%d", seq%97))
		lr.Attributes().PutStr("http.route", "/api/v1/orders")
	}
	return ld
}
