package redact

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

const (
	metricFieldsRedacted = "fapilog_processor_redact_fields_redacted"
	metricGuardrailHits  = "fapilog_processor_redact_guardrail_hits"
	metricFailures       = "fapilog_processor_redact_failures"
	metricRecordsDropped = "fapilog_processor_redact_records_dropped"
)

// secretsBatch is one resource with a URL credential and two records: the first has one secret for each
// redactor (and a value already masked), the second only a URL credential in its message.
func secretsBatch(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, rl.Resource().Attributes().FromRaw(map[string]any{"db.url": "https://admin:pw@db/"}))
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	first := lrs.AppendEmpty()
	require.NoError(t, first.Attributes().FromRaw(map[string]any{
		"password":      "hunter2",                                    // presets
		"api_key":       "***",                                        // presets, already masked: not a change
		"user":          map[string]any{"ssn": "123-45-6789", "n": 1}, // field_mask
		"internal_note": "call me",                                    // regex_mask
		"dsn":           "postgres://u:p@db:5432/x",                   // url_credentials
		"payload":       `{"card":"x"}`,                               // field_blocker
		"card":          int64(4111111111111111),                      // value_patterns: card_number
	}))
	// value_patterns: card_number (two cards, one value), jwt, email; then string_truncate cuts the result.
	first.Body().SetStr("paid with 4111 1111 1111 1111 and 5500 0000 0000 0004, token " + testJWT + ", mail a@b.co")
	second := lrs.AppendEmpty()
	second.Attributes().PutStr("message", "nothing to redact")
	second.Body().SetStr("retrying https://u:p@h/") // url_credentials
	return ld
}

func TestTelemetry_FieldsRedactedByRedactorAndKind(t *testing.T) {
	cfg := testConfig(fieldMask("", "attributes.user.ssn"), regexMask(`data\.internal_note`), urlCreds(4096),
		fieldBlocker(nil, nil), valuePatternsRedactor("card_number", "jwt", "email"), truncateAt(90))
	cfg.Presets = []string{"CREDENTIALS"}
	p := newObservedProcessor(t, cfg)

	out, err := p.processLogs(context.Background(), secretsBatch(t))
	require.NoError(t, err)
	rl := out.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"db.url": "https://db/"}, rl.Resource().Attributes().AsRaw())
	first := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, map[string]any{
		"password":      "***",
		"api_key":       "***",
		"user":          map[string]any{"ssn": "***", "n": int64(1)},
		"internal_note": "***",
		"dsn":           "postgres://db:5432/x",
		"payload":       "[REDACTED:HIGH_RISK_FIELD]",
		"card":          "[REDACTED:card_number]",
	}, first.Attributes().AsRaw())
	assert.Equal(t, "paid with [REDACTED:card_number] and [REDACTED:card_number], token [REDACTED:jwt], mail [R[truncated]",
		first.Body().Str())
	assert.Equal(t, "retrying https://h/", rl.ScopeLogs().At(0).LogRecords().At(1).Body().Str())

	want := map[string]int64{
		"redactor=presets":                         1,
		"redactor=field_mask":                      1,
		"redactor=regex_mask":                      1,
		"redactor=url_credentials":                 3, // the resource once for both records, dsn, the second message
		"redactor=field_blocker":                   1,
		"redactor=string_truncate":                 1,
		"kind=card_number,redactor=value_patterns": 2, // the integer and the message
		"kind=jwt,redactor=value_patterns":         1,
		"kind=email,redactor=value_patterns":       1,
	}
	assert.Equal(t, want, p.counter(t, metricFieldsRedacted))
	assert.Empty(t, p.counter(t, metricGuardrailHits))
	assert.Empty(t, p.counter(t, metricFailures))
	assert.Empty(t, p.counter(t, metricRecordsDropped))

	// The counts are per batch: a second batch adds exactly as much again.
	_, err = p.processLogs(context.Background(), secretsBatch(t))
	require.NoError(t, err)
	for k := range want {
		want[k] *= 2
	}
	assert.Equal(t, want, p.counter(t, metricFieldsRedacted))
	assert.Zero(t, p.warnings.Len(), "redacting is not worth a warning")
}

// guardrailBatch: a resource too deep with two records, then a resource with a record too deep, one with too
// many keys and a clean one.
func guardrailBatch(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	deepResource := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, deepResource.Resource().Attributes().FromRaw(nested(3)))
	lrs := deepResource.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("a")
	lrs.AppendEmpty().Body().SetStr("b")

	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
	require.NoError(t, lrs.AppendEmpty().Attributes().FromRaw(nested(3)))
	wide := lrs.AppendEmpty().Attributes()
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		wide.PutStr(k, "v")
	}
	lrs.AppendEmpty().Body().SetStr("clean")
	return ld
}

