package fapilogloki

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/fapilog/fapilog-otelcol/internal/victorialogstest"
)

// Integration tests against a real Loki-push-compatible server, VictoriaLogs (internal/victorialogstest). They
// fail, never skip, when the binary is missing.

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
func victoriaLogsConfig(v *victorialogstest.Server) *Config {
	cfg := fastRetryConfig(v.LokiEndpoint())
	cfg.TenantID = "7" // VictoriaLogs reads X-Scope-OrgID as <AccountID>[:<ProjectID>]
	cfg.LabelKeys = []string{"level", "diagnostics.service"}
	cfg.StructuredMetadataKeys = []string{"context.message_id"}
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "VL-Loki-Disable-Message-Parsing", Value: "true"}}
	return cfg
}

func TestVictoriaLogs_EveryRecordArrivesOnceWithItsLabelsTimeAndLine(t *testing.T) {
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		t.Run(string(encoding), func(t *testing.T) {
			v := victorialogstest.Start(t)
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
			require.Eventually(t, func() bool { rows = v.Rows(t, "7"); return len(rows) >= total }, 20*time.Second, 100*time.Millisecond)
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
			assert.Empty(t, v.Rows(t, "0"), "the tenant header was honoured: nothing in the default tenant")
		})
	}
}

// VictoriaLogs stops in the middle of the load and comes back on the same port and data directory: the queue and
// the retries deliver every record, none twice.
func TestVictoriaLogs_OutageThenRecoveryDeliversEverything(t *testing.T) {
	v := victorialogstest.Start(t)
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
	v.Stop()
	send(100, 200)                      // accepted into the queue while the server is down
	time.Sleep(1500 * time.Millisecond) // long enough for the breaker to open and probe several times
	v.Restart(t)
	send(200, total)

	var rows []map[string]string
	require.Eventually(t, func() bool { rows = v.Rows(t, "7"); return len(rows) >= total }, 60*time.Second, 200*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a duplicate would show up now
	rows = v.Rows(t, "7")
	_, count := rowsByID(rows)
	require.Len(t, rows, total)
	for i := range total {
		require.Equal(t, 1, count[fmt.Sprintf("m-%d", i)], "m-%d stored exactly once", i)
	}
	assert.Positive(t, logs.FilterMessageSnippet("Exporting failed. Will retry").Len(), "the outage was seen and retried")
	assert.Positive(t, logs.FilterMessageSnippet("Circuit breaker opened").Len())
}
