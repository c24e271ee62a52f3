package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// telemetrygen is the collector project's load generator, pinned at the last version the module proxy serves.
const (
	telemetrygenModule  = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
	telemetrygenVersion = "v0.161.0"
)

// telemetrygenBinary returns .tools/bin/telemetrygen, installing it there with `go install` when it is missing.
func telemetrygenBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(repoRoot(), ".tools", "bin", "telemetrygen")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	cmd := exec.Command("go", "install", telemetrygenModule+"@"+telemetrygenVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(path))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("telemetrygen is not in %s, and installing it failed (go install %s@%s needs the Go module proxy): %v\n%s",
			path, telemetrygenModule, telemetrygenVersion, err, out)
	}
	return path
}

// The exporter's shipped defaults (deduplicate on, batches of 1,000-5,000), nothing else but where the table is.
const telemetrygenPostgresConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogpostgres:
    dsn: ${env:FAPILOG_POSTGRES__DSN}
    schema_name: ${env:FAPILOG_POSTGRES__SCHEMA_NAME}
service:
  {{.Telemetry}}
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogpostgres]
`

// The "No silent loss" acceptance for PostgreSQL: telemetrygen at full rate, whose records differ only in their
// nanosecond timestamps, into the exporter's default settings. Every record the collector acknowledged is a row
// (with message_id v1, one row per millisecond was kept), and the collector's own counters agree with the table.
func TestE2E_PostgresTelemetrygenAtFullRateStoresEveryAcknowledgedRecord(t *testing.T) {
	tg := telemetrygenBinary(t)
	pg := NewPostgresSchema(t, "fapilog_tg_")
	c := Start(t, telemetrygenPostgresConfig, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	started := time.Now()
	// Two processes with one worker each and a service.name of their own: two workers of one telemetrygen process
	// can emit records identical to the nanosecond, which PostgreSQL rightly stores once.
	errs := make(chan error, 2)
	for _, service := range []string{"tg-a", "tg-b"} {
		go func() {
			out, err := exec.CommandContext(ctx, tg, "logs", "--otlp-insecure", "--otlp-endpoint", c.GRPCEndpoint,
				"--rate", "0", "--duration", "5s", "--workers", "1", "--service", service, "--allow-export-failures").CombinedOutput()
			if err != nil {
				err = fmt.Errorf("telemetrygen %s: %w\n%s", service, err, out)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sending := time.Since(started)

	table := pg.Table("logs")
	var accepted, sent float64
	rows := 0
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		m := ScrapeMetrics(t, c.MetricsPort)
		accepted = m.Sum("otelcol_receiver_accepted_log_records")
		sent = m.Sum("otelcol_exporter_sent_log_records")
		rows = pg.Int("SELECT count(*) FROM " + table)
		if accepted > 0 && sent == accepted && rows == int(accepted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every acknowledged record became a row within 3 minutes: %v accepted, %v sent, %d rows; "+
				"collector log:\n%s", accepted, sent, rows, c.Stderr.String())
		}
	}
	drained := time.Since(started)
	m := ScrapeMetrics(t, c.MetricsPort)
	if failed := m.Sum("otelcol_exporter_send_failed_log_records"); failed != 0 {
		t.Errorf("%v records failed to send", failed)
	}
	if skipped := m.Sum("otelcol_fapilog_exporter_postgres_duplicates_skipped"); skipped != 0 {
		t.Errorf("%v records were skipped as duplicates: telemetrygen sends no record twice", skipped)
	}
	c.Stop(t)

	if got := pg.Int("SELECT count(*) FROM " + table); got != int(accepted) {
		t.Errorf("%d rows after shutdown, want %v (the acknowledged records)", got, accepted)
	}
	if got := pg.Int("SELECT count(DISTINCT message_id) FROM " + table); got != int(accepted) {
		t.Errorf("%d distinct message_ids, want %v", got, accepted)
	}
	distinctMillis := pg.Int("SELECT count(DISTINCT timestamp) FROM " + table)
	t.Logf("telemetrygen (2 processes, full rate, 5 s): %v records acknowledged in %s, all %d stored after %s; "+
		"%d distinct milliseconds among them (what message_id v1 would have kept); refused by the receiver: %v",
		accepted, sending.Round(time.Millisecond), rows, drained.Round(time.Millisecond), distinctMillis,
		m.Sum("otelcol_receiver_refused_log_records"))
	if distinctMillis >= rows {
		t.Errorf("%d distinct milliseconds for %d rows: the load did not put several records in one millisecond, so "+
			"the test proves nothing about nanosecond-distinct records", distinctMillis, rows)
	}
}
