// Package victorialogstest runs a real VictoriaLogs (a Loki-push-compatible server, Apache-2.0) for the Loki
// exporter's integration and end-to-end tests: one process per test, with its own port and data directory.
package victorialogstest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinaryEnv overrides where the victoria-logs binary is; the default is <repository root>/.tools/bin/victoria-logs,
// where `make` installs v1.52.1.
const BinaryEnv = "FAPILOG_TEST_VICTORIALOGS_BIN"

// Server is one VictoriaLogs process.
type Server struct {
	// Addr is host:port of its HTTP API.
	Addr    string
	bin     string
	dataDir string
	flags   []string
	cmd     *exec.Cmd
	output  *lockedBuffer
}

// Binary returns the victoria-logs binary and fails the test (never skips) when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(BinaryEnv); bin != "" {
		return bin
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, ".tools", "bin", "victoria-logs")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("VictoriaLogs is not installed at %s (run make, set %s, or GOBIN=%s go install "+
			"github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1): %v", bin, BinaryEnv, filepath.Dir(bin), err)
	}
	return bin
}

// Start runs VictoriaLogs on a free port until the test ends. flags are passed to it as well, e.g.
// "-loki.maxRequestSize=65536" to make it refuse larger push requests with a 400.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &Server{Addr: addr, bin: Binary(t), dataDir: t.TempDir(), flags: flags}
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the process again on the same port, data directory and flags (after Stop) and waits until healthy.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.output = &lockedBuffer{}
	args := append([]string{"-httpListenAddr=" + s.Addr, "-storageDataPath=" + s.dataDir, "-loggerLevel=WARN"}, s.flags...)
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting VictoriaLogs: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.Addr + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("VictoriaLogs did not become healthy on %s: %v\n%s", s.Addr, err, s.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts VictoriaLogs down gracefully (SIGTERM: what it acknowledged is on disk) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// LokiEndpoint is the base URL a Loki exporter pushes to (it appends /loki/api/v1/push).
func (s *Server) LokiEndpoint() string { return "http://" + s.Addr + "/insert" }

// Rows flushes what VictoriaLogs buffered and returns every stored log of the tenant accountID, one map of
// fields per log.
func (s *Server) Rows(t testing.TB, accountID string) []map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr + "/internal/force_flush")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr+"/select/logsql/query?query=*", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("AccountID", accountID)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("VictoriaLogs query: HTTP %d: %s", resp.StatusCode, body)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		row := map[string]string{}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("VictoriaLogs row %s: %v", sc.Bytes(), err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// lockedBuffer collects the process's output while a test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
