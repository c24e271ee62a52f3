package envelope

import "time"

// appendTimestamp writes t in UTC as 2006-01-02T15:04:05.000Z. It is time.AppendFormat's result for the
// envelope layout, written directly because formatting is a visible share of the encoding cost.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, timestampLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// timestampCache keeps the text of the last second appendTimestamp wrote ("2006-01-02T15:04:05."): the records
// of a batch mostly share their second, and the date and clock are most of the cost of the envelope's timestamp.
type timestampCache struct {
	second int64
	text   [len("2006-01-02T15:04:05.")]byte
	ok     bool
}

// appendTimestamp writes t as appendTimestamp does, the second from the cache when it is the cached one.
func (c *timestampCache) appendTimestamp(dst []byte, t time.Time) []byte {
	if sec := t.Unix(); !c.ok || sec != c.second {
		if year := t.UTC().Year(); year < 0 || year > 9999 {
			return appendTimestamp(dst, t) // time.AppendFormat's rendering, rare: not cached
		}
		var full [len("2006-01-02T15:04:05.000Z")]byte
		copy(c.text[:], appendTimestamp(full[:0], t))
		c.second, c.ok = sec, true
	}
	ms := t.Nanosecond() / 1e6
	dst = append(dst, c.text[:]...)
	return append(dst, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// prettyTimeCache keeps the console's "2006-01-02 15:04:05" of the last second written: the records of a batch
// mostly fall within one second, and time.AppendFormat in a location is the costly part of the console line.
type prettyTimeCache struct {
	second   int64
	location *time.Location
	text     []byte
}

// appendPrettyTime writes t's second in loc as the console shows it.
func (c *prettyTimeCache) appendPrettyTime(dst []byte, t time.Time, loc *time.Location) []byte {
	if sec := t.Unix(); c.text == nil || sec != c.second || loc != c.location {
		c.text = t.In(loc).AppendFormat(c.text[:0], prettyTimeLayout)
		c.second, c.location = sec, loc
	}
	return append(dst, c.text...)
}
