package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BinaryEnv names a prebuilt distribution to test (make test sets it after `make build`).
const BinaryEnv = "FAPILOG_OTELCOL_BINARY"

// ComponentStatusGate is passed to every collector the tests start, as the image, the Helm chart and the deploy/
// service files start it: health_check then answers from the components' reported status.
const ComponentStatusGate = "--feature-gates=+extension.healthcheck.useComponentStatus"

// HealthEndpointEnv is the variable the shipped configs read health_check's address from; each collector started
// here gets a free port in it (unless the test set one), so concurrent test runs never collide on 13133.
const HealthEndpointEnv = "FAPILOG_HEALTH_ENDPOINT"

var (
	buildOnce   sync.Once
	builtBinary string
	buildErr    error
)

// repoRoot is the module root, found from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Binary returns the distribution to test: $FAPILOG_OTELCOL_BINARY when set, else a build made now with
// `make build` (ocb), once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if path := os.Getenv(BinaryEnv); path != "" {
			if !filepath.IsAbs(path) {
				path = filepath.Join(repoRoot(), path) // relative to the repository, as make passes it
			}
			builtBinary = path
			_, buildErr = os.Stat(path)
			return
		}
		cmd := exec.Command("make", "build")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("make build: %w\n%s", err, out)
			return
		}
		builtBinary = filepath.Join(repoRoot(), "_build", "otelcol-fapilog")
	})
	if buildErr != nil {
		t.Fatalf("the distribution is not available: %v", buildErr)
	}
	return builtBinary
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Collector is a running distribution.
type Collector struct {
	// GRPCEndpoint and HTTPEndpoint are the OTLP receiver's addresses (host:port).
	GRPCEndpoint string
	HTTPEndpoint string
	// HealthEndpoint is host:port of health_check when the config reads it from HealthEndpointEnv.
	HealthEndpoint string
	// MetricsPort serves the collector's own metrics when the config includes {{.Telemetry}}.
	MetricsPort int
	// Dir is a scratch directory for the test's files; {{.Dir}} in the config template.
	Dir        string
	ConfigPath string
	Stdout     *syncBuffer
	Stderr     *syncBuffer

	env    []string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// ReceiverConfig is the OTLP receiver block every e2e config starts from; include it with {{.Receiver}}.
const ReceiverConfig = `otlp:
    protocols:
      grpc:
        endpoint: {{.GRPCEndpoint}}
      http:
        endpoint: {{.HTTPEndpoint}}`

// TelemetryConfig is the service.telemetry block that serves the collector's own metrics on a Prometheus endpoint
// at 127.0.0.1:{{.MetricsPort}} (a free port Start picks, Collector.MetricsPort, read with ScrapeMetrics); include
// it under service: with {{.Telemetry}}.
const TelemetryConfig = `telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.MetricsPort}}`

// ShippedConfig returns a configuration file shipped in the repository (path relative to its root) as a Start
// template: the OTLP receiver's documented addresses 127.0.0.1:4317 and :4318 become the test's free ports, and
// nothing else changes, so the test runs the file users copy.
func ShippedConfig(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("127.0.0.1:4317", "{{.GRPCEndpoint}}", "127.0.0.1:4318", "{{.HTTPEndpoint}}").Replace(string(raw))
}

// Start renders configTemplate (text/template with .GRPCEndpoint, .HTTPEndpoint, .Dir, .Receiver and vars),
// starts the distribution with it and waits until it is ready. The collector is stopped when the test ends.
func Start(t testing.TB, configTemplate string, vars map[string]any) *Collector {
	t.Helper()
	return StartWithEnv(t, configTemplate, vars, nil)
}

// StartWithEnv is Start with environment variables ("KEY=value") for this collector alone, for tests that run
// several collectors from one shipped file, each with its own addresses.
func StartWithEnv(t testing.TB, configTemplate string, vars map[string]any, env []string) *Collector {
	t.Helper()
	c := &Collector{
		GRPCEndpoint: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		HTTPEndpoint: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		Dir:          t.TempDir(),
		env:          env,
	}
	c.HealthEndpoint = os.Getenv(HealthEndpointEnv)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, HealthEndpointEnv+"="); ok {
			c.HealthEndpoint = v
		}
	}
	if c.HealthEndpoint == "" {
		c.HealthEndpoint = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	c.MetricsPort = FreePort(t)
	data := map[string]any{"GRPCEndpoint": c.GRPCEndpoint, "HTTPEndpoint": c.HTTPEndpoint, "Dir": c.Dir, "MetricsPort": c.MetricsPort}
	for name, block := range map[string]string{"Receiver": ReceiverConfig, "Telemetry": TelemetryConfig} {
		rendered := new(strings.Builder)
		if err := template.Must(template.New(name).Parse(block)).Execute(rendered, data); err != nil {
			t.Fatal(err)
		}
		data[name] = rendered.String()
	}
	for k, v := range vars {
		data[k] = v
	}
	rendered := new(strings.Builder)
	tmpl, err := template.New("config").Option("missingkey=error").Parse(configTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Execute(rendered, data); err != nil {
		t.Fatal(err)
	}
	c.ConfigPath = filepath.Join(c.Dir, "otelcol.yaml")
	if err := os.WriteFile(c.ConfigPath, []byte(rendered.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c.launch(t)
	t.Cleanup(func() {
		if c.running() {
			c.Stop(t)
		}
	})
	return c
}

func (c *Collector) launch(t testing.TB) {
	t.Helper()
	c.Stdout, c.Stderr = &syncBuffer{}, &syncBuffer{}
	args := []string{ComponentStatusGate, "--config", c.ConfigPath}
	if cfg, err := os.ReadFile(c.ConfigPath); err == nil && !strings.Contains(string(cfg), "readers:") {
		// A config that does not say where its own metrics go would serve them on 127.0.0.1:8888, which another
		// collector on the machine (make run, a parallel test) may hold: turn them off instead, with a second
		// config file merged over the first (the distribution has no yaml: provider for --set).
		quiet := filepath.Join(c.Dir, "no-own-metrics.yaml")
		if err := os.WriteFile(quiet, []byte("service:\n  telemetry:\n    metrics:\n      level: none\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", quiet)
	}
	c.cmd = exec.Command(Binary(t), args...)
	c.cmd.Env = append(append(os.Environ(), HealthEndpointEnv+"="+c.HealthEndpoint), c.env...)
	c.cmd.Dir = c.Dir
	c.cmd.Stdout, c.cmd.Stderr = c.Stdout, c.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting the collector: %v", err)
	}
	c.exited = make(chan struct{})
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.Stderr.String(), "Everything is ready") {
		select {
		case <-c.exited:
			t.Fatalf("the collector exited at start (%v):\n%s", c.err, c.Stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not become ready in 30s:\n%s", c.Stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Collector) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for a clean exit, which drains in-memory queues and flushes exporters.
func (c *Collector) Stop(t testing.TB) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Fatalf("the collector did not stop within 60s:\n%s", c.Stderr.String())
	}
	if c.err != nil {
		t.Fatalf("the collector exited with %v:\n%s", c.err, c.Stderr.String())
	}
}

// Kill stops the collector with SIGKILL, as a crash would.
func (c *Collector) Kill(t testing.TB) {
	t.Helper()
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// Restart starts the collector again with the same configuration and ports.
func (c *Collector) Restart(t testing.TB) {
	t.Helper()
	c.launch(t)
}

// SendGRPC exports ld over OTLP/gRPC.
func (c *Collector) SendGRPC(t testing.TB, ld plog.Logs) {
	t.Helper()
	conn, err := grpc.NewClient(c.GRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld)); err != nil {
		t.Fatalf("OTLP/gRPC export: %v", err)
	}
}

// SendHTTP exports ld over OTLP/HTTP as protobuf, or as JSON when asJSON is set.
func (c *Collector) SendHTTP(t testing.TB, ld plog.Logs, asJSON bool) {
	t.Helper()
	if err := c.TrySendHTTP(ld, asJSON); err != nil {
		t.Fatalf("OTLP/HTTP export: %v", err)
	}
}

// TrySendHTTP exports ld over OTLP/HTTP and reports whether the collector acknowledged it.
func (c *Collector) TrySendHTTP(ld plog.Logs, asJSON bool) error {
	req := plogotlp.NewExportRequestFromLogs(ld)
	body, contentType := []byte(nil), "application/x-protobuf"
	var err error
	if asJSON {
		body, err = req.MarshalJSON()
		contentType = "application/json"
	} else {
		body, err = req.MarshalProto()
	}
	if err != nil {
		return err
	}
	resp, err := http.Post("http://"+c.HTTPEndpoint+"/v1/logs", contentType, bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// Eventually polls cond until it holds or timeout passes, then fails with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
