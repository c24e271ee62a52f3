package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fapilog/fapilog-otelcol/internal/victorialogstest"
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
  {{.Telemetry}}
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogloki]
`

func TestE2E_LokiExporterDeliversEveryRecordOnceThroughAnOutage(t *testing.T) {
	vl := victorialogstest.Start(t)
	t.Setenv("FAPILOG_LOKI__URL", vl.LokiEndpoint())
	t.Setenv("FAPILOG_LOKI__TENANT_ID", "42") // VictoriaLogs reads X-Scope-OrgID as its AccountID
	c := Start(t, lokiConfig, nil)

	c.SendGRPC(t, NumberedLogs("loki-grpc", 200))
	c.SendHTTP(t, NumberedLogs("loki-http", 100), false)
	Eventually(t, 30*time.Second, func() bool { return len(vl.Rows(t, "42")) >= 300 },
		"VictoriaLogs did not receive 300 records:\n%s", c.Stderr.String())

	// Loki goes away; what the collector accepts meanwhile waits in its queue and arrives once it is back.
	vl.Stop()
	c.SendGRPC(t, NumberedLogs("loki-outage", 150))
	time.Sleep(2 * time.Second)
	vl.Restart(t)

	want := map[string]int{"loki-grpc": 200, "loki-http": 100, "loki-outage": 150}
	Eventually(t, 60*time.Second, func() bool { return len(vl.Rows(t, "42")) >= 450 },
		"VictoriaLogs did not receive the records sent during the outage:\n%s", c.Stderr.String())
	time.Sleep(500 * time.Millisecond) // a duplicate would show up now
	rows := vl.Rows(t, "42")
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
	if rows := vl.Rows(t, "0"); len(rows) != 0 {
		t.Errorf("%d records landed in the default tenant: FAPILOG_LOKI__TENANT_ID was not sent", len(rows))
	}
	// The collector's own counters agree with what VictoriaLogs holds, and the outage is visible in them.
	m := scrapeUntil(t, c.MetricsPort, "otelcol_exporter_sent_log_records", 450)
	for name, want := range map[string]float64{
		"otelcol_exporter_send_failed_log_records":       0,
		"otelcol_fapilog_exporter_records_rejected":      0,
		"otelcol_fapilog_exporter_circuit_breaker_state": 0,
	} {
		if got := m.Sum(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if m.Sum("otelcol_fapilog_exporter_circuit_breaker_transitions", "to", "open") == 0 {
		t.Errorf("the breaker never opened during the outage")
	}
	if m.Sum("otelcol_fapilog_exporter_records_retried", "exporter", "fapilogloki") == 0 {
		t.Errorf("no record was retried during the outage")
	}
}
