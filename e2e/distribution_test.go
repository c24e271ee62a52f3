package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
