package plogsubset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestSelect_KeepsChosenRecordsWithTheirResourceAndScope(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 2; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("resource", int64(r))
		rl.SetSchemaUrl("https://schema/r")
		for s := 0; s < 2; s++ {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("scope" + string(rune('A'+r*2+s)))
			for i := 0; i < 2; i++ {
				sl.LogRecords().AppendEmpty().Body().SetInt(int64(r*4 + s*2 + i))
			}
		}
	}
	// Keep records 1, 2 and 7: scopes A, B of resource 0 and scope D of resource 1; scope C disappears.
	out := Select(ld, func(i int) bool { return i == 1 || i == 2 || i == 7 })
	assert.Equal(t, 3, out.LogRecordCount())
	assert.Equal(t, 2, out.ResourceLogs().Len())
	r0 := out.ResourceLogs().At(0)
	assert.Equal(t, "https://schema/r", r0.SchemaUrl())
	v, _ := r0.Resource().Attributes().Get("resource")
	assert.EqualValues(t, 0, v.Int())
	assert.Equal(t, 2, r0.ScopeLogs().Len())
	assert.Equal(t, "scopeA", r0.ScopeLogs().At(0).Scope().Name())
	assert.EqualValues(t, 1, r0.ScopeLogs().At(0).LogRecords().At(0).Body().Int())
	assert.EqualValues(t, 2, r0.ScopeLogs().At(1).LogRecords().At(0).Body().Int())
	r1 := out.ResourceLogs().At(1)
	assert.Equal(t, 1, r1.ScopeLogs().Len())
	assert.Equal(t, "scopeD", r1.ScopeLogs().At(0).Scope().Name())
	assert.EqualValues(t, 7, r1.ScopeLogs().At(0).LogRecords().At(0).Body().Int())

	assert.Equal(t, 0, Select(ld, func(int) bool { return false }).LogRecordCount())
}