func TestTelemetry_GuardrailHitsByGuardrailAndAction(t *testing.T) {
	for _, action := range []GuardrailAction{GuardrailReplaceSubtree, GuardrailDrop, GuardrailWarn} {
		t.Run(string(action), func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxDepth = 2
			cfg.MaxKeysScanned = 5
			cfg.OnGuardrailExceeded = action
			p := newObservedProcessor(t, cfg)

			out, err := p.processLogs(context.Background(), guardrailBatch(t))
			require.NoError(t, err)

			assert.Equal(t, map[string]int64{
				"action=" + string(action) + ",guardrail=max_depth":        3, // both records of the deep resource, one record
				"action=" + string(action) + ",guardrail=max_keys_scanned": 1,
			}, p.counter(t, metricGuardrailHits))
			assert.Empty(t, p.counter(t, metricFailures))
			if action == GuardrailDrop {
				assert.Equal(t, 1, out.LogRecordCount())
				assert.Equal(t, map[string]int64{"reason=guardrail": 4}, p.counter(t, metricRecordsDropped))
			} else {
				assert.Equal(t, 5, out.LogRecordCount())
				assert.Empty(t, p.counter(t, metricRecordsDropped))
			}

			warned := p.warnings.FilterMessage("redact: guardrail exceeded").All()
			require.Len(t, warned, 1, "one warning for the batch")
			assert.Equal(t, map[string]any{
				"records_over_max_depth":        int64(3),
				"records_over_max_keys_scanned": int64(1),
				"on_guardrail_exceeded":         string(action),
				"next_warning_after":            warnInterval,
			}, warned[0].ContextMap())
		})
	}
}

// failingBatch: a resource whose walk fails, with two records, then a resource with a record whose walk fails
// and one with a URL credential.
func failingBatch(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	bad := ld.ResourceLogs().AppendEmpty()
	bad.Resource().Attributes().PutStr("boom", "1")
	lrs := bad.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("a")
	lrs.AppendEmpty().Body().SetStr("b")

	lrs = ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Attributes().PutStr("boom", "1")
	lrs.AppendEmpty().Attributes().PutStr("dsn", "https://u:p@h/")
	return ld
}

func TestTelemetry_FailuresByOutcome(t *testing.T) {
	for _, tt := range []struct {
		mode     FailMode
		outcome  string
		kept     int
		warnings int
	}{
		{FailModeWarn, "passed", 4, 1},
		{FailModeOpen, "passed", 4, 0},
		{FailModeClosed, "dropped", 1, 1},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			cfg := testConfig()
			cfg.FailMode = tt.mode
			p := newObservedProcessor(t, cfg)
			p.testHook = func(attrs pcommon.Map) {
				if _, ok := attrs.Get("boom"); ok {
					panic("redactor exploded")
				}
			}

			out, err := p.processLogs(context.Background(), failingBatch(t))
			require.NoError(t, err)
			assert.Equal(t, tt.kept, out.LogRecordCount())

			assert.Equal(t, map[string]int64{"outcome=" + tt.outcome: 3}, p.counter(t, metricFailures))
			assert.Equal(t, map[string]int64{"redactor=url_credentials": 1}, p.counter(t, metricFieldsRedacted))
			if tt.mode == FailModeClosed {
				assert.Equal(t, map[string]int64{"reason=failure": 3}, p.counter(t, metricRecordsDropped))
			} else {
				assert.Empty(t, p.counter(t, metricRecordsDropped))
			}

			warned := p.warnings.FilterMessage("redact: redaction failed").All()
			require.Len(t, warned, tt.warnings)
			if tt.warnings > 0 {
				assert.Equal(t, map[string]any{
					"records":            int64(3),
					"first_error":        "redactor exploded",
					"first_error_in":     "resource",
					"fail_mode":          string(tt.mode),
					"next_warning_after": warnInterval,
				}, warned[0].ContextMap())
			}
		})
	}
}

func TestTelemetry_WarningsAreRateLimitedNotPerRecordOrBatch(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDepth = 1
	cfg.OnGuardrailExceeded = GuardrailDrop
	p := newObservedProcessor(t, cfg)
	for i := 0; i < 5; i++ {
		_, err := p.processLogs(context.Background(), logsOf(t, nested(2), nil, nil))
		require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
	}
	assert.Equal(t, 1, p.warnings.FilterMessage("redact: guardrail exceeded").Len())
	assert.Equal(t, 1, p.warnings.FilterMessage("redact: dropped log records").Len())
	assert.Equal(t, map[string]int64{"reason=guardrail": 5}, p.counter(t, metricRecordsDropped),
		"the metrics count what the warnings leave out")
}

func TestTelemetry_NothingToCountRecordsNothing(t *testing.T) {
	p := newObservedProcessor(t, testConfig())
	_, err := p.processLogs(context.Background(), logsOf(t, map[string]any{"msg": strings.Repeat("x", 100)}, "hi", nil))
	require.NoError(t, err)
	for _, name := range []string{metricFieldsRedacted, metricGuardrailHits, metricFailures, metricRecordsDropped} {
		assert.Empty(t, p.counter(t, name), name)
	}
}

