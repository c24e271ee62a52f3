package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/sivchari/kumo"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
	"github.com/fapilog/fapilog-otelcol/internal/victorialogstest"
)

// crashConfig: the four network exporters in one pipeline, each behind a persistent queue configured as their
// READMEs configure it (sending_queue.storage: file_storage), with short retry/breaker timings so the test is
// short. The receiver acknowledges a request only once every exporter's queue holds it.
const crashConfig = `
extensions:
  file_storage:
    directory: {{.Dir}}/queue
    create_directory: true
receivers:
  {{.Receiver}}
exporters:
  fapiloghttp:
    endpoint: {{.IngestURL}}
    batch_format: ndjson
    circuit_breaker_recovery: 500ms
    sending_queue:
      storage: file_storage
      num_consumers: {{.Consumers}}
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0
  fapilogloki:
    endpoint: {{.LokiURL}}
    tenant_id: "42"
    structured_metadata_keys: [context.message_id]
    headers:
      VL-Loki-Disable-Message-Parsing: "true"
    circuit_breaker_recovery: 500ms
    sending_queue:
      storage: file_storage
      num_consumers: {{.Consumers}}
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0
  fapilogcloudwatch:
    endpoint_url: {{.KumoURL}}
    log_group_name: {{.Group}}
    log_stream_name: "{service.name}-stream"
    circuit_breaker_recovery: 500ms
    sending_queue:
      storage: file_storage
      num_consumers: {{.Consumers}}
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0
  fapilogpostgres:
    dsn: {{.DSN}}
    circuit_breaker_recovery: 500ms
    sending_queue:
      storage: file_storage
      num_consumers: {{.Consumers}}
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapiloghttp, fapilogloki, fapilogcloudwatch, fapilogpostgres]
`

// slowEndpoint is the HTTP sink: every request takes delay, so that a kill often lands while one is in flight.
type slowEndpoint struct {
	*endpoint
	mu    sync.Mutex
	delay time.Duration
	down  bool
}

func (s *slowEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay, down := s.delay, s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	time.Sleep(delay)
	s.endpoint.ServeHTTP(w, r)
}

type crashBackends struct {
	httpSrv *stoppableServer
	cwSrv   *stoppableServer
	http    *slowEndpoint
	vl      *victorialogstest.Server
	cw      *cloudwatchlogs.Client
	group   string
	pgURL   string
	pg      *pgtest.Server
	vars    map[string]any
	stream  string
}

func startCrashBackends(t *testing.T, consumers int) *crashBackends {
	cloudwatchEnv(t)
	b := &crashBackends{http: &slowEndpoint{endpoint: &endpoint{accepted: map[string]int{}}, delay: 50 * time.Millisecond}}
	srv := startStoppableServer(t, b.http)
	b.httpSrv = srv
	b.vl = victorialogstest.Start(t)
	kumoSrv := kumo.NewServer()
	t.Cleanup(kumoSrv.Close)
	ku, _ := url.Parse(kumoSrv.URL)
	b.cwSrv = startStoppableServer(t, httputil.NewSingleHostReverseProxy(ku))
	b.group = fmt.Sprintf("/fapilog/crash/%d", time.Now().UnixNano())
	b.stream = "e2e-stream"
	b.cw = cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(kumoSrv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
	b.pg = pgtest.New(t)
	b.pgURL = b.pg.URL()
	b.vars = map[string]any{
		"IngestURL": "http://" + srv.addr + "/ingest", "LokiURL": b.vl.LokiEndpoint(), "KumoURL": "http://" + b.cwSrv.addr,
		"Group": b.group, "DSN": b.pgURL, "Consumers": consumers,
	}
	return b
}

func (b *crashBackends) snapshot(t *testing.T) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	out["http"], _ = b.http.snapshot()
	vl := map[string]int{}
	for _, row := range b.vl.Rows(t, "42") {
		vl[row["context_message_id"]]++
	}
	out["loki"] = vl
	out["cloudwatch"], _ = uidsOf(t, cloudwatchEvents(t, b.cw, b.group, b.stream))
	pg := map[string]int{}
	db := connect(t, b.pgURL)
	rows, err := db.Query(context.Background(), `SELECT event->'context'->>'message_id' FROM public.logs`)
	if err == nil {
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				pg[id]++
			}
		}
		rows.Close()
	}
	_ = db.Close(context.Background())
	out["postgres"] = pg
	return out
}

