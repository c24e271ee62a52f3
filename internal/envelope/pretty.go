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
	dst = e.timestamp.In(loc).AppendFormat(dst, prettyTimeLayout)
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
	dst = append(dst, e.level...)
	for i := len(e.level); i < 8; i++ {
		dst = append(dst, ' ')
	}
	if color != "" {
		dst = append(dst, "\x1b[0m"...)
	}
	dst = append(dst, " | "...)
	dst = appendPrettyText(dst, e.Message())

	if e.logger != DefaultLogger {
		dst = appendPrettyPair(dst, "logger", e.logger)
	}
	ctx := &e.context
	for _, f := range [...]struct {
		key string
		val optionalValue
	}{{"correlation_id", ctx.correlationID}, {"request_id", ctx.requestID}, {"tenant_id", ctx.tenantID}, {"user_id", ctx.userID}} {
		if f.val.ok {
			dst = appendPrettyPair(dst, f.key, f.val.value.AsString())
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
	kvs := e.scratch.take(1)
	kvs = e.collectData(kvs)
	dst = e.appendFlattened(dst, kvs, "", 1)
	e.scratch.give(1, kvs)

	if e.exception.errType.ok {
		dst = appendPrettyPair(dst, "error.type", e.exception.errType.value.AsString())
	}
	if e.exception.errMessage.ok {
		dst = appendPrettyPair(dst, "error.message", e.exception.errMessage.value.AsString())
	}
	dst = append(dst, '\n')
	if e.exception.errStack.ok {
		for line := range strings.Lines(e.exception.errStack.value.AsString()) {
			dst = append(dst, "    "...)
			dst = append(dst, strings.TrimRight(line, "\r\n")...)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// appendFlattened writes sorted kvs as " prefix.key=value" pairs, descending into maps.
func (e *Entry) appendFlattened(dst []byte, kvs []keyedValue, prefix string, depth int) []byte {
	sortKeyed(kvs)
	for i, kv := range kvs {
		if i > 0 && kv.key == kvs[i-1].key {
			continue
		}
		key := kv.key
		if prefix != "" {
			key = prefix + "." + kv.key
		}
		switch kv.value.Type() {
		case pcommon.ValueTypeMap:
			inner := e.scratch.take(depth + 1)
			for k, v := range kv.value.Map().All() {
				inner = append(inner, keyedValue{k, v})
			}
			dst = e.appendFlattened(dst, inner, key, depth+1)
			e.scratch.give(depth+1, inner)
		case pcommon.ValueTypeStr:
			dst = appendPrettyPair(dst, key, kv.value.Str())
		case pcommon.ValueTypeInt:
			dst = append(dst, ' ')
			dst = append(dst, key...)
			dst = append(dst, '=')
			dst = strconv.AppendInt(dst, kv.value.Int(), 10)
		default:
			rendered := e.scratch.appendValue(nil, kv.value, depth+1)
			dst = appendPrettyPair(dst, key, string(rendered))
		}
	}
	return dst
}

func appendPrettyPair(dst []byte, key, value string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, key...)
	dst = append(dst, '=')
	if value == "" || strings.ContainsAny(value, " \t") {
		dst = append(dst, '\'')
		dst = appendPrettyText(dst, strings.ReplaceAll(value, "'", `\'`))
		return append(dst, '\'')
	}
	return appendPrettyText(dst, value)
}

// appendPrettyText keeps the console line one line: control characters are escaped, the rest is raw UTF-8.
func appendPrettyText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
