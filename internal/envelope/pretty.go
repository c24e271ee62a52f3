package envelope

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const prettyTimeLayout = "2006-01-02 15:04:05"

// levelColor is the ANSI SGR code of each level on the console.
func levelColor(level string) string {
	switch level {
	case LevelDebug, LevelTrace:
		return "90"
	case LevelInfo:
		return "34"
	case LevelWarning:
		return "33"
	case LevelError:
		return "31"
	case LevelCritical:
		return "1;31"
	}
	return ""
}

// AppendPretty appends the human-readable console line:
// "YYYY-MM-DD HH:MM:SS | LEVEL    | message k=v k=v". The k=v pairs are the logger (when not root), the set
// context fields except message_id, and data flattened with dotted keys; values with spaces are single-quoted.
// An exception stack follows on indented lines.
func (e *Entry) AppendPretty(dst []byte, opts PrettyOptions) []byte {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	dst = e.prettyTime.appendPrettyTime(dst, e.timestamp, loc)
	dst = append(dst, " | "...)
	color := ""
	if opts.Colors {
		color = levelColor(e.level)
	}
	if color != "" {
		dst = append(dst, "\x1b["...)
		dst = append(dst, color...)
		dst = append(dst, 'm')
	}
	dst = appendPrettyText(dst, e.level, false) // a SeverityText of the sender's: it must not break the line
	for i := len(e.level); i < 8; i++ {
		dst = append(dst, ' ')
	}
	if color != "" {
		dst = append(dst, "\x1b[0m"...)
	}
	dst = append(dst, " | "...)
	if e.hasMessageBody {
		dst = appendPrettyText(dst, e.renderBody(), false)
	} else {
		dst = appendPrettyText(dst, e.message, false)
	}

	if e.logger != DefaultLogger {
		dst = appendPrettyPair(dst, "logger", e.logger)
	}
	ctx := &e.context
	for _, f := range [...]struct {
		key string
		val fieldRef
	}{{"correlation_id", ctx.correlationID}, {"request_id", ctx.requestID}, {"tenant_id", ctx.tenantID}, {"user_id", ctx.userID}} {
		if f.val.ok() {
			dst = appendPrettyValue(e, dst, f.key, e.value(f.val))
		}
	}
	if !e.traceID.IsEmpty() {
		dst = append(dst, " trace_id="...)
		dst = hex.AppendEncode(dst, e.traceID[:])
	}
	if !e.spanID.IsEmpty() {
		dst = append(dst, " span_id="...)
		dst = hex.AppendEncode(dst, e.spanID[:])
	}
	l := e.dataLayout()
	for _, i := range l.order {
		dst = appendFlattenedField(e, dst, e.fields.key(i), e.fields.values[i], 1)
	}

	if e.exception.errType.ok() {
		dst = appendPrettyValue(e, dst, "error.type", e.value(e.exception.errType))
	}
	if e.exception.errMessage.ok() {
		dst = appendPrettyValue(e, dst, "error.message", e.value(e.exception.errMessage))
	}
	dst = append(dst, '\n')
	if e.exception.errStack.ok() {
		for line := range strings.Lines(e.text(e.value(e.exception.errStack))) {
			// Each line of the stack on a line of its own, indented, with its control characters escaped like every
			// other value (tabs, common in stack traces, become spaces rather than "\t").
			dst = append(dst, "    "...)
			dst = appendPrettyText(dst, strings.ReplaceAll(strings.TrimRight(line, "\r\n"), "\t", "    "), false)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// The console flattens nested maps into dotted keys down to prettyMaxDepth levels, and only while the dotted key
// stays within prettyMaxKeyLen bytes; a map below that is written as compact JSON under the last flattened key.
// Every leaf repeats its key path, so without both bounds a deep or long-keyed map would make the line (and the
// memory to build it) grow with depth times leaves rather than with the record's size.
const (
	prettyMaxDepth  = 8
	prettyMaxKeyLen = 256
)

// appendFlattened writes the entries from base to the top of the scratch stack, sorted, as " key=value" pairs
// whose key is e.prettyKey (the dotted path so far) and the entry's own key, descending into maps.
func (e *Entry) appendFlattened(dst []byte, base, depth int) []byte {
	s := &e.scratch
	top := len(s.stack)
	s.sortEntries(base)
	for i := base; i < top; i++ {
		// Index the stack on every step: nested maps push above top and may move it.
		kv := s.sorted(i)
		if i > base && kv.key == s.sorted(i-1).key {
			continue
		}
		dst = appendFlattenedField(e, dst, kv.key, kv.value, depth)
	}
	return dst
}

// appendFlattenedField writes one field at depth: a map, while the depth and key length bounds allow, as its
// flattened fields, anything else as one pair.
func appendFlattenedField[K string | []byte](e *Entry, dst []byte, key K, v pcommon.Value, depth int) []byte {
	s := &e.scratch
	parent := len(e.prettyKey)
	if parent > 0 {
		e.prettyKey = append(e.prettyKey, '.')
	}
	e.prettyKey = append(e.prettyKey, key...)
	if v.Type() == pcommon.ValueTypeMap && depth < prettyMaxDepth && len(e.prettyKey) <= prettyMaxKeyLen {
		inner := len(s.stack)
		for k, v := range v.Map().All() {
			s.push(k, v)
		}
		dst = e.appendFlattened(dst, inner, depth+1)
		s.pop(inner)
	} else {
		dst = appendPrettyValue(e, dst, e.prettyKey, v)
	}
	e.prettyKey = e.prettyKey[:parent]
	return dst
}

// appendPrettyValue writes one pair: strings as they are, integers bare, anything else as compact JSON.
func appendPrettyValue[K string | []byte](e *Entry, dst []byte, key K, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendPrettyPair(dst, key, v.Str())
	case pcommon.ValueTypeInt:
		dst = append(dst, ' ')
		dst = appendPrettyText(dst, key, false)
		dst = append(dst, '=')
		return strconv.AppendInt(dst, v.Int(), 10)
	}
	b := e.scratch.appendValue(e.rendered[:0], v)
	keep(&e.rendered, b, maxKeptScratch)
	return appendPrettyPair(dst, key, b)
}

// appendPrettyPair writes " key=value"; a value that is empty or holds a blank is single-quoted, its quotes
// escaped.
func appendPrettyPair[K, V string | []byte](dst []byte, key K, value V) []byte {
	dst = append(dst, ' ')
	dst = appendPrettyText(dst, key, false)
	dst = append(dst, '=')
	if len(value) == 0 || hasBlank(value) {
		dst = append(dst, '\'')
		dst = appendPrettyText(dst, value, true)
		return append(dst, '\'')
	}
	return appendPrettyText(dst, value, false)
}

func hasBlank[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			return true
		}
	}
	return false
}

