package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// gatewaysName is the DNS name agents resolve to find the gateways (a headless Service's name in Kubernetes).
const gatewaysName = "gateways.fapilog.test"

// fleetMaxConnectionAge is the gateways' max_connection_age in the fleet test (the shipped default is 60 s).
const fleetMaxConnectionAge = 10 * time.Second

// fleetGateway is one gateway running a shipped gateway config on its own loopback address.
type fleetGateway struct {
	*Collector
	ip          string
	metricsPort int
	accepted    atomic.Int64 // last value read from its otelcol_receiver_accepted_log_records
}

// startFleetGateway runs the shipped gateway.yaml on ip:port, as one pod of the gateway Deployment.
func startFleetGateway(t *testing.T, ip string, port int) *fleetGateway {
	t.Helper()
	return startGateway(t, "deploy/gateway/gateway.yaml", ip,
		"FAPILOG_OTLP_GRPC_ENDPOINT="+net.JoinHostPort(ip, strconv.Itoa(port)),
		"FAPILOG_OTLP_HTTP_ENDPOINT="+net.JoinHostPort(ip, strconv.Itoa(freePortOn(t, ip))),
		"FAPILOG_MAX_CONNECTION_AGE="+fleetMaxConnectionAge.String())
}

// startGateway runs a shipped gateway config with its health endpoint on ip, its metrics on 127.0.0.1 and env
// added.
func startGateway(t *testing.T, config, ip string, env ...string) *fleetGateway {
	t.Helper()
	g := &fleetGateway{ip: ip, metricsPort: FreePort(t)}
	g.Collector = StartWithEnv(t, ShippedConfig(t, config), nil, append([]string{
		"FAPILOG_HEALTH_ENDPOINT=" + net.JoinHostPort(ip, strconv.Itoa(freePortOn(t, ip))),
		"FAPILOG_METRICS_HOST=127.0.0.1",
		"FAPILOG_METRICS_PORT=" + strconv.Itoa(g.metricsPort),
	}, env...))
	return g
}

// readAccepted reads how many records the gateway's receiver accepted, from its Prometheus endpoint; a gateway
// that does not answer (killed) keeps the last value read.
func (g *fleetGateway) readAccepted(t *testing.T) int64 {
	if samples := ScrapeMetrics(t, g.metricsPort); samples != nil {
		g.accepted.Store(int64(samples.Sum("otelcol_receiver_accepted_log_records")))
	}
	return g.accepted.Load()
}

