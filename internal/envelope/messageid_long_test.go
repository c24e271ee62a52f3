package envelope

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The golden id of a record whose strings are 128 bytes and longer: their lengths take the multi-byte form of the
// length prefix, which the short strings of richRecord never reach.
func TestMessageID_GoldenForLongStringsForThisVersion(t *testing.T) {
	require.Equal(t, 2, MessageIDVersion)
	ld := build(func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
		richRecord(res, scope, lr)
		lr.Body().SetStr(strings.Repeat("b", 128))
		lr.Attributes().PutStr("long", strings.Repeat("l", 300))
	})
	assert.Equal(t, "567274fb-09f2-82b3-ac83-006082613fc1", derivedID(ld))
}
