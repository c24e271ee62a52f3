// Package plogsubset copies chosen records of a batch, with their resource and scope, into a new batch: what a
// partial failure hands back to the exporter helper so that only the records not yet delivered are retried.
package plogsubset

import "go.opentelemetry.io/collector/pdata/plog"

// Select returns the records of ld for which keep(i) is true, i counting records across the whole batch in
// order. Resource and scope (with their schema URLs) are copied once per group that keeps any record.
func Select(ld plog.Logs, keep func(i int) bool) plog.Logs {
	out := plog.NewLogs()
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		var outRL plog.ResourceLogs
		haveRL := false
		for _, sl := range rl.ScopeLogs().All() {
			var outSL plog.ScopeLogs
			haveSL := false
			for _, lr := range sl.LogRecords().All() {
				if keep(i) {
					if !haveRL {
						outRL, haveRL = out.ResourceLogs().AppendEmpty(), true
						rl.Resource().CopyTo(outRL.Resource())
						outRL.SetSchemaUrl(rl.SchemaUrl())
					}
					if !haveSL {
						outSL, haveSL = outRL.ScopeLogs().AppendEmpty(), true
						sl.Scope().CopyTo(outSL.Scope())
						outSL.SetSchemaUrl(sl.SchemaUrl())
					}
					lr.CopyTo(outSL.LogRecords().AppendEmpty())
				}
				i++
			}
		}
	}
	return out
}
