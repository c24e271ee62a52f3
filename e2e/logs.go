package e2e

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// NumberedLogs makes n records "<prefix> <i>" with attribute seq=i and a unique log.record.uid "<prefix>-<i>",
// so a test can tell exactly which records arrived and how often.
func NumberedLogs(prefix string, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "e2e")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("e2e." + prefix)
	now := time.Now()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(fmt.Sprintf("%s %d", prefix, i))
		lr.Attributes().PutInt("seq", int64(i))
		lr.Attributes().PutStr("log.record.uid", fmt.Sprintf("%s-%d", prefix, i))
	}
	return ld
}
