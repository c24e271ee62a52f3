package redact

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

func TestFactory_CreatesAWorkingLogsProcessor(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())

	sink := new(consumertest.LogsSink)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Presets = []string{"CREDENTIALS"}
	lp, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	assert.True(t, lp.Capabilities().MutatesData)
	require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))

	require.NoError(t, lp.ConsumeLogs(context.Background(),
		logsOf(t, map[string]any{"password": "p", "dsn": "postgres://u:p@db/x"}, "hello", nil)))
	require.Len(t, sink.AllLogs(), 1)
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, map[string]any{"password": "***", "dsn": "postgres://db/x"}, lr.Attributes().AsRaw())
	require.NoError(t, lp.Shutdown(context.Background()))
}

func TestFactory_InvalidConfigFailsCreation(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Redactors = []RedactorConfig{regexMask("(")}
	_, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	assert.ErrorContains(t, err, `redactors[0].regex_mask.patterns[0]: invalid regex "("`)
}

func TestDefaultConfig_IsURLCredentialsOnly(t *testing.T) {
	p := newTestProcessor(t, testConfig())
	got := run(t, p, map[string]any{"password": "hunter2", "url": "https://u:p@h/"}, "see https://a:b@c/", nil)
	assert.Equal(t, map[string]any{"password": "hunter2", "url": "https://h/"}, got.attrs)
	assert.Equal(t, "see https://c/", got.body)
}

func TestEmptyRedactorList_TurnsRedactionOff(t *testing.T) {
	p := newTestProcessor(t, testConfig([]RedactorConfig{}...))
	got := run(t, p, map[string]any{"url": "https://u:p@h/"}, nil, nil)
	assert.Equal(t, map[string]any{"url": "https://u:p@h/"}, got.attrs)
}

// nested builds a chain of maps `levels` deep: {"l": {"l": ... {"secret": "s"}}}.
func nested(levels int) map[string]any {
	m := map[string]any{"dsn": "https://u:p@h/"}
	for i := 1; i < levels; i++ {
		m = map[string]any{"l": m}
	}
	return m
}

func TestGuardrail_MaxDepth(t *testing.T) {
	t.Run("within the limit everything is walked", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxDepth = 3
		got := run(t, newTestProcessor(t, cfg), nested(3), nil, nil)
		assert.Equal(t, map[string]any{"l": map[string]any{"l": map[string]any{"dsn": "https://h/"}}}, got.attrs)
	})
	t.Run("replace_subtree replaces the container that is too deep", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxDepth = 2
		got := run(t, newTestProcessor(t, cfg), nested(3), nil, nil)
		assert.Equal(t, map[string]any{"l": map[string]any{"l": guardrailMarker}}, got.attrs)
	})
	t.Run("drop drops the record", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxDepth = 2
		cfg.OnGuardrailExceeded = GuardrailDrop
		p := newObservedProcessor(t, cfg)
		assert.True(t, run(t, p.redactProcessor, nested(3), nil, nil).dropped)
		assert.Equal(t, map[string]int64{"reason=guardrail": 1}, p.counter(t, "fapilog_processor_redact_records_dropped"))
	})
	t.Run("warn leaves the deep part as it is", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxDepth = 2
		cfg.OnGuardrailExceeded = GuardrailWarn
		p := newObservedProcessor(t, cfg)
		got := run(t, p.redactProcessor, nested(3), nil, nil)
		assert.Equal(t, normalize(t, nested(3)), got.attrs)
		require.Equal(t, 1, p.warnings.FilterMessage("redact: guardrail exceeded").Len())
		assert.Equal(t, map[string]int64{"action=warn,guardrail=max_depth": 1},
			p.counter(t, "fapilog_processor_redact_guardrail_hits"))
	})
	t.Run("a deep body counts too", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxDepth = 1
		got := run(t, newTestProcessor(t, cfg), nil, map[string]any{"a": map[string]any{"b": "c"}, "d": "e"}, nil)
		assert.Equal(t, map[string]any{"a": guardrailMarker, "d": "e"}, got.body)
	})
}

func TestGuardrail_MaxKeysScanned(t *testing.T) {
	attrs := map[string]any{}
	for i := 0; i < 10; i++ {
		attrs[fmt.Sprintf("k%02d", i)] = "https://u:p@h/"
	}
	t.Run("replace_subtree replaces every value not scanned", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxKeysScanned = 4
		got := run(t, newTestProcessor(t, cfg), attrs, map[string]any{"later": "x"}, nil)
		redactedCount, markerCount := 0, 0
		for _, v := range got.attrs {
			switch v {
			case "https://h/":
				redactedCount++
			case guardrailMarker:
				markerCount++
			}
		}
		assert.Equal(t, 4, redactedCount)
		assert.Equal(t, 6, markerCount)
		assert.Equal(t, map[string]any{"later": guardrailMarker}, got.body, "the budget is per record, attributes and body together")
	})
	t.Run("drop", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxKeysScanned = 4
		cfg.OnGuardrailExceeded = GuardrailDrop
		assert.True(t, run(t, newTestProcessor(t, cfg), attrs, nil, nil).dropped)
	})
	t.Run("warn stops scanning and keeps the rest", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxKeysScanned = 4
		cfg.OnGuardrailExceeded = GuardrailWarn
		got := run(t, newTestProcessor(t, cfg), attrs, nil, nil)
		unchanged := 0
		for _, v := range got.attrs {
			if v == "https://u:p@h/" {
				unchanged++
			}
		}
		assert.Equal(t, 6, unchanged)
	})
	t.Run("the budget resets for every record", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxKeysScanned = 10
		p := newTestProcessor(t, cfg)
		for i := 0; i < 3; i++ {
			got := run(t, p, attrs, nil, nil)
			for _, v := range got.attrs {
				assert.Equal(t, "https://h/", v)
			}
		}
	})
}

