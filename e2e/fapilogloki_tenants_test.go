package e2e

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/victorialogstest"
)

// One fapilogloki block routes each service's records to a tenant of its own, read from the resource attribute
// loki.tenant. VictoriaLogs (v1.52.1) reads the X-Scope-OrgID header the exporter sends, as Grafana Loki does, as
// <AccountID>[:<ProjectID>] when its own AccountID/ProjectID headers are absent, so the tenants here are numbers;
// placeholder_default "0" is VictoriaLogs' default account. The collector's own metrics are read from its
// Prometheus endpoint.
const lokiTenantsConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogloki:
    endpoint: {{.Endpoint}}
    tenant_id: "{loki.tenant}"
    placeholder_default: "0"
    max_destinations: {{.MaxDestinations}}
    label_keys: [level, diagnostics.service]
    structured_metadata_keys: [context.message_id]
    headers:
      VL-Loki-Disable-Message-Parsing: "true"
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

const (
	tenantServices   = 50
	recordsPerTenant = 40
	firstAccount     = 101 // svc-00 is account 101, svc-49 account 150
)

// tenantLogs is one OTLP request holding records [from, to) of every service, each service in a ResourceLogs of its
// own with service.name svc-NN and loki.tenant its account; record ids are "svc-NN-<i>".
func tenantLogs(from, to int) plog.Logs {
	ld := plog.NewLogs()
	now := time.Now()
	for s := range tenantServices {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%02d", s))
		rl.Resource().Attributes().PutStr("loki.tenant", fmt.Sprint(firstAccount+s))
		sl := rl.ScopeLogs().AppendEmpty()
		for i := from; i < to; i++ {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.Body().SetStr(fmt.Sprintf("svc-%02d record %d", s, i))
			lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("svc-%02d-%d", s, i))
		}
	}
	return ld
}

// sendTenantLogs sends every service's records in four OTLP requests, over gRPC and HTTP.
func sendTenantLogs(t *testing.T, c *Collector) {
	t.Helper()
	const step = recordsPerTenant / 4
	for from := 0; from < recordsPerTenant; from += step {
		if from%(2*step) == 0 {
			c.SendGRPC(t, tenantLogs(from, from+step))
		} else {
			c.SendHTTP(t, tenantLogs(from, from+step), false)
		}
	}
}

// accountRows reads the rows of every account the test may have written to: the services' and the default (0).
func accountRows(t *testing.T, vl *victorialogstest.Server) map[int][]map[string]string {
	t.Helper()
	out := map[int][]map[string]string{}
	for _, account := range append([]int{0}, accountsRange()...) {
		if rows := vl.Rows(t, fmt.Sprint(account)); len(rows) > 0 {
			out[account] = rows
		}
	}
	return out
}

func accountsRange() []int {
	var accounts []int
	for s := range tenantServices {
		accounts = append(accounts, firstAccount+s)
	}
	return accounts
}

func totalRows(rows map[int][]map[string]string) int {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	return n
}

// requireEveryRecordOnce checks that the 2,000 records are stored exactly once, whatever their account.
func requireEveryRecordOnce(t *testing.T, rows map[int][]map[string]string) {
	t.Helper()
	seen := map[string]int{}
	for _, accountRows := range rows {
		for _, row := range accountRows {
			seen[row["context_message_id"]]++
		}
	}
	for s := range tenantServices {
		for i := range recordsPerTenant {
			if id := fmt.Sprintf("svc-%02d-%d", s, i); seen[id] != 1 {
				t.Errorf("%s stored %d times, want once", id, seen[id])
			}
		}
	}
}

// waitForRows polls VictoriaLogs until it holds every record, then a little longer for a duplicate to show.
func waitForRows(t *testing.T, vl *victorialogstest.Server, c *Collector) map[int][]map[string]string {
	t.Helper()
	const want = tenantServices * recordsPerTenant
	var rows map[int][]map[string]string
	Eventually(t, 60*time.Second, func() bool { rows = accountRows(t, vl); return totalRows(rows) >= want },
		"VictoriaLogs did not receive %d records:\n%s", want, c.Stderr.String())
	time.Sleep(500 * time.Millisecond)
	rows = accountRows(t, vl)
	if got := totalRows(rows); got != want {
		t.Fatalf("VictoriaLogs holds %d records, want %d", got, want)
	}
	return rows
}

