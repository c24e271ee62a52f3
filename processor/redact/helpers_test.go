package redact

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

// testConfig returns the default config with the given redactors (nil keeps url_credentials only).
func testConfig(redactors ...RedactorConfig) *Config {
	cfg := createDefaultConfig().(*Config)
	if redactors != nil {
		cfg.Redactors = redactors
	}
	return cfg
}

func newTestProcessor(t testing.TB, cfg *Config) *redactProcessor {
	t.Helper()
	p, err := newRedactProcessor(cfg, processortest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	return p
}

// observedProcessor is a processor whose metrics (through a manual reader) and warnings a test reads.
type observedProcessor struct {
	*redactProcessor
	reader   *sdkmetric.ManualReader
	warnings *observer.ObservedLogs
}

func newObservedProcessor(t testing.TB, cfg *Config) *observedProcessor {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	core, warnings := observer.New(zapcore.WarnLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.MeterProvider = mp
	set.Logger = zap.New(core)
	p, err := newRedactProcessor(cfg, set)
	require.NoError(t, err)
	return &observedProcessor{redactProcessor: p, reader: reader, warnings: warnings}
}

// counter returns the data points of the processor's counter otelcol_<name> (see readCounter).
func (o *observedProcessor) counter(t testing.TB, name string) map[string]int64 {
	t.Helper()
	return readCounter(t, o.reader, name, "redact")
}

// readCounter returns the data points of the monotonic counter otelcol_<name> of the redact processor's scope
// recorded by the processor with the given component ID, keyed by their other attributes, encoded sorted by key
// ("action=drop,guardrail=max_depth"); an instrument that recorded nothing gives an empty map.
func readCounter(t testing.TB, reader *sdkmetric.ManualReader, name, processorID string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			if m.Name != "otelcol_"+name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s is a %T", m.Name, m.Data)
			require.True(t, sum.IsMonotonic, m.Name)
			require.Equal(t, metricdata.CumulativeTemporality, sum.Temporality, m.Name)
			for _, dp := range sum.DataPoints {
				if id, _ := dp.Attributes.Value("processor"); id.AsString() != processorID {
					continue
				}
				others, _ := dp.Attributes.Filter(func(kv attribute.KeyValue) bool { return kv.Key != "processor" })
				got[others.Encoded(attribute.DefaultEncoder())] = dp.Value
			}
		}
	}
	return got
}

func fieldMask(mask string, fields ...string) RedactorConfig {
	c := NewDefaultFieldMaskConfig()
	c.Fields = fields
	if mask != "" {
		c.Mask = mask
	}
	return RedactorConfig{FieldMask: &c}
}

func regexMask(patterns ...string) RedactorConfig {
	c := NewDefaultRegexMaskConfig()
	c.Patterns = patterns
	return RedactorConfig{RegexMask: &c}
}

func urlCreds(maxLen int) RedactorConfig {
	return RedactorConfig{URLCredentials: &URLCredentialsConfig{MaxStringLength: maxLen}}
}

func fieldBlocker(blocked, allowed []string) RedactorConfig {
	c := NewDefaultFieldBlockerConfig()
	if blocked != nil {
		c.BlockedFields = blocked
	}
	c.AllowedFields = allowed
	return RedactorConfig{FieldBlocker: &c}
}

func truncateAt(n int) RedactorConfig {
	c := NewDefaultStringTruncateConfig()
	c.MaxStringLength = n
	return RedactorConfig{StringTruncate: &c}
}

func valuePatternsRedactor(detect ...string) RedactorConfig {
	c := NewDefaultValuePatternsConfig()
	if detect != nil {
		c.Detect = detect
	}
	return RedactorConfig{ValuePatterns: &c}
}

const testHashKey = "0123456789abcdef0123456789abcdef"

func hashedValuePatterns(detect ...string) RedactorConfig {
	rc := valuePatternsRedactor(detect...)
	rc.ValuePatterns.Action = actionHash
	rc.ValuePatterns.HashKey = testHashKey
	return rc
}

// logsOf builds one record with the given attributes, body and resource attributes (raw Go values).
func logsOf(t testing.TB, attrs map[string]any, body any, resource map[string]any) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, rl.Resource().Attributes().FromRaw(resource))
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	require.NoError(t, lr.Attributes().FromRaw(attrs))
	if body != nil {
		require.NoError(t, lr.Body().FromRaw(body))
	}
	return ld
}

// redacted is what one record looks like after processing.
type redacted struct {
	attrs    map[string]any
	body     any
	resource map[string]any
	dropped  bool
}

func run(t testing.TB, p *redactProcessor, attrs map[string]any, body any, resource map[string]any) redacted {
	t.Helper()
	ld, err := p.processLogs(context.Background(), logsOf(t, attrs, body, resource))
	if err != nil || ld.LogRecordCount() == 0 {
		return redacted{dropped: true}
	}
	rl := ld.ResourceLogs().At(0)
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	return redacted{attrs: lr.Attributes().AsRaw(), body: lr.Body().AsRaw(), resource: rl.Resource().Attributes().AsRaw()}
}

// redactString runs a processor on a record whose body is s and returns the body.
func redactString(t testing.TB, p *redactProcessor, s string) string {
	t.Helper()
	return run(t, p, nil, s, nil).body.(string)
}

func jsonOf(t testing.TB, ld plog.Logs) string {
	t.Helper()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return string(b)
}
