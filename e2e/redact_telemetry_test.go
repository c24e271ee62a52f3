package e2e

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

const redactTelemetryConfig = `
receivers:
  {{.Receiver}}
processors:
  redact:
    presets: [CREDENTIALS]
    redactors:
      - url_credentials
      - value_patterns
    max_depth: 2
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    flush_interval: 0s
service:
  {{.Telemetry}}
  pipelines:
    logs:
      receivers: [otlp]
      processors: [redact]
      exporters: [fapilogfile]
`

// TestE2E_RedactMetricsReachTheCollectorsOwnTelemetry sends two batches with known secrets and a record too
// deep for max_depth, and reads the redact processor's counters from the collector's Prometheus endpoint.
func TestE2E_RedactMetricsReachTheCollectorsOwnTelemetry(t *testing.T) {
	c := Start(t, redactTelemetryConfig, nil)

	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lr := lrs.AppendEmpty()
	lr.Attributes().PutStr("password", "hunter2")                                     // presets
	lr.Body().SetStr("charging 4111 1111 1111 1111 via https://app:pw@pay.internal/") // url_credentials, card_number
	deep := lrs.AppendEmpty()
	deep.Attributes().PutEmptyMap("a").PutEmptyMap("b").PutStr("c", "unreached") // depth 3 > max_depth 2
	c.SendGRPC(t, ld)
	c.SendHTTP(t, ld, false)

	// Two batches of two records: each counter reads 2. The exposition has no _total suffix here.
	want := map[string]float64{
		`otelcol_fapilog_processor_redact_fields_redacted{processor="redact",redactor="presets"}`:                            2,
		`otelcol_fapilog_processor_redact_fields_redacted{processor="redact",redactor="url_credentials"}`:                    2,
		`otelcol_fapilog_processor_redact_fields_redacted{kind="card_number",processor="redact",redactor="value_patterns"}`:  2,
		`otelcol_fapilog_processor_redact_guardrail_hits{action="replace_subtree",guardrail="max_depth",processor="redact"}`: 2,
	}
	var got map[string]float64
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = scrapeRedactMetrics(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort))
		if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("redact series on the collector's endpoint:\n got %v\nwant %v", got, want)
	}
}

// scrapeRedactMetrics reads the Prometheus text exposition and returns the redact processor's series as
// name{label="value",...} (only the labels the processor sets, in the exposition's sorted order) -> value.
func scrapeRedactMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	// No keep-alive: nothing of the scrape outlives the test.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil // not listening yet
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{
		"processor": true, "redactor": true, "kind": true, "guardrail": true, "action": true, "outcome": true, "reason": true,
	}
	series := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "otelcol_fapilog_processor_redact_") {
			continue
		}
		open, closing, space := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}'), strings.LastIndexByte(line, ' ')
		if open < 0 || closing < open || space < closing {
			t.Fatalf("unexpected exposition line %q", line)
		}
		var labels []string
		for _, pair := range strings.Split(line[open+1:closing], ",") {
			if k, _, ok := strings.Cut(pair, "="); ok && own[k] {
				labels = append(labels, pair)
			}
		}
		v, err := strconv.ParseFloat(line[space+1:], 64)
		if err != nil {
			t.Fatalf("unexpected value in %q", line)
		}
		series[line[:open]+"{"+strings.Join(labels, ",")+"}"] = v
	}
	return series
}
