package fapilogloki

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Integration tests against a real Loki-push-compatible server: VictoriaLogs (Apache-2.0), installed by
// `make tools` (GOBIN=.tools/bin go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1).
// They fail, never skip, when the binary is missing.

// victoriaLogsBinary is $FAPILOG_TEST_VICTORIALOGS_BIN, else <repo root>/.tools/bin/victoria-logs.
func victoriaLogsBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("FAPILOG_TEST_VICTORIALOGS_BIN"); bin != "" {
		return bin
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "repository root (go.mod) not found above the test directory")
		dir = parent
	}
	bin := filepath.Join(dir, ".tools", "bin", "victoria-logs")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("VictoriaLogs is not installed at %s (set FAPILOG_TEST_VICTORIALOGS_BIN, or install it with "+
			"GOBIN=%s go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1): %v",
			bin, filepath.Dir(bin), err)
	}
	return bin
}

// victoriaLogs is one VictoriaLogs process with its own port and data directory.
type victoriaLogs struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	cmd     *exec.Cmd
	output  *bytes.Buffer
}

func startVictoriaLogs(t *testing.T) *victoriaLogs {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	v := &victoriaLogs{t: t, bin: victoriaLogsBinary(t), addr: addr, dataDir: t.TempDir()}
	v.start()
	t.Cleanup(v.stop)
	return v
}

func (v *victoriaLogs) start() {
	v.t.Helper()
	v.output = &bytes.Buffer{}
	v.cmd = exec.Command(v.bin, "-httpListenAddr="+v.addr, "-storageDataPath="+v.dataDir, "-loggerLevel=WARN")
	v.cmd.Stdout, v.cmd.Stderr = v.output, v.output
	require.NoError(v.t, v.cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + v.addr + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			v.stop()
			v.t.Fatalf("VictoriaLogs did not become healthy on %s: %v\n%s", v.addr, err, v.output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts VictoriaLogs down gracefully (SIGTERM: what it has acknowledged is on disk) and waits for it.
func (v *victoriaLogs) stop() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = v.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = v.cmd.Process.Kill()
		<-done
	}
	v.cmd = nil
}

func (v *victoriaLogs) endpoint() string { return "http://" + v.addr + "/insert" }

// query flushes what VictoriaLogs buffered and returns every stored log of the tenant (accountID), one map of
// fields per log.
func (v *victoriaLogs) query(t *testing.T, accountID string) []map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + v.addr + "/internal/force_flush")
	require.NoError(t, err)
	_ = resp.Body.Close()
	req, err := http.NewRequest(http.MethodGet, "http://"+v.addr+"/select/logsql/query?query=*", nil)
	require.NoError(t, err)
	req.Header.Set("AccountID", accountID)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("query: HTTP %d: %s", resp.StatusCode, body)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		row := map[string]string{}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &row), "%s", sc.Bytes())
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	return rows
}

// rowsByID indexes rows by the context_message_id structured metadata field, counting duplicates.
func rowsByID(rows []map[string]string) (map[string]map[string]string, map[string]int) {
	byID, count := map[string]map[string]string{}, map[string]int{}
	for _, r := range rows {
		id := r["context_message_id"]
		byID[id] = r
		count[id]++
	}
	return byID, count
}

// victoriaLogsConfig sends to v as tenant 7 with the records' message ids as structured metadata, and asks
// VictoriaLogs to store each line as it is (_msg) instead of unpacking its JSON into fields.
func victoriaLogsConfig(v *victoriaLogs) *Config {
	cfg := fastRetryConfig(v.endpoint())
	cfg.TenantID = "7" // VictoriaLogs reads X-Scope-OrgID as <AccountID>[:<ProjectID>]
	cfg.LabelKeys = []string{"level", "diagnostics.service"}
	cfg.StructuredMetadataKeys = []string{"context.message_id"}
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "VL-Loki-Disable-Message-Parsing", Value: "true"}}
	return cfg
}

func TestVictoriaLogs_EveryRecordArrivesOnceWithItsLabelsTimeAndLine(t *testing.T) {
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		t.Run(string(encoding), func(t *testing.T) {
			v := startVictoriaLogs(t)
			cfg := victoriaLogsConfig(v)
			cfg.Encoding = encoding
			exp, _ := startExporter(t, cfg)

			const total = 250
			ld := testLogs("m", total)
			want := envelopesByID(ld)
			for i := 0; i < total; i += 50 {
				require.NoError(t, exp.ConsumeLogs(context.Background(), pick(ld, "m", i, i+50)))
			}
			var rows []map[string]string
			require.Eventually(t, func() bool { rows = v.query(t, "7"); return len(rows) >= total }, 20*time.Second, 100*time.Millisecond)
			byID, count := rowsByID(rows)
			require.Len(t, rows, total)
			for i := range total {
				id := fmt.Sprintf("m-%d", i)
				require.Equal(t, 1, count[id], "%s stored exactly once", id)
				row := byID[id]
				service := fmt.Sprintf("svc-%d", i%2)
				assert.Equal(t, fmt.Sprintf(`{diagnostics_service="%s",level="%s",service="fapilog"}`, service, levelOf(i)), row["_stream"], id)
				assert.Equal(t, levelOf(i), row["level"])
				assert.Equal(t, service, row["diagnostics_service"])
				assert.Equal(t, "fapilog", row["service"])
				assert.Equal(t, want[id], row["_msg"], "%s: the line is the envelope", id)
				ts, err := time.Parse(time.RFC3339Nano, row["_time"])
				require.NoError(t, err)
				assert.Equal(t, recordTime(i).UnixNano(), ts.UnixNano(), "%s keeps its own time to the nanosecond", id)
			}
			assert.Empty(t, v.query(t, "0"), "the tenant header was honoured: nothing in the default tenant")
		})
	}
}

// VictoriaLogs stops in the middle of the load and comes back on the same port and data directory: the queue and
// the retries deliver every record, none twice.
func TestVictoriaLogs_OutageThenRecoveryDeliversEverything(t *testing.T) {
	v := startVictoriaLogs(t)
	exp, logs := startExporter(t, victoriaLogsConfig(v))

	const total, piece = 300, 25
	ld := testLogs("m", total)
	send := func(from, to int) {
		for i := from; i < to; i += piece {
			require.NoError(t, exp.ConsumeLogs(context.Background(), pick(ld, "m", i, min(i+piece, to))))
			time.Sleep(20 * time.Millisecond)
		}
	}
	send(0, 100)
	v.stop()
	send(100, 200)                      // accepted into the queue while the server is down
	time.Sleep(1500 * time.Millisecond) // long enough for the breaker to open and probe several times
	v.start()
	send(200, total)

	var rows []map[string]string
	require.Eventually(t, func() bool { rows = v.query(t, "7"); return len(rows) >= total }, 60*time.Second, 200*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a duplicate would show up now
	rows = v.query(t, "7")
	_, count := rowsByID(rows)
	require.Len(t, rows, total)
	for i := range total {
		require.Equal(t, 1, count[fmt.Sprintf("m-%d", i)], "m-%d stored exactly once", i)
	}
	assert.Positive(t, logs.FilterMessageSnippet("Exporting failed. Will retry").Len(), "the outage was seen and retried")
	assert.Positive(t, logs.FilterMessageSnippet("Circuit breaker opened").Len())
}
