package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// tcpProxy forwards a local port to a backend; Down closes the listener and every connection (the backend is
// unreachable from this one gateway), Up listens again on the same port.
type tcpProxy struct {
	addr, backend string
	mu            sync.Mutex
	ln            net.Listener
	conns         []net.Conn
}

func startTCPProxy(t *testing.T, backend string) *tcpProxy {
	p := &tcpProxy{addr: net.JoinHostPort("127.0.0.1", "0"), backend: backend}
	p.Up(t)
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.Down)
	return p
}

func (p *tcpProxy) Up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", p.backend)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
			go func() { _, _ = io.Copy(c, b); _ = c.Close() }()
		}
	}()
}

func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestE2E_FleetGatewayTurnsReadyAgainAfterItsBackendReturns runs the shipped gateway.yaml the way the headless
// Service (and a balancer) uses its health endpoint: a gateway that is not ready leaves the DNS answer, so agents
// send it nothing more. After its PostgreSQL has been unreachable for longer than any recovery_duration while
// agents sent, and is reachable again, the gateway must be ready again without receiving traffic first: nothing
// else would ever bring it back.
func TestE2E_FleetGatewayTurnsReadyAgainAfterItsBackendReturns(t *testing.T) {
	pg := NewPostgresSchema(t, "fapilog_fleet_ready_")
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTCPProxy(t, u.Host)
	u.Host = proxy.addr
	grpcEndpoint := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	g := startGateway(t, "deploy/gateway/gateway.yaml", "127.0.0.1",
		"FAPILOG_POSTGRES__DSN="+u.String(),
		"FAPILOG_OTLP_GRPC_ENDPOINT="+grpcEndpoint,
		"FAPILOG_OTLP_HTTP_ENDPOINT=127.0.0.1:"+strconv.Itoa(FreePort(t)))
	if code := healthStatus(g.HealthEndpoint); code != http.StatusOK {
		t.Fatalf("health %d at start", code)
	}

	// PostgreSQL becomes unreachable from this gateway for 70 s while an agent sends (and gives up on each request
	// after its timeout, 30 s in the shipped agent, shortened here).
	proxy.Down()
	conn, err := grpc.NewClient(grpcEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)
	notReady := false
	for start := time.Now(); time.Since(start) < 70*time.Second; {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("during the outage")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = client.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
		cancel()
		if healthStatus(g.HealthEndpoint) != http.StatusOK {
			notReady = true
			break // the headless Service drops it: no agent sends to it any more
		}
	}
	proxy.Up(t)
	back := time.Now()
	for time.Since(back) < 120*time.Second {
		if healthStatus(g.HealthEndpoint) == http.StatusOK {
			t.Logf("ready %v after PostgreSQL came back (not ready during the outage: %v)", time.Since(back).Round(time.Second), notReady)
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the gateway is still not ready %v after PostgreSQL came back: it receives no traffic while not "+
		"ready, so it never turns ready again", time.Since(back).Round(time.Second))
}
