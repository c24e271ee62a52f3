package confunits

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// ByteSize is a number of bytes written as an integer or as "<number> <unit>" with B, KB, MB, GB or TB
// (1024-based, as in fapilog; KiB-style spellings are accepted too).
type ByteSize int64

var _ confmap.ScalarUnmarshaler = (*ByteSize)(nil)

var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseByteSize parses "10 MB", "512KB", "1.5 GB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	text := strings.TrimSpace(s)
	i := strings.IndexFunc(text, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(text)
	}
	number, unit := text[:i], strings.ToLower(strings.TrimSpace(text[i:]))
	mult, ok := byteUnits[unit]
	if number == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: want a number of bytes or a number with B, KB, MB, GB or TB", s)
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	v := f * mult
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return ByteSize(v), nil
}

// UnmarshalScalar accepts an integer, a float with no fraction, or a string with a unit.
func (b *ByteSize) UnmarshalScalar(v confmap.ScalarValue) error {
	switch raw := v.GetRaw().(type) {
	case nil:
		*b = 0
	case int:
		*b = ByteSize(raw)
	case int64:
		*b = ByteSize(raw)
	case uint64:
		*b = ByteSize(raw)
	case float64:
		if raw != math.Trunc(raw) {
			return fmt.Errorf("invalid size %v: bytes must be a whole number", raw)
		}
		*b = ByteSize(raw)
	case string:
		parsed, err := ParseByteSize(raw)
		if err != nil {
			return err
		}
		*b = parsed
	default:
		return fmt.Errorf("invalid size %v (%T)", raw, raw)
	}
	if *b < 0 {
		return fmt.Errorf("invalid size %d: must not be negative", *b)
	}
	return nil
}

// String renders the size the way the user would write it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		size ByteSize
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + " " + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + " B"
}
