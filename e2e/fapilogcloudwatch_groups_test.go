package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/sivchari/kumo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// One exporter block, log groups named by the records' service.name, against kumo in this test process; the
// overflow beyond max_destinations is read from the collector's own Prometheus endpoint.
const cloudwatchGroupsConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogcloudwatch:
    endpoint_url: {{.KumoURL}}
    log_group_name: "{{.Prefix}}/{service.name}"
    log_stream_name: app
    log_retention_days: 7
    max_destinations: {{.MaxDestinations}}
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
      exporters: [fapilogcloudwatch]
`

// cloudwatchServices names n services; the last one holds characters a log group name cannot (':' and '*').
func cloudwatchServices(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc-%02d", i)
	}
	out[n-1] = "ops:night*shift"
	return out
}

// groupOfService is the log group a service's records must land in: ':' and '*' become '_'.
func groupOfService(prefix, service string) string {
	return prefix + "/" + strings.NewReplacer(":", "_", "*", "_").Replace(service)
}

// serviceBatch is perService records of each service, one ResourceLogs per service, uids "<service>-<i>".
func serviceBatch(services []string, perService int) plog.Logs {
	ld := plog.NewLogs()
	now := time.Now()
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range perService {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
			lr.Body().SetStr(fmt.Sprintf("%s record %d", svc, i))
			lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("%s-%d", svc, i))
		}
	}
	return ld
}

// startGroupsCollector starts kumo and a collector routing to one group per service; it returns what the test
// reads back with.
func startGroupsCollector(t *testing.T, maxDestinations int) (col *Collector, client *cloudwatchlogs.Client, prefix string, metricsPort int) {
	t.Helper()
	cloudwatchEnv(t)
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	client = cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
	prefix = fmt.Sprintf("/fapilog/e2e-groups/%d", time.Now().UnixNano())
	col = Start(t, cloudwatchGroupsConfig, map[string]any{
		"KumoURL": srv.URL, "Prefix": prefix, "MaxDestinations": maxDestinations,
	})
	return col, client, prefix, col.MetricsPort
}

// groupsUnder lists the log groups under prefix with their retention.
func groupsUnder(t *testing.T, client *cloudwatchlogs.Client, prefix string) map[string]int32 {
	t.Helper()
	resp, err := client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(prefix + "/")})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int32{}
	for _, g := range resp.LogGroups {
		out[aws.ToString(g.LogGroupName)] = aws.ToInt32(g.RetentionInDays)
	}
	return out
}

// storedIDs reads the uids stored in the "app" stream of every group under prefix, by group.
func storedIDs(t *testing.T, client *cloudwatchlogs.Client, prefix string) (map[string]map[string]int, int) {
	t.Helper()
	out, total := map[string]map[string]int{}, 0
	for group := range groupsUnder(t, client, prefix) {
		ids, _ := uidsOf(t, cloudwatchEvents(t, client, group, "app"))
		out[group] = ids
		for _, n := range ids {
			total += n
		}
	}
	return out, total
}

func TestCloudWatch_FiftyServicesThroughOneExporterLandInFiftyGroupsEveryRecordOnce(t *testing.T) {
	col, client, prefix, metricsPort := startGroupsCollector(t, 100)
	const perService = 40
	services := cloudwatchServices(50)
	col.SendGRPC(t, serviceBatch(services[:25], perService))
	col.SendHTTP(t, serviceBatch(services[25:], perService), false)

	want := len(services) * perService
	Eventually(t, 60*time.Second, func() bool { _, n := storedIDs(t, client, prefix); return n >= want },
		"CloudWatch (kumo) did not receive %d events in %d groups:\n%s", want, len(services), col.Stderr.String())
	byGroup, total := storedIDs(t, client, prefix)
	if total != want || len(byGroup) != len(services) {
		t.Fatalf("%d events in %d groups, want %d in %d", total, len(byGroup), want, len(services))
	}
	retention := groupsUnder(t, client, prefix)
	for _, svc := range services {
		group := groupOfService(prefix, svc)
		ids := byGroup[group]
		if len(ids) != perService {
			t.Fatalf("group %s holds %d records, want the %d of %s", group, len(ids), perService, svc)
		}
		for i := range perService {
			if id := fmt.Sprintf("%s-%d", svc, i); ids[id] != 1 {
				t.Fatalf("record %s arrived %d times in %s", id, ids[id], group)
			}
		}
		if retention[group] != 7 {
			t.Fatalf("group %s has retention %d, want 7", group, retention[group])
		}
	}
	var samples Samples
	Eventually(t, 15*time.Second, func() bool {
		samples = ScrapeMetrics(t, metricsPort)
		return samples.Sum("otelcol_fapilog_exporter_destinations_open") == 50
	}, "the destinations gauge does not read 50: %v", samples)
	if n := samples.Sum("otelcol_fapilog_exporter_destinations_overflow"); n != 0 {
		t.Fatalf("overflow %v with 50 groups under max_destinations 100", n)
	}
	if n := samples.Sum("otelcol_exporter_sent_log_records"); n != float64(want) {
		t.Fatalf("otelcol_exporter_sent_log_records %v, want %d", n, want)
	}
}

func TestCloudWatch_MaxDestinationsTenSendsTheOtherServicesToTheDefaultGroupAndCountsThem(t *testing.T) {
	col, client, prefix, metricsPort := startGroupsCollector(t, 10)
	const perService = 20
	services := cloudwatchServices(50)
	col.SendGRPC(t, serviceBatch(services, perService))

	want := len(services) * perService
	Eventually(t, 60*time.Second, func() bool { _, n := storedIDs(t, client, prefix); return n >= want },
		"CloudWatch (kumo) did not receive %d events:\n%s", want, col.Stderr.String())
	byGroup, total := storedIDs(t, client, prefix)
	if total != want {
		t.Fatalf("%d events stored, want %d", total, want)
	}
	defaultGroup := prefix + "/unknown"
	if len(byGroup) != 11 {
		t.Fatalf("%d groups, want 10 and the default %s: %v", len(byGroup), defaultGroup, groupsUnder(t, client, prefix))
	}
	every := map[string]int{}
	for group, ids := range byGroup {
		if group != defaultGroup && len(ids) != perService {
			t.Fatalf("group %s holds %d records, want one service's %d", group, len(ids), perService)
		}
		for id, n := range ids {
			every[id] += n
		}
	}
	for _, svc := range services {
		for i := range perService {
			if id := fmt.Sprintf("%s-%d", svc, i); every[id] != 1 {
				t.Fatalf("record %s arrived %d times", id, every[id])
			}
		}
	}
	overflowed := len(byGroup[defaultGroup])
	if overflowed != 40*perService {
		t.Fatalf("the default group holds %d records, want the 40 other services' %d", overflowed, 40*perService)
	}

	var samples Samples
	Eventually(t, 15*time.Second, func() bool {
		samples = ScrapeMetrics(t, metricsPort)
		return samples.Sum("otelcol_fapilog_exporter_destinations_overflow", "exporter", "fapilogcloudwatch") == float64(overflowed)
	}, "the overflow counter of exporter fapilogcloudwatch does not read %d: %v", overflowed, samples)
	if n := samples.Sum("otelcol_fapilog_exporter_destinations_open", "exporter", "fapilogcloudwatch"); n != 11 {
		t.Fatalf("destinations open %v, want 10 and the default", n)
	}
	if !strings.Contains(col.Stderr.String(), "max_destinations reached") {
		t.Fatalf("no warning about max_destinations:\n%s", col.Stderr.String())
	}
}