// appendPrettyText keeps the console line one line: control characters are escaped, the rest is raw UTF-8.
// In a quoted value, single quotes are escaped too.
func appendPrettyText[T string | []byte](dst []byte, text T, quoted bool) []byte {
	s := stringView(text)
	start := 0
	for i := 0; ; {
		// Copy runs of plain bytes whole, finding them 8 bytes at a time; console text is mostly plain.
		for i+8 <= len(s) && prettySpecial(load64(s, i), quoted) == 0 {
			i += 8
		}
		for i < len(s) && s[i] >= 0x20 && s[i] != 0x7f && (s[i] != '\'' || !quoted) {
			i++
		}
		if i >= len(s) {
			break
		}
		dst = append(dst, s[start:i]...)
		switch c := s[i]; c {
		case '\'':
			dst = append(dst, '\\', '\'')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// prettySpecial has a high bit set when x holds a byte the console escapes: a control character, DEL, or in a
// quoted value a single quote. Bytes of UTF-8 sequences are plain.
func prettySpecial(x uint64, quoted bool) uint64 {
	control := (x - 0x20*lsb8) & ^x
	found := control | hasZeroByte(x^0x7f*lsb8)
	if quoted {
		found |= hasZeroByte(x ^ '\''*lsb8)
	}
	return found & msb8
}
