package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// hostileConfig has no redact processor in front of the encoders, so the request reaches them as sent: the
// pretty console and the JSON file are the two encoders that must stay bounded.
const hostileConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    flush_interval: 100ms
  fapilogfile/console:
    path: stdout
    format: pretty
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile, fapilogfile/console]
`

// peakRSSLimit is issue 8's bound for a ~3 MB deeply nested request through the pretty console.
const peakRSSLimit = 200 << 20

// deeplyNestedLogs is one record whose attribute "deep" is a chain of depth maps, each also holding a short
// list, and a second record whose body is a chain of lists; sized so that the OTLP/JSON request is ~3 MB.
func deeplyNestedLogs(depth int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "hostile")
	sl := rl.ScopeLogs().AppendEmpty()

	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr("deep attribute")
	m := lr.Attributes().PutEmptyMap("deep")
	for i := 0; i < depth; i++ {
		m.PutInt("n", int64(i))
		m = m.PutEmptyMap("d")
	}
	m.PutStr("leaf", "bottom")

	lr = sl.LogRecords().AppendEmpty()
	list := lr.Body().SetEmptySlice()
	for i := 0; i < depth/2; i++ {
		list = list.AppendEmpty().SetEmptySlice()
	}
	list.AppendEmpty().SetStr("bottom")
	return ld
}

func TestE2E_HostileDeeplyNestedRequestStaysCheapInEveryEncoder(t *testing.T) {
	const depth = 29_000
	ld := deeplyNestedLogs(depth)
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(body); n < 2_500_000 || n > 3_500_000 {
		t.Fatalf("the request is %d bytes; the scenario is a ~3 MB one", n)
	}

	c := Start(t, hostileConfig, nil)
	pid := c.cmd.Process.Pid
	c.SendHTTP(t, ld, true)
	c.SendHTTP(t, NumberedLogs("after", 1), true)

	logFile := filepath.Join(c.Dir, "logs", "fapilog.jsonl")
	var lines [][]byte
	Eventually(t, 60*time.Second, func() bool {
		data, err := os.ReadFile(logFile)
		lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		return err == nil && len(lines) == 3 && strings.Contains(c.Stdout.String(), "after 0")
	}, "the file and the console did not receive all three records")

	peak := statusKB(pid, "VmHWM:") << 10
	if peak == 0 {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	t.Logf("request %.1f MB, collector peak RSS %.0f MiB", float64(len(body))/1e6, float64(peak)/(1<<20))
	if peak >= peakRSSLimit {
		t.Errorf("peak RSS %d MiB; want < %d MiB", peak>>20, peakRSSLimit>>20)
	}
	if !c.running() {
		t.Fatalf("the collector exited:\n%s", c.Stderr.String())
	}

	// encoding/json refuses documents nested deeper than 10,000, so check the shape instead.
	for i, raw := range lines[:2] {
		if !bytes.HasPrefix(raw, []byte(`{"log":{"context":`)) || !bytes.HasSuffix(raw, []byte(`,"schema_version":"1.1"}`)) {
			t.Fatalf("line %d is not a whole fapilog line: %.200q", i, raw)
		}
	}
	if n := bytes.Count(lines[0], []byte(`"d":{`)); n != depth || !bytes.Contains(lines[0], []byte(`{"leaf":"bottom"}`)) {
		t.Errorf("the file holds %d of the %d levels of the deep attribute, or not its leaf", n, depth)
	}
	if !bytes.Contains(lines[1], []byte(`[\"bottom\"]`)) {
		t.Errorf("the innermost list element of the deep body did not reach the file")
	}
	var after fapilogLine
	if err := json.Unmarshal(lines[2], &after); err != nil || after.Log.Message != "after 0" {
		t.Errorf("the record sent after the hostile one: %q (%v)", lines[2], err)
	}
	console := c.Stdout.String()
	if !strings.Contains(console, "deep attribute deep.d.") || !strings.Contains(console, `"leaf":"bottom"`) {
		t.Errorf("the console line does not flatten the top levels and keep the rest as JSON: %.300q", console)
	}

	start := time.Now()
	c.Stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v after the hostile request; want a few seconds", took)
	}
}
