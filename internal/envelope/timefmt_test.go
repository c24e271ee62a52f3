package envelope

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The cached form must write exactly what the uncached one (and time.AppendFormat) writes, whatever order
// the records' times come in: within one second, across seconds, before 1970 and outside years 0-9999.
func TestTimestampCache_WritesWhatAppendTimestampWrites(t *testing.T) {
	base := time.Date(2026, 12, 3, 7, 27, 38, 908_123_456, time.UTC)
	times := []time.Time{
		base, base.Add(time.Millisecond), base.Add(91 * time.Millisecond), // same second
		base.Add(time.Second), base, // the next second, then back
		base.Add(-base.Sub(time.Unix(0, 0)) - 1), // 1969-12-31T23:59:59.999: a negative Unix second
		time.Unix(-1, 5e8).UTC(),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		base.In(time.FixedZone("UTC+5", 5*3600)), // another zone: written in UTC
		base,
	}
	var c timestampCache
	for _, ts := range times {
		want := string(appendTimestamp(nil, ts))
		assert.Equal(t, want, string(c.appendTimestamp(nil, ts)), ts.String())
		if y := ts.UTC().Year(); y >= 0 && y <= 9999 {
			assert.Equal(t, ts.UTC().Format(timestampLayout), want)
		}
	}
}
