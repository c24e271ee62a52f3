package envelope

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// otlpRecord is one OTLP/JSON log record with the given attributes (JSON key/value objects) and body.
func otlpRecord(body string, attrs ...string) string {
	return `{"timeUnixNano":"1767322245000000000","body":` + body + `,"attributes":[` + strings.Join(attrs, ",") + `]}`
}

func kv(key, value string) string {
	quoted, _ := json.Marshal(key)
	return `{"key":` + string(quoted) + `,"value":` + value + `}`
}

const (
	strVal     = `{"stringValue":"v"}`
	intVal     = `{"intValue":"7"}`
	tagsList   = `{"arrayValue":{"values":[{"stringValue":"t"}]}}`
	nestedMap  = `{"kvlistValue":{"values":[{"key":"z","value":{"intValue":"1"}},{"key":"y","value":{"stringValue":"w"}}]}}`
	stringBody = `{"stringValue":"hello"}`
)

func mapBody(kvs ...string) string {
	return `{"kvlistValue":{"values":[` + strings.Join(kvs, ",") + `]}}`
}

// batchOf decodes one resource and scope holding the records, so that one Entry encodes them in sequence.
func batchOf(t testing.TB, scopeName string, records ...string) plog.Logs {
	raw := `{"resourceLogs":[{"scopeLogs":[{"scope":{"name":` + strconv.Quote(scopeName) + `},"logRecords":[` +
		strings.Join(records, ",") + `]}]}]}`
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(raw))
	require.NoError(t, err)
	return ld
}

var fieldPaths = []string{"data.a", "data.b", "data.tags", "data.logger.name", "data.z", "data.message", "data.msg",
	"data.x", "data.user_id", "tags", "logger", "message", "context.user_id", "context.message_id"}

// encodeAll is everything an Entry writes for its record: every format and the fields exporters read.
func encodeAll(e *Entry) string {
	var b strings.Builder
	b.Write(e.AppendJSONLine(nil))
	b.Write(e.AppendText(nil))
	b.Write(e.AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	for _, p := range fieldPaths {
		v, ok := e.Field(p)
		b.WriteString(p + "=" + strconv.Quote(v) + strconv.FormatBool(ok) + "\n")
	}
	return b.String()
}

// requireEncodesLikeFreshEntries encodes ld with one Entry through ForEach, as exporters do, and requires every
// record to encode exactly as a fresh Entry, which has nothing to reuse, encodes it.
func requireEncodesLikeFreshEntries(t testing.TB, ld plog.Logs) {
	var warm []string
	var e Entry
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) { warm = append(warm, encodeAll(e)) })
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				var fresh Entry
				fresh.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
				require.Equal(t, encodeAll(&fresh), warm[i], "record %d", i)
				i++
			}
		}
	}
}

