package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fileConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    max_bytes: 8 KB
    compress_rotated: true
    flush_interval: 100ms
  fapilogfile/console:
    path: stdout
    format: pretty
    colors: always
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile, fapilogfile/console]
`

// fapilogLine is one line of the fapilog JSON-lines format.
type fapilogLine struct {
	Log struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		Message   string `json:"message"`
		Logger    string `json:"logger"`
		Context   struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
		Diagnostics map[string]any `json:"diagnostics"`
		Data        map[string]any `json:"data"`
	} `json:"log"`
	SchemaVersion string `json:"schema_version"`
}

func TestE2E_FileExporterReceivesGRPCAndHTTPAndRotates(t *testing.T) {
	c := Start(t, fileConfig, nil)
	const perTransport = 150
	c.SendGRPC(t, NumberedLogs("grpc", perTransport))
	c.SendHTTP(t, NumberedLogs("httpproto", perTransport), false)
	c.SendHTTP(t, NumberedLogs("httpjson", perTransport), true)
	c.Stop(t)

	lines, names := ReadLogFiles(t, filepath.Join(c.Dir, "logs"))
	seen := map[string]int{}
	for _, raw := range lines {
		var line fapilogLine
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("not a fapilog JSON line: %q: %v", raw, err)
		}
		if line.SchemaVersion != "1.1" || line.Log.Level != "INFO" || line.Log.Diagnostics["origin"] != "otlp" || line.Log.Diagnostics["service"] != "e2e" {
			t.Fatalf("unexpected envelope: %s", raw)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", line.Log.Timestamp); err != nil {
			t.Fatalf("timestamp %q: %v", line.Log.Timestamp, err)
		}
		id := line.Log.Context.MessageID
		if want := strings.Replace(line.Log.Message, " ", "-", 1); id != want {
			t.Fatalf("message_id %q for message %q", id, line.Log.Message)
		}
		if !strings.HasPrefix(line.Log.Logger, "e2e.") {
			t.Fatalf("logger %q", line.Log.Logger)
		}
		seen[id]++
	}
	for _, prefix := range []string{"grpc", "httpproto", "httpjson"} {
		for i := 0; i < perTransport; i++ {
			if n := seen[fmt.Sprintf("%s-%d", prefix, i)]; n != 1 {
				t.Errorf("record %s-%d arrived %d times", prefix, i, n)
			}
		}
	}
	if len(lines) != 3*perTransport {
		t.Errorf("%d lines, want %d", len(lines), 3*perTransport)
	}
	gz := 0
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".jsonl.gz") && strings.HasPrefix(n, "fapilog-"):
			gz++
		case n == "fapilog.jsonl":
		default:
			t.Errorf("unexpected file %s", n)
		}
	}
	if gz < 5 {
		t.Errorf("want several rotated and compressed files with 8 KB rotation, got %d: %v", gz, names)
	}
	if !strings.Contains(c.Stdout.String(), "\x1b[34mINFO    \x1b[0m | grpc 0 logger=e2e.grpc seq=0") {
		t.Errorf("console output lacks the pretty line; got:\n%.500s", c.Stdout.String())
	}
}
