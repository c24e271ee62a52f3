package envelope

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Every severity number maps as the README's table says: 1-8 DEBUG, 9-12 INFO, 13-16 WARNING, 17-20 ERROR,
// 21-24 CRITICAL, unspecified INFO; each range's first and last number included.
func TestLevelOfSeverityNumber_EveryNumberOfEachRange(t *testing.T) {
	want := func(n int) string {
		switch {
		case n == 0:
			return LevelInfo
		case n <= 8:
			return LevelDebug
		case n <= 12:
			return LevelInfo
		case n <= 16:
			return LevelWarning
		case n <= 20:
			return LevelError
		default:
			return LevelCritical
		}
	}
	for n := 0; n <= 24; n++ {
		number := plog.SeverityNumber(n)
		assert.Equal(t, want(n), levelOf("", number), number.String())
	}
}
