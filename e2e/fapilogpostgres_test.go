package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

const postgresConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogpostgres:
    host: ${env:FAPILOG_POSTGRES__HOST:-localhost}
    port: ${env:FAPILOG_POSTGRES__PORT:-5432}
    database: ${env:FAPILOG_POSTGRES__DATABASE:-fapilog}
    user: ${env:FAPILOG_POSTGRES__USER:-fapilog}
    password: ${env:FAPILOG_POSTGRES__PASSWORD:-}
    schema_name: {{.Schema}}
    table_name: app_logs
    extract_fields: [timestamp, level, logger, correlation_id, message, service]
    sending_queue:
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
service:
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogpostgres]
`

func TestE2E_PostgresExporterLoadsOTLPOnceThroughFapilogEnvironment(t *testing.T) {
	dsn := pgtest.Shared(t).URL()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL not reachable at %s: %v", dsn, err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	schema := "fapilog_e2e_" + hex.EncodeToString(suffix[:])
	t.Cleanup(func() {
		if _, err := db.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = db.Close(context.Background())
	})

	// Connection through fapilog's variables, as the README's example config does.
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s must be a URL: %v", pgtest.URLEnv, err)
	}
	const password = "e2e-Secret-Marker" // ignored by trust auth; must never be printed
	t.Setenv("FAPILOG_POSTGRES__HOST", u.Hostname())
	t.Setenv("FAPILOG_POSTGRES__PORT", u.Port())
	t.Setenv("FAPILOG_POSTGRES__DATABASE", strings.TrimPrefix(u.Path, "/"))
	t.Setenv("FAPILOG_POSTGRES__USER", u.User.Username())
	t.Setenv("FAPILOG_POSTGRES__PASSWORD", password)
	t.Setenv("PGSSLMODE", u.Query().Get("sslmode"))

	c := Start(t, postgresConfig, map[string]any{"Schema": schema})
	const n = 300
	grpcLogs := NumberedLogs("grpc", n)
	c.SendGRPC(t, grpcLogs)
	c.SendHTTP(t, NumberedLogs("httpproto", n), false)
	c.SendHTTP(t, NumberedLogs("httpjson", n), true)
	table := pgx.Identifier{schema, "app_logs"}.Sanitize()
	count := func(where string) int {
		var got int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+table+" "+where).Scan(&got); err != nil {
			return -1
		}
		return got
	}
	Eventually(t, 30*time.Second, func() bool { return count("") == 3*n }, "rows did not arrive; collector log:\n%s", c.Stderr.String())
	c.SendGRPC(t, grpcLogs) // a client replaying a batch: same log.record.uid, same message_id
	time.Sleep(time.Second)
	c.Stop(t)

	if got := count(""); got != 3*n {
		t.Errorf("%d rows, want %d (each record exactly once)", got, 3*n)
	}
	if got := count("WHERE message_id = event->'context'->>'message_id'"); got != 3*n {
		t.Errorf("%d rows with message_id matching the envelope, want %d", got, 3*n)
	}
	for _, prefix := range []string{"grpc", "httpproto", "httpjson"} {
		where := fmt.Sprintf("WHERE logger = 'e2e.%s' AND level = 'INFO' AND service = 'e2e' AND message LIKE '%s %%' "+
			"AND message_id LIKE '%s-%%' AND event->'data'->>'seq' IS NOT NULL AND timestamp IS NOT NULL", prefix, prefix, prefix)
		if got := count(where); got != n {
			t.Errorf("%s: %d complete rows, want %d", prefix, got, n)
		}
	}
	var indexes int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'app_logs'
		AND indexname IN ('idx_app_logs_timestamp', 'idx_app_logs_level', 'idx_app_logs_correlation_id',
		'idx_app_logs_event_gin', 'idx_app_logs_message_id')`, schema).Scan(&indexes); err != nil || indexes != 5 {
		t.Errorf("create_table made %d of the 5 indexes (%v)", indexes, err)
	}
	if !strings.Contains(c.Stderr.String(), "Skipped rows already stored") {
		t.Errorf("the replayed batch never reached PostgreSQL's duplicate-safe path; collector log:\n%s", c.Stderr.String())
	}
	if strings.Contains(c.Stderr.String()+c.Stdout.String(), password) {
		t.Errorf("the password appears in the collector's output")
	}
}
