package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStringTruncate_Boundary(t *testing.T) {
	p := newTestProcessor(t, testConfig(truncateAt(10)))
	tests := []struct {
		name, in, want string
	}{
		{"shorter", "short", "short"},
		{"exactly max is kept whole", "0123456789", "0123456789"},
		{"one longer is cut to max and the suffix appended (suffix not counted)", "0123456789X", "0123456789[truncated]"},
		{"characters, not bytes", "ééééééééééé", "éééééééééé[truncated]"},
		{"exactly max characters of multi-byte text", "éééééééééé", "éééééééééé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactString(t, p, tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, redactString(t, p, got), "truncating again changes nothing")
		})
	}
}

func TestStringTruncate_EveryStringAndCustomSuffix(t *testing.T) {
	rc := truncateAt(3)
	rc.StringTruncate.Suffix = "…"
	p := newTestProcessor(t, testConfig(rc))
	got := run(t, p, map[string]any{"a": "abcdef", "n": map[string]any{"l": []any{"xyzw", int64(12345)}}}, "message", map[string]any{"r": "resource"})
	assert.Equal(t, map[string]any{"a": "abc…", "n": map[string]any{"l": []any{"xyz…", int64(12345)}}}, got.attrs)
	assert.Equal(t, "mes…", got.body)
	assert.Equal(t, map[string]any{"r": "res…"}, got.resource)
}

func TestRedactors_RunInOrder(t *testing.T) {
	msg := "dsn https://user:pass@host/x"
	// Truncation first cuts the URL before url_credentials sees it.
	first := newTestProcessor(t, testConfig(truncateAt(20), urlCreds(4096)))
	assert.Equal(t, "dsn https://user:pas[truncated]", redactString(t, first, msg))
	second := newTestProcessor(t, testConfig(urlCreds(4096), truncateAt(20)))
	assert.Equal(t, "dsn https://host/x", redactString(t, second, msg))

	// A mask applied first hides the value from later value redactors.
	masked := newTestProcessor(t, testConfig(fieldMask("", "dsn"), urlCreds(4096)))
	got := run(t, masked, map[string]any{"dsn": msg, "other": msg}, nil, nil)
	assert.Equal(t, map[string]any{"dsn": "***", "other": "dsn https://host/x"}, got.attrs)
}
