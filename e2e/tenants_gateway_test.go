package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/sivchari/kumo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/victorialogstest"
)

// gatewayTenant is one service of the multi-tenant gateway test: its service.name and its Loki tenant (a number:
// VictoriaLogs' accounts are numbers).
type gatewayTenant struct {
	service string
	account int
	dir     string // the directory its files must land in, under the configured one ("": any other, sanitised)
}

// The shipped multi-tenant gateway (deploy/examples/multi-tenant-gateway.yaml) run as is, with every destination
// real or emulated on this machine: each service's records land in its own directory, its own Loki tenant and its
// own CloudWatch group, every record once; its errors in PostgreSQL's daily partitions. A service.name that tries to
// climb out of the log directory stays inside it.
func TestE2E_MultiTenantGatewayExampleRoutesEachServiceToItsOwnDestinations(t *testing.T) {
	vl := victorialogstest.Start(t)
	cloudwatchEnv(t)
	cw := kumo.NewServer()
	t.Cleanup(cw.Close)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(cw.URL),
		Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
	pg := NewPostgresSchema(t, "fapilog_gateway_")
	logs := filepath.Join(t.TempDir(), "logs")
	groupPrefix := fmt.Sprintf("/e2e-gateway/%d", time.Now().UnixNano())
	t.Setenv("FAPILOG_FILE__DIRECTORY", logs)
	t.Setenv("FAPILOG_LOKI__URL", vl.LokiEndpoint())
	t.Setenv("FAPILOG_LOKI__DEFAULT_TENANT", "0")
	t.Setenv("FAPILOG_CLOUDWATCH__ENDPOINT_URL", cw.URL)
	t.Setenv("FAPILOG_CLOUDWATCH__GROUP_PREFIX", groupPrefix)
	metricsPort := FreePort(t)
	t.Setenv("FAPILOG_METRICS_PORT", strconv.Itoa(metricsPort))
	c := Start(t, ShippedConfig(t, "deploy/examples/multi-tenant-gateway.yaml"), nil)

	tenants := []gatewayTenant{
		{service: "checkout", account: 201, dir: "checkout"},
		{service: "payments", account: 202, dir: "payments"},
		{service: "../../etc/evil", account: 203},
	}
	const perTenant, errorsPerTenant = 12, 3
	ld := plog.NewLogs()
	now := time.Now()
	for _, tn := range tenants {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", tn.service)
		rl.Resource().Attributes().PutStr("loki.tenant", strconv.Itoa(tn.account))
		rl.Resource().Attributes().PutStr("host.name", "gw-host")
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range perTenant {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
			lr.SetSeverityText("INFO")
			if i < errorsPerTenant {
				lr.SetSeverityText("ERROR")
			}
			lr.Body().SetStr(fmt.Sprintf("%s record %d", tn.service, i))
			lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("%d-%d", tn.account, i))
		}
	}
	c.SendGRPC(t, ld)

	want := len(tenants) * perTenant
	deadline := time.Now().Add(60 * time.Second)
	var files map[string]map[string]int
	var filesTotal, lokiTotal, cwTotal, pgRows int
	for {
		files, filesTotal = readTenantDirs(t, logs)
		lokiTotal, cwTotal = 0, 0
		for _, tn := range tenants {
			lokiTotal += len(vl.Rows(t, strconv.Itoa(tn.account)))
			if groups := groupsUnder(t, client, groupPrefix); len(groups) == len(tenants) {
				ids, _ := uidsOf(t, cloudwatchEvents(t, client, groupPrefix+"/"+cloudwatchGroupValue(tn.service), "gw-host"))
				cwTotal += len(ids)
			}
		}
		pgRows = pg.Int("SELECT count(*) FROM " + pg.Table("logs"))
		if (filesTotal >= want && lokiTotal >= want && cwTotal >= want && pgRows >= len(tenants)*errorsPerTenant) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("%d records sent: %d in files, %d in Loki tenants, %d in CloudWatch groups, %d errors in PostgreSQL", want, filesTotal, lokiTotal, cwTotal, pgRows)

	for _, tn := range tenants {
		dir := tn.dir
		if dir == "" { // the hostile name: whatever it became, it is a directory of its own under logs
			for d := range files {
				if d != "checkout" && d != "payments" {
					dir = d
				}
			}
		}
		ids := files[dir]
		if len(ids) != perTenant {
			t.Errorf("%s: %d records in %s/%s, want %d (directories: %v)", tn.service, len(ids), logs, dir, perTenant, keys(files))
		}
		for id, n := range ids {
			if n != 1 {
				t.Errorf("%s: record %s written %d times", tn.service, id, n)
			}
		}
		if rows := vl.Rows(t, strconv.Itoa(tn.account)); len(rows) != perTenant {
			t.Errorf("%s: %d records in Loki tenant %d, want %d", tn.service, len(rows), tn.account, perTenant)
		}
		group := groupPrefix + "/" + cloudwatchGroupValue(tn.service)
		ids, _ = uidsOf(t, cloudwatchEvents(t, client, group, "gw-host"))
		if len(ids) != perTenant {
			t.Errorf("%s: %d records in CloudWatch group %s, want %d", tn.service, len(ids), group, perTenant)
		}
		for id, n := range ids {
			if n != 1 {
				t.Errorf("%s: record %s stored %d times in CloudWatch", tn.service, id, n)
			}
		}
	}
	if len(files) != len(tenants) {
		t.Errorf("tenant directories %v, want one per service", keys(files))
	}
	if pgRows != len(tenants)*errorsPerTenant {
		t.Errorf("PostgreSQL holds %d rows, want the %d errors", pgRows, len(tenants)*errorsPerTenant)
	}
	partitions := pg.Int("SELECT count(*) FROM pg_inherits WHERE inhparent = '" + pg.Table("logs") + "'::regclass")
	if partitions < 2 {
		t.Errorf("the logs table has %d partitions: the example asks for daily partitions made ahead", partitions)
	}
	if got := ScrapeMetrics(t, metricsPort).Sum("otelcol_exporter_send_failed_log_records"); got != 0 {
		t.Errorf("otelcol_exporter_send_failed_log_records = %.0f", got)
	}
}

// cloudwatchGroupValue is a service name as a log group name segment: '/' is allowed there, so ../../etc/evil
// keeps its shape (CloudWatch names are not paths).
func cloudwatchGroupValue(service string) string { return service }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
