package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestE2E_LevelRoutingExampleSendsErrorsToPostgresAndEverythingToFiles runs deploy/examples/level-routing.yaml as
// shipped: records of every level, named by severity text, by number only, or both, go to the files; only those
// fapilog calls ERROR or CRITICAL also reach PostgreSQL.
func TestE2E_LevelRoutingExampleSendsErrorsToPostgresAndEverythingToFiles(t *testing.T) {
	pg := NewPostgresSchema(t, "fapilog_routing_")
	logDir := filepath.Join(t.TempDir(), "logs")
	t.Setenv("FAPILOG_FILE__DIRECTORY", logDir)
	c := Start(t, ShippedConfig(t, "deploy/examples/level-routing.yaml"), nil)

	type record struct {
		name, text string
		number     plog.SeverityNumber
		wantLevel  string
		toPostgres bool
	}
	records := []record{
		{"text-debug", "DEBUG", 0, "DEBUG", false},
		{"text-info", "INFO", 0, "INFO", false},
		{"text-warn", "WARN", 0, "WARNING", false},
		{"text-warning", "WARNING", 0, "WARNING", false},
		{"text-error", "ERROR", 0, "ERROR", true},
		{"text-error-lower", "error", 0, "ERROR", true},
		{"text-critical", "CRITICAL", 0, "CRITICAL", true},
		{"text-fatal", "FATAL", 0, "CRITICAL", true},
		{"number-debug", "", plog.SeverityNumberDebug, "DEBUG", false},
		{"number-info", "", plog.SeverityNumberInfo, "INFO", false},
		{"number-warn", "", plog.SeverityNumberWarn4, "WARNING", false},
		{"number-error", "", plog.SeverityNumberError, "ERROR", true},
		{"number-fatal", "", plog.SeverityNumberFatal, "CRITICAL", true},
		// The text wins, as in fapilog's envelope: an INFO record with an error number stays out of PostgreSQL.
		{"text-info-number-error", "INFO", plog.SeverityNumberError, "INFO", false},
		{"unset", "", plog.SeverityNumberUnspecified, "INFO", false},
	}
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.routing")
	for _, r := range records {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetSeverityText(r.text)
		lr.SetSeverityNumber(r.number)
		lr.Body().SetStr(r.name)
	}
	c.SendGRPC(t, ld)

	var wantInPostgres []string
	for _, r := range records {
		if r.toPostgres {
			wantInPostgres = append(wantInPostgres, r.name+" "+r.wantLevel)
		}
	}
	sort.Strings(wantInPostgres)
	table := pg.Table("logs")
	rowsInPostgres := func() []string {
		rows, err := pg.DB.Query(context.Background(), "SELECT message || ' ' || level FROM "+table+" ORDER BY 1")
		if err != nil {
			return nil
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil
		}
		return got
	}
	Eventually(t, 30*time.Second, func() bool { return len(rowsInPostgres()) >= len(wantInPostgres) },
		"errors did not reach PostgreSQL; collector log:\n%s", c.Stderr.String())
	c.Stop(t) // flushes the files; PostgreSQL has had every chance to receive a record too many

	if got := rowsInPostgres(); !slices.Equal(got, wantInPostgres) {
		t.Errorf("PostgreSQL holds %q\nwant %q", got, wantInPostgres)
	}
	lines, _ := ReadLogFiles(t, logDir)
	levels := map[string]string{}
	for _, line := range lines {
		var l fapilogLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		levels[l.Log.Message] = l.Log.Level
	}
	for _, r := range records {
		if levels[r.name] != r.wantLevel {
			t.Errorf("file: %s has level %q, want %q", r.name, levels[r.name], r.wantLevel)
		}
	}
	if len(lines) != len(records) {
		t.Errorf("%d lines in the files, want %d (every record once)", len(lines), len(records))
	}
}