// waitDelivered waits until every backend holds every acked uid, or timeout.
func (b *crashBackends) waitDelivered(t *testing.T, acked map[string]bool, timeout time.Duration) map[string]map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		snap := b.snapshot(t)
		all := true
		for _, got := range snap {
			for id := range acked {
				if got[id] == 0 {
					all = false
					break
				}
			}
		}
		if all || time.Now().After(deadline) {
			time.Sleep(2 * time.Second) // a late duplicate shows up now
			return b.snapshot(t)
		}
		time.Sleep(time.Second)
	}
}

// report counts, per backend, lost acknowledged records, duplicates and records that arrived without an ack.
func report(t *testing.T, sent int, acked map[string]bool, snap map[string]map[string]int) (lost map[string]int, dups map[string]int) {
	t.Helper()
	lost, dups = map[string]int{}, map[string]int{}
	for name, got := range snap {
		deliveries, unacked := 0, 0
		for id, n := range got {
			deliveries += n
			if n > 1 {
				dups[name] += n - 1
			}
			if !acked[id] {
				unacked++
			}
		}
		for id := range acked {
			if got[id] == 0 {
				lost[name]++
			}
		}
		t.Logf("%-10s sent %d, acknowledged %d, delivered %d (%d distinct), duplicates %d, lost %d, delivered unacked %d",
			name, sent, len(acked), deliveries, len(got), dups[name], lost[name], unacked)
	}
	return lost, dups
}

// crashLoad sends numbered 50-record batches over OTLP/HTTP from 4 goroutines until stopped.
type crashLoad struct {
	c     *Collector
	mu    sync.Mutex
	sent  int
	acked map[string]bool
	wg    sync.WaitGroup
	stop  chan struct{}
}

