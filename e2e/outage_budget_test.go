package e2e

import (
	"testing"
	"time"
)

// shortBudgetHTTPConfig is the configuration of the "No silent loss" measurement: fapiloghttp with the breaker on
// (fapilog's defaults: 5 failures, 30 s recovery) and a retry budget shorter than the breaker's recovery.
const shortBudgetHTTPConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapiloghttp:
    endpoint: {{.Endpoint}}
    retry_on_failure:
      max_elapsed_time: 20s
      max_interval: 5s
service:
  {{.Telemetry}}
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapiloghttp]
`

// The measurement that lost 11,400 of 20,000 acknowledged records: 1,000 records/s for 20 s, the backend down for
// 10 s in the middle, retry_on_failure {max_elapsed_time: 20s, max_interval: 5s}, the breaker on. The breaker used to
// answer "throttle 30 s", longer than what was left of the budget, and exporterhelper dropped the batches; now it
// holds them until its probe, which finds the backend back, and every acknowledged record is delivered.
func TestE2E_TenSecondOutageInsideTheRetryBudgetLosesNothingWithTheBreakerOn(t *testing.T) {
	received := &endpoint{accepted: map[string]int{}}
	sink := startStoppableServer(t, received)
	c := Start(t, shortBudgetHTTPConfig, map[string]any{"Endpoint": "http://" + sink.addr + "/ingest"})

	const batches, batchSize = 400, 50 // 20,000 records at 1,000 records/s
	load := StartAckedLoad(t, c.GRPCEndpoint, LoadSpec{Prefix: "ob", Batches: batches, BatchSize: batchSize,
		Interval: 50 * time.Millisecond, Deadline: 2 * time.Minute})
	time.Sleep(5 * time.Second)
	sink.stop()
	time.Sleep(10 * time.Second)
	sink.start(t)
	load.Wait()
	acked := load.Acked()

	var got map[string]int
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		got, _ = received.snapshot()
		if len(got) >= len(acked) || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(time.Second)
	got, _ = received.snapshot()
	lost, delivered := 0, 0
	for id := range acked {
		if got[id] == 0 {
			lost++
		}
	}
	for _, n := range got {
		delivered += n
	}
	m := ScrapeMetrics(t, c.MetricsPort)
	t.Logf("%d records acknowledged, %d delivered (%d distinct), %d lost; breaker opened %.0f times; send_failed %.0f",
		len(acked), delivered, len(got), lost,
		m.Sum("otelcol_fapilog_exporter_circuit_breaker_transitions", "to", "open"),
		m.Sum("otelcol_exporter_send_failed_log_records"))
	if len(acked) != batches*batchSize {
		t.Errorf("only %d of %d records were acknowledged", len(acked), batches*batchSize)
	}
	if lost > 0 {
		t.Errorf("%d acknowledged records lost to a 10 s outage inside the retry budget", lost)
	}
	if m.Sum("otelcol_fapilog_exporter_circuit_breaker_transitions", "to", "open") == 0 {
		t.Errorf("the breaker never opened: the test did not exercise it")
	}
	if failed := m.Sum("otelcol_exporter_send_failed_log_records"); failed != 0 {
		t.Errorf("otelcol_exporter_send_failed_log_records = %.0f", failed)
	}
	if sent := m.Sum("otelcol_exporter_sent_log_records", "exporter", "fapiloghttp"); int(sent) != delivered {
		t.Errorf("otelcol_exporter_sent_log_records = %.0f, the receiver accepted %d", sent, delivered)
	}
}
