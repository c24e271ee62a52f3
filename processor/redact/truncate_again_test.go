package redact

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Running the processor again over what it truncated changes nothing, and so counts nothing: fields_redacted
// counts values a redactor changed.
func TestTelemetry_TruncatingAnAlreadyTruncatedStringIsNotCounted(t *testing.T) {
	p := newObservedProcessor(t, testConfig(truncateAt(10)))
	ld := logsOf(t, map[string]any{"note": "0123456789 and much more"}, "short", nil)

	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	attrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	note, _ := attrs.Get("note")
	require.Equal(t, "0123456789[truncated]", note.Str())
	assert.Equal(t, map[string]int64{"redactor=string_truncate": 1}, p.counter(t, metricFieldsRedacted))

	again, err := p.processLogs(context.Background(), out)
	require.NoError(t, err)
	note, _ = again.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("note")
	assert.Equal(t, "0123456789[truncated]", note.Str(), "a second pass leaves the value as it is")
	assert.Equal(t, map[string]int64{"redactor=string_truncate": 1}, p.counter(t, metricFieldsRedacted),
		"and counts no change")
}
