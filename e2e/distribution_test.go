package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2E_ShippedConfigValidatesAndRuns starts the distribution with otelcol.yaml as shipped (only the ports and
// the log directory moved, through the same env variables a user would set) and posts the README's curl example.
func TestE2E_ShippedConfigValidatesAndRuns(t *testing.T) {
	shipped := filepath.Join(repoRoot(), "otelcol.yaml")
	out, err := exec.Command(Binary(t), "validate", "--config", shipped).CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol.yaml does not validate: %v\n%s", err, out)
	}

	raw, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("127.0.0.1:4317", "{{.GRPCEndpoint}}", "127.0.0.1:4318", "{{.HTTPEndpoint}}").Replace(string(raw))
	logDir := filepath.Join(t.TempDir(), "logs")
	t.Setenv("FAPILOG_FILE__DIRECTORY", logDir)
	t.Setenv("FAPILOG_QUEUE_DIRECTORY", filepath.Join(logDir, ".queue"))
	c := Start(t, cfg, nil)

	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
	  "scopeLogs":[{"scope":{"name":"app.orders"},"logRecords":[{"severityText":"WARN","body":{"stringValue":"payment retried"},
	  "attributes":[{"key":"correlation_id","value":{"stringValue":"c-42"}},{"key":"order_id","value":{"stringValue":"o-1"}}]}]}]}]}`
	resp, err := http.Post("http://"+c.HTTPEndpoint+"/v1/logs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	Eventually(t, 10*time.Second, func() bool { return strings.Contains(c.Stdout.String(), "payment retried") }, "no console line")
	c.Stop(t)

	if !strings.Contains(c.Stdout.String(), "| WARNING  | payment retried logger=app.orders correlation_id=c-42 order_id=o-1") {
		t.Errorf("console line: %q", c.Stdout.String())
	}
	data, err := os.ReadFile(filepath.Join(logDir, "fapilog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var line fapilogLine
	if err := json.Unmarshal(bytes.TrimSpace(data), &line); err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	if line.Log.Message != "payment retried" || line.Log.Level != "WARNING" || line.Log.Logger != "app.orders" || line.Log.Data["order_id"] != "o-1" {
		t.Errorf("unexpected line %s", data)
	}
}

const persistentQueueConfig = `
extensions:
  file_storage:
    directory: {{.Dir}}/queue
    create_directory: true
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    fsync: true
    sending_queue:
      storage: file_storage
      batch:
        flush_timeout: 50ms
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile]
`

// TestE2E_PersistentQueueSurvivesKill9 kills the collector with SIGKILL while it is under load, restarts it and
// checks that every record whose OTLP export was acknowledged reaches the file.
func TestE2E_PersistentQueueSurvivesKill9(t *testing.T) {
	c := Start(t, persistentQueueConfig, nil)
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for batch := 0; ; batch++ {
				select {
				case <-stop:
					return
				default:
				}
				prefix := fmt.Sprintf("w%d_b%d", w, batch)
				if c.TrySendHTTP(NumberedLogs(prefix, 50), false) == nil {
					mu.Lock()
					acked = append(acked, prefix)
					mu.Unlock()
				}
			}
		}(w)
	}
	// Kill while the senders are still going, once enough is acknowledged to mean something (about 20,000
	// records): bounded so that draining the queue after the restart stays quick on a loaded CI machine.
	Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 400
	}, "the collector acknowledged too little load")
	c.Kill(t)
	close(stop)
	wg.Wait()

	c.Restart(t)
	expected := map[string]bool{}
	for _, prefix := range acked {
		for i := 0; i < 50; i++ {
			expected[fmt.Sprintf("%s-%d", prefix, i)] = true
		}
	}
	missing := -1
	deadline := time.Now().Add(90 * time.Second)
	for missing != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		lines, _ := ReadLogFiles(t, filepath.Join(c.Dir, "logs"))
		seen := map[string]bool{}
		for _, raw := range lines {
			var line fapilogLine
			if json.Unmarshal(raw, &line) == nil {
				seen[line.Log.Context.MessageID] = true
			}
		}
		missing = 0
		for id := range expected {
			if !seen[id] {
				missing++
			}
		}
	}
	if missing != 0 {
		t.Fatalf("%d of %d acknowledged records missing after kill -9 and restart", missing, len(expected))
	}
	c.Stop(t)
	t.Logf("%d acknowledged records before SIGKILL, all present after restart", len(expected))
}