func startCrashLoad(c *Collector, prefix string, senders, batch int) *crashLoad {
	l := &crashLoad{c: c, acked: map[string]bool{}, stop: make(chan struct{})}
	for w := range senders {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for b := 0; ; b++ {
				select {
				case <-l.stop:
					return
				default:
				}
				p := fmt.Sprintf("%s-w%d_b%d", prefix, w, b)
				l.mu.Lock()
				l.sent += batch
				l.mu.Unlock()
				if err := l.c.TrySendHTTP(NumberedLogs(p, batch), false); err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				l.mu.Lock()
				for i := range batch {
					l.acked[fmt.Sprintf("%s-%d", p, i)] = true
				}
				l.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *crashLoad) finish() (int, map[string]bool) {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, l.acked
}

// SIGKILL under load, three times, with the persistent queue of every network exporter: every acknowledged record
// must reach every backend; PostgreSQL must hold none twice.
func TestE2E_NetworkFaultsKill9UnderLoadNetworkExporters(t *testing.T) {
	b := startCrashBackends(t, 10)
	c := Start(t, crashConfig, b.vars)
	load := startCrashLoad(c, "k9", 4, 50)
	rng := rand.New(rand.NewPCG(1, 2))
	for k := range 3 {
		time.Sleep(time.Duration(2000+rng.IntN(2000)) * time.Millisecond)
		c.Kill(t)
		t.Logf("kill %d", k+1)
		time.Sleep(300 * time.Millisecond)
		c.Restart(t)
	}
	time.Sleep(2 * time.Second)
	sent, acked := load.finish()
	snap := b.waitDelivered(t, acked, 120*time.Second)
	lost, dups := report(t, sent, acked, snap)
	for name, n := range lost {
		if n > 0 {
			t.Errorf("%s: %d acknowledged records lost", name, n)
		}
	}
	if dups["postgres"] > 0 {
		t.Errorf("postgres: %d duplicates", dups["postgres"])
	}
}

func (b *crashBackends) down(t *testing.T) {
	b.httpSrv.stop()
	b.vl.Stop()
	b.cwSrv.stop()
	b.pg.Crash(t)
}

func (b *crashBackends) up(t *testing.T) {
	b.httpSrv.start(t)
	b.vl.Restart(t)
	b.cwSrv.start(t)
	b.pg.Restart(t)
}

// setConsumers rewrites the collector's config with another num_consumers for its next start.
func setConsumers(t *testing.T, c *Collector, from, to int) {
	raw, err := os.ReadFile(c.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), fmt.Sprintf("num_consumers: %d", from), fmt.Sprintf("num_consumers: %d", to))
	if err := os.WriteFile(c.ConfigPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Backends down under load (breakers open), SIGTERM, restart with fewer consumers, SIGKILL while still down,
// restart, backends back: every acknowledged record arrives.
func TestE2E_NetworkFaultsOutageSigtermKillRestartFewerConsumers(t *testing.T) {
	b := startCrashBackends(t, 10)
	c := Start(t, crashConfig, b.vars)
	load := startCrashLoad(c, "out", 2, 50)
	time.Sleep(3 * time.Second)
	b.down(t)
	t.Log("backends down")
	time.Sleep(6 * time.Second)
	start := time.Now()
	c.Stop(t)
	t.Logf("SIGTERM took %s", time.Since(start))
	setConsumers(t, c, 10, 2)
	c.Restart(t)
	time.Sleep(4 * time.Second)
	c.Kill(t)
	t.Log("SIGKILL while down")
	c.Restart(t)
	time.Sleep(3 * time.Second)
	sent, acked := load.finish()
	b.up(t)
	t.Log("backends up")
	snap := b.waitDelivered(t, acked, 120*time.Second)
	lost, dups := report(t, sent, acked, snap)
	for name, n := range lost {
		if n > 0 {
			t.Errorf("%s: %d acknowledged records lost", name, n)
		}
	}
	if dups["postgres"] > 0 {
		t.Errorf("postgres: %d duplicates", dups["postgres"])
	}
	if !strings.Contains(c.Stderr.String(), "Everything is ready") {
		t.Log(c.Stderr.String())
	}
}

// partialBatchConfig: fapiloghttp as its README configures the persistent queue, nothing else changed (batch of
// 100 records or 5 s).
const partialBatchConfig = `
extensions:
  file_storage:
    directory: {{.Dir}}/queue
    create_directory: true
receivers:
  {{.Receiver}}
exporters:
  fapiloghttp:
    endpoint: {{.IngestURL}}
    batch_format: ndjson
    sending_queue:
      storage: file_storage
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapiloghttp]
`

// Records waiting in a partial batch (fewer than min_size, before flush_timeout) at SIGKILL are sent after the
// restart.
func TestE2E_NetworkFaultsKill9WithAPartialBatchWaiting(t *testing.T) {
	sink := &endpoint{accepted: map[string]int{}}
	srv := startStoppableServer(t, sink)
	c := Start(t, partialBatchConfig, map[string]any{"IngestURL": "http://" + srv.addr + "/ingest"})
	c.SendGRPC(t, NumberedLogs("partial-a", 30))
	c.SendGRPC(t, NumberedLogs("partial-b", 30))
	time.Sleep(time.Second)
	c.Kill(t)
	if got, _ := sink.snapshot(); len(got) != 0 {
		t.Logf("%d delivered before the kill", len(got))
	}
	c.Restart(t)
	c.SendGRPC(t, NumberedLogs("partial-c", 10))
	got := map[string]int{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, _ = sink.snapshot(); len(got) >= 70 {
			break
		}
	}
	time.Sleep(time.Second)
	got, _ = sink.snapshot()
	n := 0
	for _, v := range got {
		n += v
	}
	t.Logf("sent 70, acknowledged 70, delivered %d (%d distinct)", n, len(got))
	if len(got) != 70 {
		t.Fatalf("%d acknowledged records lost", 70-len(got))
	}
}