// freePortOn returns a TCP port free on ip a moment ago.
func freePortOn(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portFreeOnAll returns one port that is free on every address: the gateways listen on the same port, as the
// pods behind one Service do.
func portFreeOnAll(t testing.TB, ips ...string) int {
	t.Helper()
	for range 20 {
		port := freePortOn(t, ips[0])
		free := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			_ = l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0
}

// loadSender sends numbered records ("fleet-<n>", log.record.uid the same) to the agent and keeps the numbers the
// agent acknowledged.
type loadSender struct {
	client plogotlp.GRPCClient
	next   int
	mu     sync.Mutex
	acked  map[string]bool
	sent   int
	failed int
	// pad is appended to every body: records of a realistic size (a fapilog record with its context, data and a
	// stack trace is often above 1 KB), where the default ones are about 80 bytes.
	pad string
}

func newLoadSender(t *testing.T, endpoint string) *loadSender {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &loadSender{client: plogotlp.NewGRPCClient(conn), acked: map[string]bool{}}
}

// send exports n records in one request.
func (s *loadSender) send(n int) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "fleet-load")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.fleet")
	uids := make([]string, n)
	now := time.Now()
	for i := range n {
		uids[i] = fmt.Sprintf("fleet-%d", s.next)
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr("order " + strconv.Itoa(s.next) + " accepted" + s.pad)
		lr.Attributes().PutStr("log.record.uid", uids[i])
		lr.Attributes().PutInt("seq", int64(s.next))
		s.next++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.client.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent += n
	if err != nil {
		s.failed += n
		return
	}
	for _, uid := range uids {
		s.acked[uid] = true
	}
}

// TestE2E_FleetGatewayKilledUnderLoadLosesNothingAndNewGatewayGetsTraffic runs the VM topology as shipped
// (deploy/gateway/agent.yaml and gateway.yaml): one agent with a persistent queue sends through the dns:/// name
// of three gateways on 127.0.0.2-4 (a test DNS server stands in for the headless Service) to PostgreSQL. Under
// load one gateway is killed with SIGKILL: every record the agent acknowledged is in PostgreSQL exactly once,
// the two others take over. Then a fourth gateway joins the DNS answer and must receive records within
// max_connection_age + 30 s (gRPC re-resolves at most every 30 s, when a connection closes).
func TestE2E_FleetGatewayKilledUnderLoadLosesNothingAndNewGatewayGetsTraffic(t *testing.T) {
	pg := NewPostgresSchema(t, "fapilog_fleet_")
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	port := portFreeOnAll(t, ips...)
	dns := startTestDNS(t, gatewaysName, ips[:3]...)
	gateways := make([]*fleetGateway, 3, 4)
	for i := range gateways {
		gateways[i] = startFleetGateway(t, ips[i], port)
	}
	appLogs := t.TempDir()
	agent := StartWithEnv(t, ShippedConfig(t, "deploy/gateway/agent.yaml"), nil, []string{
		fmt.Sprintf("FAPILOG_GATEWAY_ENDPOINT=dns://%s/%s:%d", dns.Addr(), gatewaysName, port),
		"FAPILOG_QUEUE_DIRECTORY=" + filepath.Join(t.TempDir(), "queue"),
		"FAPILOG_FILELOG_INCLUDE=" + filepath.Join(appLogs, "*.jsonl"),
	})
	load := newLoadSender(t, agent.GRPCEndpoint)
	rows := func() int { return pg.Int("SELECT count(*) FROM " + pg.Table("logs")) }

	// Phase 1: 16,000 records in 160 requests over about 8 s; gateway 2 (127.0.0.3) dies after ~4,000 rows.
	const phase1Requests, perRequest = 160, 100
	phase1 := make(chan struct{})
	go func() {
		defer close(phase1)
		for range phase1Requests {
			load.send(perRequest)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	Eventually(t, 60*time.Second, func() bool { return rows() >= 4000 }, "no rows arrived; agent log:\n%s", agent.Stderr.String())
	killed, beforeKill := killGateway(t, gateways, 1)
	rowsAtKill := rows()
	<-phase1

	// Phase 2: a fourth gateway joins while a trickle of records keeps flowing.
	gateways = append(gateways, startFleetGateway(t, ips[3], port))
	dns.Set(ips...)
	joined := time.Now()
	bound := fleetMaxConnectionAge + 30*time.Second
	newGatewayAfter := time.Duration(-1)
	for time.Since(joined) < bound+10*time.Second {
		load.send(20)
		if gateways[3].readAccepted(t) > 0 {
			newGatewayAfter = time.Since(joined)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	d := waitForDelivery(t, pg, load)
	accepted := readAllAccepted(t, gateways, killed)
	perGateway := make([]string, len(gateways))
	for i, g := range gateways {
		perGateway[i] = fmt.Sprintf("%s=%d", g.ip, accepted[i])
	}
	t.Logf("fleet: %s; rows when %s was killed: %d; accepted per gateway: %s; new gateway received traffic after %v (bound %v)",
		d, killed.ip, rowsAtKill, strings.Join(perGateway, " "), newGatewayAfter.Round(100*time.Millisecond), bound)
	d.check(t)
	if rowsAtKill >= 16000 {
		t.Errorf("the gateway was killed after the load (%d rows already stored)", rowsAtKill)
	}
	for _, i := range []int{0, 2} {
		if accepted[i] <= beforeKill[i] {
			t.Errorf("surviving gateway %s received nothing after the kill (%d records before, %d after)", gateways[i].ip, beforeKill[i], accepted[i])
		}
	}
	if newGatewayAfter < 0 {
		t.Errorf("the fourth gateway received no records within %v of joining", bound+10*time.Second)
	} else if newGatewayAfter > bound {
		t.Errorf("the fourth gateway received its first records after %v, more than max_connection_age + 30 s = %v", newGatewayAfter, bound)
	}
}

// killGateway reads every gateway's accepted count, then kills gateways[i] with SIGKILL.
func killGateway(t *testing.T, gateways []*fleetGateway, i int) (killed *fleetGateway, beforeKill []int64) {
	t.Helper()
	beforeKill = readAllAccepted(t, gateways, nil)
	gateways[i].Kill(t)
	return gateways[i], beforeKill
}

// readAllAccepted reads each gateway's accepted count; a killed gateway keeps its last one.
func readAllAccepted(t *testing.T, gateways []*fleetGateway, killed *fleetGateway) []int64 {
	counts := make([]int64, len(gateways))
	for i, g := range gateways {
		if g != killed {
			g.readAccepted(t)
		}
		counts[i] = g.accepted.Load()
	}
	return counts
}

// delivery compares what the load sender got acknowledged with what PostgreSQL holds.
type delivery struct {
	sent, acked, failed, rows, distinct, lost int
}

func (d delivery) String() string {
	return fmt.Sprintf("sent %d, acknowledged %d, not acknowledged %d, delivered %d rows (%d distinct), lost %d, duplicated %d",
		d.sent, d.acked, d.failed, d.rows, d.distinct, d.lost, d.rows-d.distinct)
}

// check fails the test unless every acknowledged record is stored exactly once and the agent took everything.
func (d delivery) check(t *testing.T) {
	t.Helper()
	if d.lost != 0 {
		t.Errorf("%d acknowledged records are not in PostgreSQL", d.lost)
	}
	if d.rows != d.distinct {
		t.Errorf("%d duplicate rows", d.rows-d.distinct)
	}
	if d.failed != 0 {
		t.Errorf("the agent refused %d records (its persistent queue should take everything)", d.failed)
	}
}

// waitForDelivery waits until PostgreSQL holds as many rows as records were acknowledged, then 2 s more (a record
// stored twice would show up as one row too many), and counts.
func waitForDelivery(t *testing.T, pg *PostgresSchema, load *loadSender) delivery {
	t.Helper()
	rows := func() int { return pg.Int("SELECT count(*) FROM " + pg.Table("logs")) }
	load.mu.Lock()
	d := delivery{sent: load.sent, acked: len(load.acked), failed: load.failed}
	load.mu.Unlock()
	Eventually(t, 90*time.Second, func() bool { return rows() >= d.acked }, "rows stayed below the %d acknowledged records", d.acked)
	time.Sleep(2 * time.Second)
	d.rows = rows()
	d.distinct = pg.Int("SELECT count(DISTINCT message_id) FROM " + pg.Table("logs"))
	d.lost = countMissing(t, pg, load.acked)
	return d
}

// countMissing returns how many of the acknowledged message_ids are not in the schema's logs table.
func countMissing(t *testing.T, pg *PostgresSchema, acked map[string]bool) int {
	t.Helper()
	rows, err := pg.DB.Query(context.Background(), "SELECT message_id FROM "+pg.Table("logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	missing := 0
	for uid := range acked {
		if !stored[uid] {
			missing++
		}
	}
	return missing
}

// TestE2E_FleetAgentForwardsEveryRequestItAccepted runs the shipped agent and gateway with records of 1 KB, as
// fapilog applications write them. The agent accepts any OTLP/gRPC request up to 4 MiB and its sending_queue merges
// requests into batches; every batch must fit in the gateway's OTLP/gRPC receiver (4 MiB messages by default too),
// which refuses a larger one with ResourceExhausted, a permanent error for the otlp_grpc exporter. A 500-record
// request followed by a 3,500-record one (3.7 MB, e.g. from a collector forwarding its batches) must arrive whole.
func TestE2E_FleetAgentForwardsEveryRequestItAccepted(t *testing.T) {
	pg := NewPostgresSchema(t, "fapilog_fleet_large_")
	const ip = "127.0.0.2"
	port := freePortOn(t, ip)
	startFleetGateway(t, ip, port)
	agent := StartWithEnv(t, ShippedConfig(t, "deploy/gateway/agent.yaml"), nil, []string{
		"FAPILOG_GATEWAY_ENDPOINT=" + net.JoinHostPort(ip, strconv.Itoa(port)),
		"FAPILOG_QUEUE_DIRECTORY=" + filepath.Join(t.TempDir(), "queue"),
		"FAPILOG_FILELOG_INCLUDE=" + filepath.Join(t.TempDir(), "*.jsonl"),
	})
	load := newLoadSender(t, agent.GRPCEndpoint)
	load.pad = " " + strings.Repeat("x", 1000)
	load.send(500)
	load.send(3500)

	requireAcknowledgedStored(t, pg, load, agent, "fleet, 1 KB records")
}

// requireAcknowledgedStored waits up to 30 s for PostgreSQL to hold as many rows as load had acknowledged, then
// fails for every acknowledged record missing from it, with the agent's last log lines.
func requireAcknowledgedStored(t *testing.T, pg *PostgresSchema, load *loadSender, agent *Collector, what string) {
	t.Helper()
	rows := func() int { return pg.Int("SELECT count(*) FROM " + pg.Table("logs")) }
	deadline := time.Now().Add(30 * time.Second)
	for rows() < len(load.acked) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a late duplicate or straggler would show now
	lost := countMissing(t, pg, load.acked)
	t.Logf("%s: sent %d, acknowledged %d, rows %d, lost %d", what, load.sent, len(load.acked), rows(), lost)
	if lost != 0 {
		t.Errorf("%d acknowledged records are not in PostgreSQL; agent log:\n%s", lost, tail(agent.Stderr.String(), 1500))
	}
}