// scrapeUntil reads the collector's own metrics until name sums to want (the exporter records them before the
// records are visible in VictoriaLogs, but the reader exposes them on its own schedule), and returns that scrape.
func scrapeUntil(t *testing.T, port int, name string, want float64) Samples {
	t.Helper()
	var m Samples
	Eventually(t, 15*time.Second, func() bool { m = ScrapeMetrics(t, port); return m.Sum(name) == want },
		"the collector's %s does not read %v", name, want)
	return m
}

func TestE2E_LokiTenantsFromFiftyServicesLandInFiftyAccounts(t *testing.T) {
	vl := victorialogstest.Start(t)
	c := Start(t, lokiTenantsConfig, map[string]any{
		"Endpoint": vl.LokiEndpoint(), "MaxDestinations": 100})
	sendTenantLogs(t, c)
	rows := waitForRows(t, vl, c)

	requireEveryRecordOnce(t, rows)
	if len(rows[0]) != 0 {
		t.Errorf("%d records landed in the default account", len(rows[0]))
	}
	for s := range tenantServices {
		account, service := firstAccount+s, fmt.Sprintf("svc-%02d", s)
		if len(rows[account]) != recordsPerTenant {
			t.Errorf("account %d holds %d records, want %d", account, len(rows[account]), recordsPerTenant)
		}
		for _, row := range rows[account] {
			if row["diagnostics_service"] != service {
				t.Fatalf("account %d holds a record of %s, want only %s's", account, row["diagnostics_service"], service)
			}
		}
	}
	m := scrapeUntil(t, c.MetricsPort, "otelcol_fapilog_exporter_destinations_open", tenantServices)
	if got := m.Sum("otelcol_fapilog_exporter_destinations_overflow"); got != 0 {
		t.Errorf("overflow %v, want 0", got)
	}
	if got := m.Sum("otelcol_exporter_sent_log_records"); got != tenantServices*recordsPerTenant {
		t.Errorf("otelcol_exporter_sent_log_records %v, want %d", got, tenantServices*recordsPerTenant)
	}
}

// With max_destinations: 10, the first ten tenants seen keep their accounts; the other 40 services' records go to
// the default tenant, each once, and the collector's overflow counter says how many.
func TestE2E_LokiMaxDestinationsSendsTheRestToTheDefaultTenantAndCountsThem(t *testing.T) {
	vl := victorialogstest.Start(t)
	c := Start(t, lokiTenantsConfig, map[string]any{
		"Endpoint": vl.LokiEndpoint(), "MaxDestinations": 10})
	sendTenantLogs(t, c)
	rows := waitForRows(t, vl, c)

	requireEveryRecordOnce(t, rows)
	own := 0
	for _, account := range accountsRange() {
		switch n := len(rows[account]); n {
		case 0:
		case recordsPerTenant:
			own++
		default:
			t.Errorf("account %d holds %d records: a tenant keeps all of its records or none", account, n)
		}
	}
	const overflow = (tenantServices - 10) * recordsPerTenant
	if own != 10 || len(rows[0]) != overflow {
		t.Fatalf("%d tenants kept their account and the default holds %d records; want 10 and %d", own, len(rows[0]), overflow)
	}
	m := scrapeUntil(t, c.MetricsPort, "otelcol_fapilog_exporter_destinations_overflow", overflow)
	if got := m.Sum("otelcol_fapilog_exporter_destinations_open"); got != 11 {
		t.Errorf("destinations open %v, want 11 (ten tenants and the default)", got)
	}
	if got := m.Sum("otelcol_exporter_send_failed_log_records"); got != 0 {
		t.Errorf("otelcol_exporter_send_failed_log_records %v, want 0", got)
	}
}