func TestFailMode(t *testing.T) {
	boom := func(attrs pcommon.Map) {
		if _, ok := attrs.Get("boom"); ok {
			panic("redactor exploded")
		}
	}
	for _, tt := range []struct {
		mode     FailMode
		dropped  bool
		warnings int
		outcome  string
	}{
		{FailModeWarn, false, 1, "outcome=passed"},
		{FailModeOpen, false, 0, "outcome=passed"},
		{FailModeClosed, true, 1, "outcome=dropped"},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			cfg := testConfig()
			cfg.FailMode = tt.mode
			p := newObservedProcessor(t, cfg)
			p.testHook = boom

			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			lrs.AppendEmpty().Attributes().PutStr("boom", "1")
			lrs.AppendEmpty().Attributes().PutStr("dsn", "https://u:p@h/")
			out, err := p.processLogs(context.Background(), ld)
			require.NoError(t, err)
			if tt.dropped {
				require.Equal(t, 1, out.LogRecordCount())
				assert.Equal(t, map[string]any{"dsn": "https://h/"}, out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw())
			} else {
				assert.Equal(t, 2, out.LogRecordCount())
			}
			assert.Equal(t, tt.warnings, p.warnings.FilterMessage("redact: redaction failed").Len())
			assert.Equal(t, map[string]int64{tt.outcome: 1}, p.counter(t, "fapilog_processor_redact_failures"))
		})
	}
}

func TestDroppingEveryRecordSkipsTheNextConsumer(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDepth = 1
	cfg.OnGuardrailExceeded = GuardrailDrop
	sink := new(consumertest.LogsSink)
	lp, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, lp.ConsumeLogs(context.Background(), logsOf(t, nested(2), nil, nil)))
	assert.Empty(t, sink.AllLogs())
}

func TestDrops_RemoveEmptyScopesAndResources(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDepth = 1
	cfg.OnGuardrailExceeded = GuardrailDrop
	p := newObservedProcessor(t, cfg)

	ld := plog.NewLogs()
	bad := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, bad.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().FromRaw(nested(2)))
	good := ld.ResourceLogs().AppendEmpty()
	good.Resource().Attributes().PutStr("service.name", "ok")
	good.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("fine")
	deepResource := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, deepResource.Resource().Attributes().FromRaw(nested(2)))
	deepResource.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("dropped with its resource")

	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	require.Equal(t, 1, out.ResourceLogs().Len())
	assert.Equal(t, "fine", out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
	assert.Equal(t, map[string]int64{"reason=guardrail": 2}, p.counter(t, "fapilog_processor_redact_records_dropped"))
}

func TestRecordsWithoutSecretsComeOutIdentical(t *testing.T) {
	cfg := testConfig(fieldMask("", "password"), regexMask(`(?i).*secret.*`), urlCreds(4096), fieldBlocker(nil, nil),
		truncateAt(1000), valuePatternsRedactor("card_number", "aws_access_key", "jwt", "bearer_token", "private_key", "email"))
	cfg.Presets = []string{"CREDENTIALS", "PCI_DSS"}
	p := newTestProcessor(t, cfg)
	ld := logsOf(t,
		map[string]any{"user": "alice", "n": int64(42), "ok": true, "ratio": 0.5, "tags": []any{"a", "b"}, "m": map[string]any{"x": "y"}},
		"GET /api/users/12345 200 in 3ms",
		map[string]any{"service.name": "api", "host.name": "h1"})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutEmptyBytes("raw_bytes").FromRaw([]byte{1, 2, 3})
	before := jsonOf(t, ld)
	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, before, jsonOf(t, out))
}

func TestConcurrentUseIsSafe(t *testing.T) {
	cfg := testConfig(regexMask(`(?i).*secret.*`), fieldMask("", "data.users[*].ssn"), valuePatternsRedactor())
	cfg.Presets = []string{"CREDENTIALS"}
	p := newObservedProcessor(t, cfg)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := fmt.Sprintf("k%d_%d", g, i%50)
				ld := logsOf(t, map[string]any{key + "_secret": "s", key: "v", "users": []any{map[string]any{"ssn": "1"}}}, "card "+testVisa, nil)
				out, err := p.processLogs(context.Background(), ld)
				if !assert.NoError(t, err) {
					return
				}
				lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
				assert.Equal(t, map[string]any{key + "_secret": "***", key: "v", "users": []any{map[string]any{"ssn": "***"}}}, lr.Attributes().AsRaw())
				assert.Equal(t, "card [REDACTED:card_number]", lr.Body().Str())
			}
		}(g)
	}
	wg.Wait()
	// Each goroutine counts in its own pooled walker and adds once per batch: no count is lost or doubled.
	assert.Equal(t, map[string]int64{
		"redactor=regex_mask":                      8 * 200,
		"redactor=field_mask":                      8 * 200,
		"kind=card_number,redactor=value_patterns": 8 * 200,
	}, p.counter(t, "fapilog_processor_redact_fields_redacted"))
}
