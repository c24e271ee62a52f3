package fapilogloki

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/delivery"
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
// the retries deliver every record, none twice. Meanwhile the breaker opens (state and transitions visible as
// metrics), the component status turns to a recoverable error, and back to OK once VictoriaLogs answers again.
func TestVictoriaLogs_OutageThenRecoveryDeliversEverythingAndIsReported(t *testing.T) {
	v := victorialogstest.Start(t)
	o := startObserved(t, victoriaLogsConfig(v))

	const total, piece = 300, 25
	ld := testLogs("m", total)
	send := func(from, to int) {
		for i := from; i < to; i += piece {
			require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), pick(ld, "m", i, min(i+piece, to))))
			time.Sleep(20 * time.Millisecond)
		}
	}
	send(0, 100)
	v.Stop()
	send(100, 200) // accepted into the queue while the server is down
	require.Eventually(t, func() bool {
		return o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "open")) > 0
	}, 20*time.Second, 20*time.Millisecond, "the breaker opens during the outage")
	assert.NotEqualValues(t, breaker.Closed, o.Metrics.Int(t, delivery.MetricBreakerState), "open or probing")
	assert.Equal(t, componentstatus.StatusRecoverableError, o.Host.Last())
	time.Sleep(1500 * time.Millisecond) // long enough for several failed probes
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
	assert.Positive(t, o.Logs.FilterMessageSnippet("Exporting failed. Will retry").Len(), "the outage was seen and retried")
	assert.Positive(t, o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "half_open")), "probes went out")
	assert.Positive(t, o.Metrics.Int(t, delivery.MetricBreakerTransitions, attribute.String("to", "closed")))
	assert.EqualValues(t, breaker.Closed, o.Metrics.Int(t, delivery.MetricBreakerState))
	assert.Positive(t, o.Metrics.Int(t, delivery.MetricRecordsRetried))
	assert.Zero(t, o.Metrics.Int(t, delivery.MetricRecordsRejected), "nothing refused")
	assert.Equal(t, componentstatus.StatusOK, o.Host.Last(), "healthy again")
	assert.False(t, o.Host.Seen(componentstatus.StatusPermanentError))
}

// VictoriaLogs started with a small -loki.maxRequestSize refuses, with a real 400, the requests that carry the
// streams of big lines (WARNING, one stream per service); the requests of the other streams of the same push are
// stored, and the push succeeds.
func TestVictoriaLogs_OneStreamRefusedWith400TheOthersAreStored(t *testing.T) {
	v := victorialogstest.Start(t, "-loki.maxRequestSize=65536")
	cfg := victoriaLogsConfig(v)
	cfg.QueueConfig = syncConfig(v.LokiEndpoint()).QueueConfig // one push, one outcome
	cfg.MaxStreamsPerRequest = 1
	o := startObserved(t, cfg)

	ld := testLogs("m", 30)
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if lr.SeverityNumber() == plog.SeverityNumberWarn {
					lr.Body().SetStr(strings.Repeat("w", 20_000)) // 5 WARNING records per service: over 64 KiB together
				}
			}
		}
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld), "a partial refusal is a partial success")

	rows := v.Rows(t, "7")
	byID, count := rowsByID(rows)
	require.Equal(t, 20, len(rows), "the INFO and ERROR streams are stored")
	for id := range byID {
		require.Equal(t, 1, count[id])
		require.NotEqual(t, "WARNING", byID[id]["level"], id)
	}
	assert.EqualValues(t, 10, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "request_too_large")))
	refusals := o.Logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, refusals, 1)
	assert.EqualValues(t, 400, refusals[0].ContextMap()["status"])
	assert.Contains(t, refusals[0].ContextMap()["response"], "too big data size", "VictoriaLogs' own answer")
}

// Each service's records land in the VictoriaLogs tenant its resource names: VictoriaLogs reads X-Scope-OrgID as
// <AccountID>[:<ProjectID>] (numbers) when its own AccountID/ProjectID headers are absent, as Grafana Loki reads it
// as the tenant. A tenant VictoriaLogs cannot read is refused by it with a real 400, and only that tenant's records
// are lost (counted); the others are stored.
func TestVictoriaLogs_EachTenantLandsInItsOwnAccount(t *testing.T) {
	v := victorialogstest.Start(t)
	cfg := victoriaLogsConfig(v)
	cfg.QueueConfig = syncConfig(v.LokiEndpoint()).QueueConfig
	cfg.TenantID = "{vl.account}"
	cfg.Destinations.PlaceholderDefault = "0"
	o := startObserved(t, cfg)

	accounts := []string{"11", "12", "13", "14", "15", "ops"}
	ld := servicesLogs(6, "svc-11", "svc-12", "svc-13", "svc-14", "svc-15", "svc-ops")
	for i, rl := range ld.ResourceLogs().All() {
		rl.Resource().Attributes().PutStr("vl.account", accounts[i])
	}
	require.NoError(t, o.Exporter.ConsumeLogs(context.Background(), ld), "one tenant refused is a partial success")

	for _, account := range accounts[:5] {
		rows := v.Rows(t, account)
		require.Equal(t, 6, len(rows), "account %s", account)
		for _, row := range rows {
			assert.Equal(t, "svc-"+account, row["diagnostics_service"], "account %s holds its service only", account)
		}
	}
	assert.Empty(t, v.Rows(t, "0"), "nothing in the default account")
	assert.EqualValues(t, 6, o.Metrics.Int(t, delivery.MetricRecordsRejected, attribute.String("reason", "http_400")))
	refusals := o.Logs.FilterMessage("Log records rejected for good").All()
	require.Len(t, refusals, 1)
	assert.Contains(t, refusals[0].ContextMap()["response"], "cannot parse accountID", "VictoriaLogs' own answer")
}