func TestTelemetry_FactoryRecordsThroughTheCollectorsMeterProviderPerComponentID(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	// Two redact processors in one collector share its MeterProvider.
	for name, records := range map[string]int{"a": 1, "b": 3} {
		set := processortest.NewNopSettings(metadata.Type)
		set.ID = component.NewIDWithName(metadata.Type, name)
		set.MeterProvider = mp
		lp, err := NewFactory().CreateLogs(context.Background(), set, createDefaultConfig(), consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))
		for i := 0; i < records; i++ {
			require.NoError(t, lp.ConsumeLogs(context.Background(), logsOf(t, map[string]any{"dsn": "https://u:p@h/"}, nil, nil)))
		}
		require.NoError(t, lp.Shutdown(context.Background()))
	}

	assert.Equal(t, map[string]int64{"redactor=url_credentials": 1}, readCounter(t, reader, metricFieldsRedacted, "redact/a"))
	assert.Equal(t, map[string]int64{"redactor=url_credentials": 3}, readCounter(t, reader, metricFieldsRedacted, "redact/b"))
}

// TestTelemetry_InstrumentsMatchMetadataAndDocumentation keeps the hand-written telemetry builder and
// documentation.md in step with metadata.yaml, as mdatagen would by generating both.
func TestTelemetry_InstrumentsMatchMetadataAndDocumentation(t *testing.T) {
	type declared struct {
		Stability   string   `mapstructure:"stability"`
		Description string   `mapstructure:"description"`
		Unit        string   `mapstructure:"unit"`
		Attributes  []string `mapstructure:"attributes"`
		Enabled     bool     `mapstructure:"enabled"`
		Sum         struct {
			ValueType string `mapstructure:"value_type"`
			Monotonic bool   `mapstructure:"monotonic"`
		} `mapstructure:"sum"`
	}
	var md struct {
		Attributes map[string]struct {
			Description string   `mapstructure:"description"`
			Type        string   `mapstructure:"type"`
			Enum        []string `mapstructure:"enum"`
		} `mapstructure:"attributes"`
		Telemetry struct {
			Metrics map[string]declared `mapstructure:"metrics"`
		} `mapstructure:"telemetry"`
	}
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	require.Len(t, md.Telemetry.Metrics, 4)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = mp
	tb, err := metadata.NewTelemetryBuilder(set)
	require.NoError(t, err)
	defer tb.Shutdown()
	ctx := context.Background()
	tb.FapilogProcessorRedactFailures.Add(ctx, 1)
	tb.FapilogProcessorRedactFieldsRedacted.Add(ctx, 1)
	tb.FapilogProcessorRedactGuardrailHits.Add(ctx, 1)
	tb.FapilogProcessorRedactRecordsDropped.Add(ctx, 1)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, metadata.ScopeName, rm.ScopeMetrics[0].Scope.Name)
	got := map[string]metricdata.Metrics{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		got[m.Name] = m
	}

	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	for key, want := range md.Telemetry.Metrics {
		name := "otelcol_" + key
		m, ok := got[name]
		require.True(t, ok, "%s is declared but not created", name)
		assert.True(t, want.Enabled, key)
		assert.Equal(t, "alpha", want.Stability, key)
		assert.Equal(t, want.Description+" [Alpha]", m.Description, key)
		assert.Equal(t, want.Unit, m.Unit, key)
		sum, ok := m.Data.(metricdata.Sum[int64])
		require.True(t, ok, key)
		assert.Equal(t, "int", want.Sum.ValueType, key)
		assert.Equal(t, want.Sum.Monotonic, sum.IsMonotonic, key)

		section := "### " + name + "\n\n" + want.Description + "\n\n" +
			"| Unit | Metric Type | Value Type | Monotonic | Stability |\n" +
			"| ---- | ----------- | ---------- | --------- | --------- |\n" +
			"| " + want.Unit + " | Sum | Int | true | Alpha |\n\n#### Attributes\n\n" +
			"| Name | Description | Values | Semantic Convention |\n" +
			"| ---- | ----------- | ------ | ------------------- |\n"
		for _, a := range want.Attributes {
			attr, ok := md.Attributes[a]
			require.True(t, ok, "%s: attribute %s is not declared", key, a)
			values := "Any Str"
			if len(attr.Enum) > 0 {
				values = "Str: ``" + strings.Join(attr.Enum, "``, ``") + "``"
			}
			section += "| " + a + " | " + attr.Description + " | " + values + " | - |\n"
		}
		assert.Contains(t, string(doc), section, "documentation.md for %s", key)
	}
	assert.Len(t, got, len(md.Telemetry.Metrics), "every instrument is declared")
}