// A record whose keys equal the previous record's reuses the previous layout of data; whatever else differs
// between them (the values that decide what is lifted, the message key of a map body, key order, duplicates)
// must still give the record its own envelope.
func TestEnvelope_RecordsSharingKeysEncodeLikeFreshEntries(t *testing.T) {
	many := func(v string) []string {
		var kvs []string
		for i := 0; i < smallSort+4; i++ {
			kvs = append(kvs, kv("k"+strconv.Itoa((i*7)%(smallSort+4)), v))
		}
		return kvs
	}
	ld := batchOf(t, "",
		otlpRecord(stringBody, kv("b", strVal), kv("a", intVal), kv("tags", tagsList), kv("logger.name", strVal)),
		otlpRecord(stringBody, kv("b", intVal), kv("a", strVal), kv("tags", tagsList), kv("logger.name", strVal)),
		otlpRecord(stringBody, kv("b", strVal), kv("a", intVal), kv("tags", strVal), kv("logger.name", strVal)),   // tags not lifted
		otlpRecord(stringBody, kv("b", strVal), kv("a", intVal), kv("tags", strVal), kv("logger.name", `{}`)),     // logger.name not lifted
		otlpRecord(stringBody, kv("a", strVal), kv("b", intVal), kv("tags", tagsList), kv("logger.name", strVal)), // another order
		otlpRecord(stringBody, kv("a", strVal), kv("bb", intVal), kv("tags", tagsList), kv("logger.name", strVal)),
		otlpRecord(stringBody, kv("a", strVal), kv("b", nestedMap)),
		otlpRecord(stringBody, kv("a", strVal), kv("b", nestedMap)),
		otlpRecord(mapBody(kv("message", strVal), kv("a", intVal), kv("z", strVal)), kv("a", strVal), kv("b", intVal)),
		otlpRecord(mapBody(kv("message", strVal), kv("a", intVal), kv("z", strVal)), kv("a", strVal), kv("b", intVal)),
		otlpRecord(mapBody(kv("message", intVal), kv("a", intVal), kv("z", strVal)), kv("a", strVal), kv("b", intVal)), // no message key
		otlpRecord(mapBody(kv("msg", strVal), kv("a", intVal), kv("z", strVal)), kv("a", strVal), kv("b", intVal)),
		otlpRecord(mapBody(kv("msg", strVal), kv("message", strVal), kv("z", strVal)), kv("a", strVal), kv("b", intVal)),
		otlpRecord(stringBody, kv("a", strVal), kv("b", intVal)), // the same attributes, no map body
		otlpRecord(mapBody(), kv("a", strVal), kv("b", intVal)),
		otlpRecord(stringBody, kv("x", strVal), kv("x", intVal), kv("user_id", strVal), kv("user_id", intVal)),
		otlpRecord(stringBody, kv("x", intVal), kv("x", strVal), kv("user_id", intVal), kv("user_id", strVal)),
		otlpRecord(stringBody, kv("x", intVal), kv("x", strVal), kv("enduser.id", intVal), kv("user_id", strVal)),
		otlpRecord(stringBody),
		otlpRecord(stringBody),
		otlpRecord(stringBody, many(strVal)...),
		otlpRecord(stringBody, many(intVal)...),
		otlpRecord(stringBody, kv("abcdefgh", strVal), kv("abcdefgh\x00", strVal), kv("abcdefg", strVal)),
		otlpRecord(stringBody, kv("abcdefgh", strVal), kv("abcdefgh\x00", strVal), kv("abcdefg", strVal)),
		otlpRecord(stringBody, kv("abcdefgh", strVal), kv("abcdefgi", strVal), kv("abcdefg", strVal)),
	)
	requireEncodesLikeFreshEntries(t, ld)
}

// FuzzEnvelope_ConsecutiveRecordsEncodeLikeFreshEntries encodes two records, whose attribute keys are fuzzed
// (comma-separated, repeats allowed), in sequence with one Entry, and requires each to encode as a fresh Entry
// encodes it.
func FuzzEnvelope_ConsecutiveRecordsEncodeLikeFreshEntries(f *testing.F) {
	f.Add("a,b,tags,logger.name", "a,b,tags,logger.name", uint16(0b1011), true)
	f.Add("b,a", "a,b", uint16(0), false)
	f.Add("x,x,user_id,enduser.id", "x,x,user_id,enduser.id", uint16(0xffff), true)
	f.Add("message,a", "a,b", uint16(0x5555), true)
	f.Fuzz(func(t *testing.T, keysA, keysB string, valueBits uint16, mapBodyA bool) {
		values := []string{strVal, intVal, tagsList, nestedMap}
		record := func(keys string, bits uint16, mapBody bool) string {
			var attrs []string
			for i, k := range strings.Split(keys, ",") {
				attrs = append(attrs, kv(k, values[(bits>>(2*(i%8)))&3]))
			}
			body := stringBody
			if mapBody {
				body = `{"kvlistValue":{"values":[` + strings.Join(attrs, ",") + `]}}`
			}
			return otlpRecord(body, attrs...)
		}
		raw := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + record(keysA, valueBits, mapBodyA) + "," +
			record(keysA, valueBits>>1, !mapBodyA) + "," + record(keysB, valueBits>>3, false) + "," +
			record(keysB, valueBits, true) + `]}]}]}`
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(raw))
		require.NoError(t, err)
		requireEncodesLikeFreshEntries(t, ld)
	})
}

// Records that alternate between two sets of keys recompute the layout every time; once the Entry is warm, that
// allocates nothing either, for maps beyond the small sort and keys longer than a stack buffer.
func TestEncode_AlternatingKeysDoNotAllocate(t *testing.T) {
	var a, b []string
	for i := 0; i < smallSort+4; i++ {
		long := strings.Repeat("long key ", 5) + strconv.Itoa(i)
		a = append(a, kv(long, strVal))
		b = append(b, kv("b"+long, intVal))
	}
	ld := batchOf(t, "app", otlpRecord(stringBody, a...), otlpRecord(mapBody(b...), b...))
	var e Entry
	buf := make([]byte, 0, 64<<10)
	encode := func() {
		ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) {
			buf = e.AppendJSONLine(buf[:0])
			buf = e.AppendPretty(buf, PrettyOptions{Location: time.UTC})
		})
	}
	encode()
	require.Zero(t, testing.AllocsPerRun(50, encode))
}
