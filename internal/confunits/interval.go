package confunits

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// Interval is a rotation period: a Go duration ("90m"), a number of seconds (fapilog's interval_seconds), or
// one of fapilog's keywords hourly, daily, midnight (daily at 00:00) and weekly (Mondays at 00:00).
// The zero Interval means no time-based rotation.
type Interval struct {
	// Period is the length of one interval.
	Period time.Duration `mapstructure:"-"`
	// Keyword is the fapilog keyword the interval was written as, empty for a plain duration.
	Keyword string `mapstructure:"-"`
}

var _ confmap.ScalarUnmarshaler = (*Interval)(nil)

// ParseInterval parses a keyword, a Go duration or a number of seconds.
func ParseInterval(s string) (Interval, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	switch text {
	case "":
		return Interval{}, nil
	case "hourly":
		return Interval{Period: time.Hour, Keyword: text}, nil
	case "daily", "midnight":
		return Interval{Period: 24 * time.Hour, Keyword: text}, nil
	case "weekly":
		return Interval{Period: 7 * 24 * time.Hour, Keyword: text}, nil
	}
	if seconds, err := strconv.ParseFloat(text, 64); err == nil {
		return intervalFromSeconds(seconds)
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: want hourly, daily, weekly, midnight, a duration such as 90m, or seconds", s)
	}
	if d < 0 {
		return Interval{}, fmt.Errorf("invalid interval %q: must not be negative", s)
	}
	return Interval{Period: d}, nil
}

func intervalFromSeconds(seconds float64) (Interval, error) {
	if seconds < 0 || math.IsNaN(seconds) || seconds > math.MaxInt64/float64(time.Second) {
		return Interval{}, fmt.Errorf("invalid interval %v seconds", seconds)
	}
	return Interval{Period: time.Duration(seconds * float64(time.Second))}, nil
}

// UnmarshalScalar accepts a number of seconds or a string (keyword, duration or seconds).
func (iv *Interval) UnmarshalScalar(v confmap.ScalarValue) error {
	var err error
	switch raw := v.GetRaw().(type) {
	case nil:
		*iv = Interval{}
	case int:
		*iv, err = intervalFromSeconds(float64(raw))
	case int64:
		*iv, err = intervalFromSeconds(float64(raw))
	case uint64:
		*iv, err = intervalFromSeconds(float64(raw))
	case float64:
		*iv, err = intervalFromSeconds(raw)
	case string:
		*iv, err = ParseInterval(raw)
	case time.Duration:
		*iv = Interval{Period: raw}
	default:
		err = fmt.Errorf("invalid interval %v (%T)", raw, raw)
	}
	return err
}

// Enabled reports whether time-based rotation is on.
func (iv Interval) Enabled() bool { return iv.Period > 0 }

// Next returns the first interval boundary strictly after t, in loc's wall clock: the next full hour, the next
// midnight, the next Monday midnight, or the next multiple of Period counted from midnight (for periods that
// divide a day) or from the Unix epoch (otherwise).
func (iv Interval) Next(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	switch {
	case iv.Keyword == "weekly":
		daysSinceMonday := (int(t.Weekday()) + 6) % 7
		return midnight.AddDate(0, 0, 7-daysSinceMonday)
	case iv.Period == 24*time.Hour:
		return midnight.AddDate(0, 0, 1)
	case iv.Period < 24*time.Hour && (24*time.Hour)%iv.Period == 0:
		elapsed := t.Sub(midnight)
		next := midnight.Add((elapsed/iv.Period + 1) * iv.Period)
		if nextMidnight := midnight.AddDate(0, 0, 1); next.After(nextMidnight) {
			return nextMidnight // a DST day shorter than 24h
		}
		return next
	default:
		_, offset := t.Zone()
		local := t.UnixNano() + int64(offset)*int64(time.Second)
		p := int64(iv.Period)
		return time.Unix(0, (local/p+1)*p-int64(offset)*int64(time.Second)).In(loc)
	}
}

// String renders the interval the way the user wrote it.
func (iv Interval) String() string {
	if iv.Keyword != "" {
		return iv.Keyword
	}
	return iv.Period.String()
}
