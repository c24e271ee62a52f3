package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fapilogAppLines are lines as fapilog's stdout_json and rotating_file sinks write them, from a Python service:
// every context field, nested data of each JSON type, tags, an exception, a null correlation_id, an empty data.
var fapilogAppLines = []string{
	`{"log":{"context":{"correlation_id":"c-42","message_id":"6f0c6a44-5d0e-4e8b-9d57-6d1f0f3c2a11","request_id":"r-7","span_id":"b7ad6b7169203331","tenant_id":"t-9","trace_id":"0af7651916cd43dd8448eb211c80319c","user_id":"u-1"},"data":{"amount":12.5,"customer":{"tier":"gold","since":2019},"items":3,"order_id":"o-1","paid":false,"skus":["a","b"],"note":null},"diagnostics":{"env":"prod","exception":{"error.message":"card declined","error.stack":"Traceback (most recent call last):\n  ...","error.type":"PaymentError"},"host":"web-1","origin":"native","pid":4242,"service":"checkout","version":"1.2.3"},"level":"ERROR","logger":"app.orders","message":"payment failed","tags":["billing","urgent"],"timestamp":"2026-01-02T03:04:05.678Z"},"schema_version":"1.1"}`,
	`{"log":{"context":{"correlation_id":null,"message_id":"7a1d0e5c-0000-4000-8000-000000000001"},"data":{},"diagnostics":{"origin":"native"},"level":"WARNING","logger":"root","message":"disk almost full","timestamp":"2026-01-02T03:04:06.001Z"},"schema_version":"1.1"}`,
	`{"log":{"context":{"correlation_id":"c-43","message_id":"7a1d0e5c-0000-4000-8000-000000000002"},"data":{"path":"/api/v1/orders","status":201},"diagnostics":{"origin":"native","service":"checkout"},"level":"DEBUG","logger":"app.http","message":"request done: naïve café ✓","timestamp":"2026-01-02T03:04:07.250Z"},"schema_version":"1.1"}`,
	`{"log":{"context":{"correlation_id":null,"message_id":"7a1d0e5c-0000-4000-8000-000000000003"},"data":{"queue":"emails"},"diagnostics":{"origin":"native"},"level":"CRITICAL","logger":"app.worker","message":"worker crashed","timestamp":"2026-01-02T03:04:08.999Z"},"schema_version":"1.1"}`,
	`{"log":{"context":{"correlation_id":null,"message_id":"7a1d0e5c-0000-4000-8000-000000000004"},"data":{"user":"ada"},"diagnostics":{"origin":"native"},"level":"INFO","logger":"app.auth","message":"login","timestamp":"2026-01-02T03:04:09.000Z"},"schema_version":"1.1"}`,
}

// TestE2E_FilelogExampleReadsFapilogLinesIntoTheSameEnvelope runs deploy/examples/fapilog-files.yaml as shipped
// on files a fapilog application wrote (some before the collector starts, some while it runs): fapilogfile writes
// every envelope back with the same level, logger, message, timestamp, context, data, tags and diagnostics (only
// diagnostics.origin says otlp now). A line that is not a fapilog envelope arrives as plain text.
func TestE2E_FilelogExampleReadsFapilogLinesIntoTheSameEnvelope(t *testing.T) {
	appDir, outDir := t.TempDir(), filepath.Join(t.TempDir(), "logs")
	appFile := filepath.Join(appDir, "fapilog.jsonl")
	if err := os.WriteFile(appFile, []byte(strings.Join(fapilogAppLines[:2], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAPILOG_FILELOG_INCLUDE", filepath.Join(appDir, "*.jsonl"))
	t.Setenv("FAPILOG_FILE__DIRECTORY", outDir)
	t.Setenv("FAPILOG_QUEUE_DIRECTORY", filepath.Join(t.TempDir(), "queue"))
	c := Start(t, ShippedConfig(t, "deploy/examples/fapilog-files.yaml"), nil)

	f, err := os.OpenFile(appFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(fapilogAppLines[2:], "\n") + "\nplain text from print()\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	Eventually(t, 20*time.Second, func() bool {
		lines, _ := ReadLogFiles(t, outDir)
		return len(lines) >= len(fapilogAppLines)+1
	}, "the lines did not come through; collector log:\n%s", c.Stderr.String())
	c.Stop(t)

	lines, _ := ReadLogFiles(t, outDir)
	if len(lines) != len(fapilogAppLines)+1 {
		t.Fatalf("%d lines out, want %d", len(lines), len(fapilogAppLines)+1)
	}
	// The receiver may read the appended lines in any order relative to each other: match lines by message.
	byMessage := map[any]map[string]any{}
	for _, line := range lines {
		m := decodeLine(t, line)
		if m["schema_version"] != "1.1" {
			t.Errorf("schema_version %v in %s", m["schema_version"], line)
		}
		byMessage[m["log"].(map[string]any)["message"]] = m["log"].(map[string]any)
	}
	for i, in := range fapilogAppLines {
		wantLog := decodeLine(t, []byte(in))["log"].(map[string]any)
		gotLog, ok := byMessage[wantLog["message"]]
		if !ok {
			t.Errorf("line %d (%v) did not come out", i, wantLog["message"])
			continue
		}
		if origin := gotLog["diagnostics"].(map[string]any)["origin"]; origin != "otlp" {
			t.Errorf("line %d: diagnostics.origin %v", i, origin)
		}
		wantLog["diagnostics"].(map[string]any)["origin"] = "otlp"
		for _, key := range []string{"level", "logger", "message", "timestamp", "context", "data", "tags", "diagnostics"} {
			if !reflect.DeepEqual(gotLog[key], wantLog[key]) {
				t.Errorf("line %d: %s is %#v, want %#v", i, key, gotLog[key], wantLog[key])
			}
		}
		if len(gotLog) != len(wantLog) {
			t.Errorf("line %d: envelope keys differ:\n got %v\nwant %v", i, gotLog, wantLog)
		}
	}
	plain := byMessage["plain text from print()"]
	if plain == nil || plain["level"] != "INFO" {
		t.Errorf("the plain line came out as %v", plain)
	}
}

func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // 12.5 and 3 compare as written, not as float64
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return m
}
