package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The distribution's fapilogloki exporter pushes to a real Loki-push-compatible server, VictoriaLogs v1.52.1
// (installed into .tools/bin by the Makefile; $FAPILOG_TEST_VICTORIALOGS_BIN overrides). Configured through
// fapilog's FAPILOG_LOKI__* variables, as a fapilog user would.
const lokiConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogloki:
    endpoint: ${env:FAPILOG_LOKI__URL}
    tenant_id: ${env:FAPILOG_LOKI__TENANT_ID:-}
    label_keys: [level, diagnostics.service]
    structured_metadata_keys: [context.message_id]
    headers:
      VL-Loki-Disable-Message-Parsing: "true"
    circuit_breaker_recovery: 500ms
    sending_queue:
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogloki]
`

// lokiServer is one VictoriaLogs process with its own port and data directory.
type lokiServer struct {
	bin, addr, dataDir string
	cmd                *exec.Cmd
	output             *syncBuffer
}

func startLokiServer(t *testing.T) *lokiServer {
	t.Helper()
	bin := os.Getenv("FAPILOG_TEST_VICTORIALOGS_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(), ".tools", "bin", "victoria-logs")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("VictoriaLogs is not installed (%v): GOBIN=%s go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1",
			err, filepath.Join(repoRoot(), ".tools", "bin"))
	}
	s := &lokiServer{bin: bin, addr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), dataDir: t.TempDir()}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *lokiServer) start(t *testing.T) {
	t.Helper()
	s.output = &syncBuffer{}
	s.cmd = exec.Command(s.bin, "-httpListenAddr="+s.addr, "-storageDataPath="+s.dataDir, "-loggerLevel=WARN")
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting VictoriaLogs: %v", err)
	}
	Eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get("http://" + s.addr + "/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "VictoriaLogs did not become healthy on %s:\n%s", s.addr, s.output)
}

// stop shuts VictoriaLogs down gracefully (what it acknowledged is on disk).
func (s *lokiServer) stop() {
	if s.cmd == nil {
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

// rows flushes VictoriaLogs' buffers and returns every stored log of tenant accountID.
func (s *lokiServer) rows(t *testing.T, accountID string) []map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/internal/force_flush")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/select/logsql/query?query=*", nil)
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
	return rows
}

func TestE2E_LokiExporterDeliversEveryRecordOnceThroughAnOutage(t *testing.T) {
	vl := startLokiServer(t)
	t.Setenv("FAPILOG_LOKI__URL", "http://"+vl.addr+"/insert")
	t.Setenv("FAPILOG_LOKI__TENANT_ID", "42") // VictoriaLogs reads X-Scope-OrgID as its AccountID
	c := Start(t, lokiConfig, nil)

	c.SendGRPC(t, NumberedLogs("loki-grpc", 200))
	c.SendHTTP(t, NumberedLogs("loki-http", 100), false)
	Eventually(t, 30*time.Second, func() bool { return len(vl.rows(t, "42")) >= 300 },
		"VictoriaLogs did not receive 300 records:\n%s", c.Stderr.String())

	// Loki goes away; what the collector accepts meanwhile waits in its queue and arrives once it is back.
	vl.stop()
	c.SendGRPC(t, NumberedLogs("loki-outage", 150))
	time.Sleep(2 * time.Second)
	vl.start(t)

	want := map[string]int{"loki-grpc": 200, "loki-http": 100, "loki-outage": 150}
	Eventually(t, 60*time.Second, func() bool { return len(vl.rows(t, "42")) >= 450 },
		"VictoriaLogs did not receive the records sent during the outage:\n%s", c.Stderr.String())
	time.Sleep(500 * time.Millisecond) // a duplicate would show up now
	rows := vl.rows(t, "42")
	if len(rows) != 450 {
		t.Fatalf("VictoriaLogs holds %d records, want 450", len(rows))
	}
	seen := map[string]int{}
	for _, row := range rows {
		seen[row["context_message_id"]]++
		if got := row["_stream"]; got != `{diagnostics_service="e2e",level="INFO",service="fapilog"}` {
			t.Errorf("stream labels %s", got)
		}
		var line struct {
			Message string `json:"message"`
			Context struct {
				MessageID string `json:"message_id"`
			} `json:"context"`
		}
		if err := json.Unmarshal([]byte(row["_msg"]), &line); err != nil {
			t.Fatalf("the line is not the envelope JSON: %v: %s", err, row["_msg"])
		}
		if line.Context.MessageID != row["context_message_id"] {
			t.Errorf("line %s does not carry its record's message id %s", row["_msg"], row["context_message_id"])
		}
	}
	for prefix, n := range want {
		for i := 0; i < n; i++ {
			if id := fmt.Sprintf("%s-%d", prefix, i); seen[id] != 1 {
				t.Errorf("%s stored %d times, want once", id, seen[id])
			}
		}
	}
	if !strings.Contains(c.Stderr.String(), "Exporting failed. Will retry") {
		t.Errorf("the collector never saw the outage:\n%s", c.Stderr.String())
	}
	if rows := vl.rows(t, "0"); len(rows) != 0 {
		t.Errorf("%d records landed in the default tenant: FAPILOG_LOKI__TENANT_ID was not sent", len(rows))
	}
}
