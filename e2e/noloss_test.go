package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// The no-loss profile as shipped (deploy/examples/no-loss.yaml), the way an operator meets an outage: load flows,
// both backends go down (the HTTP receiver stops listening, PostgreSQL crashes), load goes on for a minute, the
// collector is stopped with SIGTERM while they are still down, started again, and the backends come back. Every
// record a client got an OK for arrives: in PostgreSQL exactly once, at the HTTP receiver at least once. The
// collector's own counters agree with what the backends received, and its health endpoint said the truth.
func TestE2E_NoLossProfileKeepsEveryAcknowledgedRecordThroughOutageAndRestart(t *testing.T) {
	pg := pgtest.New(t) // a cluster of its own: this test crashes it
	received := &endpoint{accepted: map[string]int{}}
	sink := startStoppableServer(t, received)
	metricsPort := FreePort(t)
	t.Setenv("FAPILOG_HTTP__ENDPOINT", "http://"+sink.addr+"/ingest")
	t.Setenv("FAPILOG_POSTGRES__DSN", pg.URL())
	t.Setenv("FAPILOG_METRICS_PORT", strconv.Itoa(metricsPort))
	t.Setenv("FAPILOG_QUEUE_DIRECTORY", t.TempDir())
	c := Start(t, ShippedConfig(t, "deploy/examples/no-loss.yaml"), nil)

	const batches, batchSize = 240, 50 // 12,000 records over about 60 s
	load := StartAckedLoad(t, c.GRPCEndpoint, LoadSpec{Prefix: "nl", Batches: batches, BatchSize: batchSize,
		Interval: 250 * time.Millisecond, Deadline: 3 * time.Minute})

	time.Sleep(5 * time.Second)
	outageStart := time.Now()
	sink.stop()
	pg.Crash(t)
	t.Logf("both backends down after %d records acknowledged", len(load.Acked()))

	// During the outage the health endpoint turns unhealthy once the exporters have failed for longer than its
	// recovery_duration (30 s).
	unhealthy := false
	for time.Since(outageStart) < 62*time.Second {
		if code := healthStatus(c.HealthEndpoint); code != 0 && code != http.StatusOK {
			unhealthy = true
		}
		time.Sleep(time.Second)
	}
	load.Wait()
	acked := load.Acked()
	t.Logf("load done: %d of %d records acknowledged in %d export attempts", len(acked), batches*batchSize, load.Tries())
	if len(acked) < batches*batchSize/2 {
		t.Fatalf("only %d records acknowledged: the queue should have taken the load during the outage", len(acked))
	}
	if !unhealthy {
		t.Errorf("the health endpoint never reported the outage")
	}

	// SIGTERM while the backends are still down: the collector stops promptly and keeps the queue on disk.
	first := ScrapeMetrics(t, metricsPort)
	stopStart := time.Now()
	c.Stop(t)
	t.Logf("SIGTERM after a %s outage: stopped in %s", time.Since(outageStart).Round(time.Second), time.Since(stopStart).Round(100*time.Millisecond))
	if d := time.Since(stopStart); d > 20*time.Second {
		t.Errorf("shutdown took %s with the backends down:\n%s", d, tail(c.Stderr.String(), 6000))
	}

	c.Restart(t)
	time.Sleep(3 * time.Second) // restarted and still down: records wait in the queue
	sink.start(t)
	pg.Restart(t)
	t.Logf("backends back after a %s outage", time.Since(outageStart).Round(time.Second))

	db := connect(t, pg.URL())
	var rows, distinct int
	var httpIDs map[string]int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rows, distinct = countRows(t, db)
		httpIDs, _ = received.snapshot()
		if (rows >= len(acked) && len(httpIDs) >= len(acked)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything still in flight lands before the counts are final
	rows, distinct = countRows(t, db)
	httpIDs, _ = received.snapshot()

	lostPG, lostHTTP, httpDeliveries := 0, 0, 0
	pgIDs := idsInPostgres(t, db)
	for id := range acked {
		if !pgIDs[id] {
			lostPG++
		}
		if httpIDs[id] == 0 {
			lostHTTP++
		}
	}
	for _, n := range httpIDs {
		httpDeliveries += n
	}
	t.Logf("acknowledged %d; PostgreSQL %d rows (%d distinct), lost %d; HTTP %d records (%d distinct, %d duplicates), lost %d",
		len(acked), rows, distinct, lostPG, httpDeliveries, len(httpIDs), httpDeliveries-len(httpIDs), lostHTTP)
	if lostPG > 0 || lostHTTP > 0 {
		t.Fatalf("acknowledged records lost: %d in PostgreSQL, %d at the HTTP receiver", lostPG, lostHTTP)
	}
	if rows != distinct {
		t.Errorf("PostgreSQL holds %d duplicate rows", rows-distinct)
	}
	if code := healthStatus(c.HealthEndpoint); code != http.StatusOK {
		t.Errorf("health endpoint answers %d after the backends came back", code)
	}

	// What the collector reports, across both of its lives, matches what the backends received.
	second := ScrapeMetrics(t, metricsPort)
	sentHTTP := first.Sum("otelcol_exporter_sent_log_records", "exporter", "fapiloghttp") +
		second.Sum("otelcol_exporter_sent_log_records", "exporter", "fapiloghttp")
	sentPG := first.Sum("otelcol_exporter_sent_log_records", "exporter", "fapilogpostgres") +
		second.Sum("otelcol_exporter_sent_log_records", "exporter", "fapilogpostgres")
	accepted := first.Sum("otelcol_receiver_accepted_log_records") + second.Sum("otelcol_receiver_accepted_log_records")
	failed := first.Sum("otelcol_exporter_send_failed_log_records") + second.Sum("otelcol_exporter_send_failed_log_records")
	t.Logf("collector: accepted %.0f, sent %.0f to HTTP and %.0f to PostgreSQL, %.0f failed", accepted, sentHTTP, sentPG, failed)
	if int(sentHTTP) != httpDeliveries {
		t.Errorf("otelcol_exporter_sent_log_records{exporter=fapiloghttp} = %.0f, the receiver accepted %d", sentHTTP, httpDeliveries)
	}
	if int(sentPG) < rows {
		t.Errorf("otelcol_exporter_sent_log_records{exporter=fapilogpostgres} = %.0f, PostgreSQL holds %d rows", sentPG, rows)
	}
	if int(accepted) < len(acked) {
		t.Errorf("otelcol_receiver_accepted_log_records = %.0f, the client got %d records acknowledged", accepted, len(acked))
	}
	if failed != 0 {
		t.Errorf("otelcol_exporter_send_failed_log_records = %.0f: the no-loss profile dropped data", failed)
	}
}

func healthStatus(endpoint string) int {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + endpoint + "/")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	var db *pgx.Conn
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if db, err = pgx.Connect(context.Background(), url); err == nil {
			t.Cleanup(func() { _ = db.Close(context.Background()) })
			return db
		}
	}
	t.Fatalf("PostgreSQL at %s: %v", url, err)
	return nil
}

// countRows counts the rows of the logs table and the distinct records among them; -1 before the table exists.
func countRows(t *testing.T, db *pgx.Conn) (rows, distinct int) {
	t.Helper()
	err := db.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT event->'context'->>'message_id') FROM public.logs`).Scan(&rows, &distinct)
	if err != nil {
		return -1, -1
	}
	return rows, distinct
}

func idsInPostgres(t *testing.T, db *pgx.Conn) map[string]bool {
	t.Helper()
	r, err := db.Query(context.Background(), `SELECT event->'context'->>'message_id' FROM public.logs`)
	if err != nil {
		t.Fatalf("reading PostgreSQL: %v", err)
	}
	ids, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("reading PostgreSQL: %v", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
