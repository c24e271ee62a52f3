package redact

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
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
	p, err := newRedactProcessor(cfg, zap.NewNop())
	require.NoError(t, err)
	return p
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
