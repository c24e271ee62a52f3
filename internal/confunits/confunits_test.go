package confunits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

type holder struct {
	Size     ByteSize `mapstructure:"size"`
	Interval Interval `mapstructure:"interval"`
}

func decode(t *testing.T, raw map[string]any) (holder, error) {
	t.Helper()
	var h holder
	err := confmap.NewFromStringMap(raw).Unmarshal(&h)
	return h, err
}

func TestByteSize_AcceptsIntegersAndUnits(t *testing.T) {
	for in, want := range map[any]ByteSize{
		1024: 1024, "10 MB": 10 << 20, "10MB": 10 << 20, "512 kb": 512 << 10, "1.5 GB": 3 << 29, "2 TB": 2 << 40,
		"100": 100, "100 B": 100, "1 MiB": 1 << 20, float64(2048): 2048,
	} {
		h, err := decode(t, map[string]any{"size": in})
		require.NoError(t, err, "%v", in)
		assert.Equal(t, want, h.Size, "%v", in)
	}
	for _, bad := range []any{"10 XB", "MB", "-5", -5, 1.5, "ten MB"} {
		_, err := decode(t, map[string]any{"size": bad})
		assert.Error(t, err, "%v", bad)
	}
	assert.Equal(t, "10 MB", ByteSize(10<<20).String())
	assert.Equal(t, "1000 B", ByteSize(1000).String())
}

func TestInterval_AcceptsKeywordsDurationsAndSeconds(t *testing.T) {
	for in, want := range map[any]Interval{
		"hourly": {time.Hour, "hourly"}, "daily": {24 * time.Hour, "daily"}, "midnight": {24 * time.Hour, "midnight"},
		"weekly": {7 * 24 * time.Hour, "weekly"}, "90m": {Period: 90 * time.Minute}, 3600: {Period: time.Hour},
		"3600": {Period: time.Hour}, "DAILY": {24 * time.Hour, "daily"}, "": {},
	} {
		h, err := decode(t, map[string]any{"interval": in})
		require.NoError(t, err, "%v", in)
		assert.Equal(t, want, h.Interval, "%v", in)
	}
	for _, bad := range []any{"fortnightly", "-1h", -3} {
		_, err := decode(t, map[string]any{"interval": bad})
		assert.Error(t, err, "%v", bad)
	}
}

func TestInterval_NextIsAlignedToTheBoundary(t *testing.T) {
	utc := time.UTC
	at := time.Date(2026, 3, 4, 10, 17, 30, 0, utc) // a Wednesday
	hourly, _ := ParseInterval("hourly")
	daily, _ := ParseInterval("daily")
	weekly, _ := ParseInterval("weekly")
	quarter, _ := ParseInterval("15m")
	odd, _ := ParseInterval("7m")
	assert.Equal(t, time.Date(2026, 3, 4, 11, 0, 0, 0, utc), hourly.Next(at, utc))
	assert.Equal(t, time.Date(2026, 3, 5, 0, 0, 0, 0, utc), daily.Next(at, utc))
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, utc), weekly.Next(at, utc), "next Monday")
	assert.Equal(t, time.Date(2026, 3, 4, 10, 30, 0, 0, utc), quarter.Next(at, utc))
	assert.Equal(t, time.Date(2026, 3, 4, 11, 0, 0, 0, utc), hourly.Next(time.Date(2026, 3, 4, 10, 0, 0, 0, utc), utc), "strictly after")
	next := odd.Next(at, utc)
	assert.True(t, next.After(at) && next.Sub(at) <= 7*time.Minute && next.UnixNano()%int64(7*time.Minute) == 0)

	tokyo := time.FixedZone("JST", 9*3600)
	assert.Equal(t, time.Date(2026, 3, 5, 0, 0, 0, 0, tokyo), daily.Next(at, tokyo), "local midnight when localtime is on")
}
