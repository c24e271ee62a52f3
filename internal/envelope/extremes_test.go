package envelope

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The inputs SPEC section 7 calls bad: each must encode to valid JSON with nothing lost.
func TestEncode_ExtremeInputsStayValidAndComplete(t *testing.T) {
	t.Run("5 MB body", func(t *testing.T) {
		body := strings.Repeat("x\"\n\xff", 5<<20/4)
		env := decoded(t, build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetStr(body) }))
		assert.Equal(t, roundTrip(body), env["message"])
	})
	t.Run("10,000 attributes", func(t *testing.T) {
		env := decoded(t, build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			for i := 0; i < 10_000; i++ {
				lr.Attributes().PutInt("attr"+strconv.Itoa(i), int64(i))
			}
		}))
		data := env["data"].(map[string]any)
		assert.Len(t, data, 10_000)
		assert.Equal(t, float64(9_999), data["attr9999"])
	})
	t.Run("nesting depth 1,000", func(t *testing.T) {
		ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			m := lr.Attributes().PutEmptyMap("deep")
			for i := 0; i < 1000; i++ {
				m = m.PutEmptyMap("d")
			}
			m.PutStr("leaf", "bottom")
		})
		out := entryOf(ld).AppendJSON(nil)
		require.True(t, json.Valid(out))
		assert.Equal(t, 1000, strings.Count(string(out), `"d":{`), "every level kept")
		assert.Contains(t, string(out), `{"leaf":"bottom"}`)
	})
	t.Run("empty record", func(t *testing.T) {
		env := decoded(t, build(func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {}))
		assert.Equal(t, "", env["message"])
		assert.Equal(t, "INFO", env["level"])
		assert.Equal(t, map[string]any{}, env["data"])
	})
}
