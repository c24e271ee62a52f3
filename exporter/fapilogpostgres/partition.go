package fapilogpostgres

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Partition intervals accepted by partitioning.interval.
const (
	PartitionDay   = "day"
	PartitionWeek  = "week"
	PartitionMonth = "month"
)

// Partitioning defaults: pg_partman's premake of 4, and no retention (nothing is ever deleted unless asked).
const (
	defaultPartitionInterval = PartitionDay
	defaultPartitionPremake  = 4
	maxPartitionPremake      = 1000
)

// PartitioningConfig makes the table natively partitioned by range on its timestamp column.
type PartitioningConfig struct {
	// Interval is the span of one partition: day, week (ISO weeks, from Monday) or month, in UTC.
	Interval string `mapstructure:"interval"`
	// Retention drops a partition once all of its rows are older than this (0: keep every partition).
	Retention Retention `mapstructure:"retention"`
	// Premake is how many partitions after the current one exist ahead of time.
	Premake int `mapstructure:"premake"`
}

func newDefaultPartitioningConfig() PartitioningConfig {
	return PartitioningConfig{Interval: defaultPartitionInterval, Premake: defaultPartitionPremake}
}

func (p *PartitioningConfig) validate(c *Config) error {
	var errs []error
	switch p.Interval {
	case PartitionDay, PartitionWeek, PartitionMonth:
	default:
		errs = append(errs, fmt.Errorf("partitioning.interval: must be one of day, week, month, got %q", p.Interval))
	}
	if p.Retention < 0 {
		errs = append(errs, fmt.Errorf("partitioning.retention: must not be negative, got %s", p.Retention))
	}
	if p.Premake < 1 || p.Premake > maxPartitionPremake {
		errs = append(errs, fmt.Errorf("partitioning.premake: must be between 1 and %d, got %d", maxPartitionPremake, p.Premake))
	}
	hasTimestamp := false
	for _, f := range c.ExtractFields {
		hasTimestamp = hasTimestamp || f == "timestamp"
	}
	if !hasTimestamp {
		errs = append(errs, errors.New("partitioning: needs timestamp in extract_fields (the partition key)"))
	}
	return errors.Join(errs...)
}

// Retention is a duration written as Go does (720h) or in whole days or weeks (30d, 4w).
type Retention time.Duration

var retentionUnits = regexp.MustCompile(`^(\d+)\s*([dw])$`)

// UnmarshalText parses "2d", "4w" or a Go duration.
func (r *Retention) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if m := retentionUnits.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		days := map[string]int64{"d": 1, "w": 7}[m[2]]
		if err != nil || n > int64(time.Duration(1<<63-1)/(24*time.Hour))/days {
			return fmt.Errorf("invalid retention %q: too long", s)
		}
		*r = Retention(time.Duration(n*days) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid retention %q: want a number of days (30d), weeks (4w) or a duration such as 720h", s)
	}
	*r = Retention(d)
	return nil
}

// MarshalText writes the retention as a Go duration.
func (r Retention) MarshalText() ([]byte, error) { return []byte(time.Duration(r).String()), nil }

func (r Retention) String() string { return time.Duration(r).String() }

// partitionScheme is the time layout of the partitions: which range each one covers, and its name.
type partitionScheme struct {
	interval  string
	retention time.Duration
	premake   int
}

func newPartitionScheme(c PartitioningConfig) *partitionScheme {
	return &partitionScheme{interval: c.Interval, retention: time.Duration(c.Retention), premake: c.Premake}
}

// periodStart is the start of the partition range holding t: midnight UTC, Monday midnight UTC, or the first of
// the month at midnight UTC.
func (s *partitionScheme) periodStart(t time.Time) time.Time {
	t = t.UTC()
	switch s.interval {
	case PartitionMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case PartitionWeek:
		midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return midnight.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// next is the start of the range after the one starting at start.
func (s *partitionScheme) next(start time.Time) time.Time {
	switch s.interval {
	case PartitionMonth:
		return start.AddDate(0, 1, 0)
	case PartitionWeek:
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 0, 1)
}

// suffix names the range starting at start: p20260102 (day), p2026w01 (ISO week), p202601 (month). Names sort
// chronologically within a scheme.
func (s *partitionScheme) suffix(start time.Time) string {
	switch s.interval {
	case PartitionMonth:
		return start.Format("p200601")
	case PartitionWeek:
		year, week := start.ISOWeek()
		return fmt.Sprintf("p%04dw%02d", year, week)
	}
	return start.Format("p20060102")
}

// wanted lists the ranges that should exist at now: the previous one (records that arrive late around a boundary),
// the current one and premake after it, less those already past retention.
func (s *partitionScheme) wanted(now time.Time) []timeRange {
	current := s.periodStart(now)
	from := s.periodStart(current.Add(-time.Nanosecond))
	var out []timeRange
	for start, i := from, 0; i < s.premake+2; start, i = s.next(start), i+1 {
		r := timeRange{from: start, to: s.next(start)}
		if !s.expired(r, now) {
			out = append(out, r)
		}
	}
	return out
}

// expired reports whether every row a range can hold is older than the retention.
func (s *partitionScheme) expired(r timeRange, now time.Time) bool {
	return s.retention > 0 && !r.to.After(now.Add(-s.retention))
}

// timeRange is the half-open range [from, to) of one partition.
type timeRange struct{ from, to time.Time }

func (r timeRange) overlaps(o timeRange) bool { return r.from.Before(o.to) && o.from.Before(r.to) }

// sqlLiteral writes t as a timestamptz literal for a partition bound (bounds cannot be query parameters).
func sqlLiteral(t time.Time) string { return "'" + t.UTC().Format("2006-01-02 15:04:05Z07:00") + "'" }

// partitionBound matches pg_get_expr of a range partition's bound.
var partitionBound = regexp.MustCompile(`^FOR VALUES FROM \('([^']*)'\) TO \('([^']*)'\)$`)

// parseBound reads the range of a partition from pg_get_expr(relpartbound) rendered with TimeZone UTC. ok is false
// for the default partition, MINVALUE/MAXVALUE bounds and anything else that is not a timestamptz range.
func parseBound(expr string) (timeRange, bool) {
	m := partitionBound.FindStringSubmatch(expr)
	if m == nil {
		return timeRange{}, false
	}
	from, err1 := parseBoundTime(m[1])
	to, err2 := parseBoundTime(m[2])
	if err1 != nil || err2 != nil {
		return timeRange{}, false
	}
	return timeRange{from: from, to: to}, true
}

func parseBoundTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
}
