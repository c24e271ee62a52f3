package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// fileTenantsConfig routes every record to the file of its service through one fapilogfile block, and serves
// the collector's own metrics on Collector.MetricsPort.
const fileTenantsConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs/{service.name}
    max_destinations: {{.MaxDestinations}}
service:
  {{.Telemetry}}
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogfile]
`

const (
	fileTenants           = 50
	fileTenantRecords     = 40
	fileTenantsOverflowed = "otelcol_fapilog_exporter_destinations_overflow"
)

// fileTenantLogs makes perService records for each service, one ResourceLogs per service, with unique
// log.record.uid "<service>-<i>".
func fileTenantLogs(services []string, perService int) plog.Logs {
	ld := plog.NewLogs()
	now := time.Now()
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < perService; i++ {
			lr := records.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
			lr.Body().SetStr(fmt.Sprintf("%s record %d", svc, i))
			lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("%s-%d", svc, i))
		}
	}
	return ld
}

// startFileTenants starts the collector and sends fileTenantRecords records for each of fileTenants services,
// half over gRPC, half over HTTP. It returns the services.
func startFileTenants(t *testing.T, maxDestinations int) (*Collector, int, []string) {
	t.Helper()
	c := Start(t, fileTenantsConfig, map[string]any{"MaxDestinations": maxDestinations})
	services := make([]string, fileTenants)
	for i := range services {
		services[i] = fmt.Sprintf("svc-%02d", i)
	}
	c.SendGRPC(t, fileTenantLogs(services[:fileTenants/2], fileTenantRecords))
	c.SendHTTP(t, fileTenantLogs(services[fileTenants/2:], fileTenantRecords), false)
	return c, c.MetricsPort, services
}

// readTenantDirs returns, per directory under logs, how often each record id appears in its files.
func readTenantDirs(t *testing.T, logs string) (map[string]map[string]int, int) {
	t.Helper()
	entries, err := os.ReadDir(logs)
	if err != nil {
		return nil, 0
	}
	dirs, total := map[string]map[string]int{}, 0
	for _, e := range entries {
		if !e.IsDir() {
			t.Fatalf("%s is not a tenant directory", e.Name())
		}
		lines, _ := ReadLogFiles(t, filepath.Join(logs, e.Name()))
		ids := map[string]int{}
		for _, raw := range lines {
			var line fapilogLine
			if json.Unmarshal(raw, &line) == nil {
				ids[line.Log.Context.MessageID]++
				total++
			}
		}
		dirs[e.Name()] = ids
	}
	return dirs, total
}

func TestE2E_FileFiftyServicesThroughOneExporterLandInFiftyFilesEveryRecordOnce(t *testing.T) {
	c, _, services := startFileTenants(t, 100)
	logs := filepath.Join(c.Dir, "logs")
	want := fileTenants * fileTenantRecords
	Eventually(t, 30*time.Second, func() bool { _, n := readTenantDirs(t, logs); return n >= want },
		"not every record arrived")
	c.Stop(t)

	dirs, total := readTenantDirs(t, logs)
	if total != want || len(dirs) != fileTenants {
		t.Fatalf("%d records in %d directories, want %d in %d", total, len(dirs), want, fileTenants)
	}
	for _, svc := range services {
		ids := dirs[svc]
		for i := 0; i < fileTenantRecords; i++ {
			if n := ids[fmt.Sprintf("%s-%d", svc, i)]; n != 1 {
				t.Errorf("%s record %d arrived %d times in its file", svc, i, n)
			}
		}
		names, err := os.ReadDir(filepath.Join(logs, svc))
		if err != nil || len(names) != 1 || names[0].Name() != "fapilog.jsonl" {
			t.Errorf("%s: want exactly fapilog.jsonl, got %v (%v)", svc, names, err)
		}
	}
}

func TestE2E_FileMaxDestinationsSendsTheRestToTheDefaultAndTheMetricSaysHowMany(t *testing.T) {
	const maxDestinations = 10
	c, metricsPort, _ := startFileTenants(t, maxDestinations)
	logs := filepath.Join(c.Dir, "logs")
	want := fileTenants * fileTenantRecords
	Eventually(t, 30*time.Second, func() bool { _, n := readTenantDirs(t, logs); return n >= want },
		"not every record arrived")
	overflowWant := float64((fileTenants - maxDestinations) * fileTenantRecords)
	var overflow float64
	Eventually(t, 15*time.Second, func() bool {
		overflow = ScrapeMetrics(t, metricsPort).Sum(fileTenantsOverflowed)
		return overflow == overflowWant
	}, "the collector's %s reads %v, want %v", fileTenantsOverflowed, overflow, overflowWant)
	open := ScrapeMetrics(t, metricsPort).Sum("otelcol_fapilog_exporter_destinations_open")
	c.Stop(t)

	dirs, total := readTenantDirs(t, logs)
	if total != want {
		t.Fatalf("%d records, want %d", total, want)
	}
	if len(dirs) != maxDestinations+1 || open != maxDestinations+1 {
		t.Fatalf("%d directories (gauge %v), want %d services and the default", len(dirs), open, maxDestinations)
	}
	for dir, ids := range dirs {
		n := 0
		for id, count := range ids {
			if count != 1 {
				t.Errorf("%s arrived %d times", id, count)
			}
			if dir != "unknown" && !strings.HasPrefix(id, dir+"-") {
				t.Errorf("%s is in %s's file", id, dir)
			}
			n += count
		}
		wantHere := fileTenantRecords
		if dir == "unknown" {
			wantHere = int(overflowWant)
		}
		if n != wantHere {
			t.Errorf("%s holds %d records, want %d", dir, n, wantHere)
		}
	}
	t.Logf("max_destinations %d: %d services in their own files, %v records of %d services in unknown/",
		maxDestinations, len(dirs)-1, overflow, fileTenants-maxDestinations)
}
