package fapilogloki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// encodeAll builds ld with cfg and encodes every chunk, as push does, without sending anything.
func encodeAll(t *testing.T, cfg *Config, ld plog.Logs) (bodies [][]byte, contentType string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	labels := newLabeler(cfg, zap.NewNop(), nopTelemetry())
	rb := newRequestBuilder(cfg, labels, &tenants{})
	enc := newEncoder(cfg.Encoding, labels, rb.metaNames)
	var b batch
	var e envelope.Entry
	var s encodeScratch
	rb.build(ld, time.Now(), &e, &b)
	for _, c := range rb.chunks(&b, nil) {
		body := enc.encode(&b, c, &s)
		bodies = append(bodies, bytes.Clone(body.buf))
		body.release()
	}
	return bodies, enc.contentType()
}

func decodeBody(t *testing.T, contentType string, body []byte) []pushedStream {
	if contentType == contentTypeJSON {
		return decodeJSONBody(t, body)
	}
	return decodeProtobufBody(t, body)
}

func levelOf(i int) string {
	return [...]string{"INFO", "WARNING", "ERROR"}[i%3]
}

// Every record of testLogs arrives in the stream of its level, with its own nanosecond timestamp, its envelope as
// the line, and the entries of a stream in time order although the records come in another order (even records
// in one resource, odd ones in the other).
func TestEncode_StreamsHoldEveryRecordSortedWithItsOwnTimeAndEnvelope(t *testing.T) {
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		t.Run(string(encoding), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Encoding = encoding
			const n = 30
			ld := testLogs("m", n)
			want := envelopesByID(ld)
			bodies, ct := encodeAll(t, cfg, ld)
			require.Len(t, bodies, 1)
			streams := decodeBody(t, ct, bodies[0])
			require.Len(t, streams, 3, "one stream per level")

			seen := map[string]bool{}
			for _, s := range streams {
				level := s.labels["level"]
				assert.Equal(t, map[string]string{"level": level, "service": "fapilog"}, s.labels)
				if encoding == EncodingProtobuf {
					assert.Equal(t, `{level="`+level+`", service="fapilog"}`, s.labelsText)
				}
				require.Len(t, s.entries, n/3)
				for k, e := range s.entries {
					id := e.messageID(t)
					i, err := strconv.Atoi(strings.TrimPrefix(id, "m-"))
					require.NoError(t, err)
					assert.Equal(t, levelOf(i), level, "%s is in its level's stream", id)
					assert.Equal(t, recordTime(i).UnixNano(), e.ns, "%s carries its own time in ns", id)
					assert.Equal(t, want[id], e.line, "%s: the line is the bare envelope", id)
					assert.Empty(t, e.meta)
					if k > 0 {
						assert.Less(t, s.entries[k-1].ns, e.ns, "entries sorted by time")
					}
					seen[id] = true
				}
			}
			assert.Len(t, seen, n)
		})
	}
}

func TestEncodeProtobuf_IsARawSnappyBlockOfTheProtobuf(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	bodies, ct := encodeAll(t, cfg, testLogs("m", 5))
	assert.Equal(t, "application/x-protobuf", ct)
	raw, err := snappy.Decode(nil, bodies[0])
	require.NoError(t, err)
	assert.Less(t, len(bodies[0]), len(raw), "compressed")
	// Not the snappy framing format (stream identifier chunk 0xff 06 00 00 "sNaPpY").
	assert.False(t, bytes.HasPrefix(bodies[0], []byte("\xff\x06\x00\x00sNaPpY")))
}

func TestEncodeJSON_ExactBody(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetSeverityText("warn")
	lr.Body().SetStr("disk <90%> full & \"quoted\" \\ é\ttab")
	lr.Attributes().PutStr("trace", "t\x01\xffx")
	cfg := createDefaultConfig().(*Config)
	cfg.Encoding = EncodingJSON
	cfg.StructuredMetadataKeys = []string{"data.trace"}
	bodies, ct := encodeAll(t, cfg, ld)
	assert.Equal(t, "application/json", ct)

	line := envelopesByID(ld)
	require.Len(t, line, 1)
	var envelopeJSON string
	for _, v := range line {
		envelopeJSON = v
	}
	want := fmt.Sprintf(`{"streams":[{"stream":{"level":"WARNING","service":"fapilog"},"values":[["%d",%s,{"data_trace":%s}]]}]}`,
		ts.UnixNano(), jsonQuote(t, envelopeJSON), jsonQuote(t, "t\x01\uFFFDx"))
	assert.Equal(t, want, string(bodies[0]))
	assert.True(t, json.Valid(bodies[0]))
}

// jsonQuote quotes s as encoding/json does, minus its HTML escaping.
func jsonQuote(t *testing.T, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestEncode_EqualTimestampsKeepRecordOrder(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	ts := pcommon.NewTimestampFromTime(baseTime)
	for i := range 5 {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts)
		lr.Attributes().PutStr("message_id", fmt.Sprintf("m-%d", i))
	}
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		cfg := createDefaultConfig().(*Config)
		cfg.Encoding = encoding
		bodies, ct := encodeAll(t, cfg, ld)
		streams := decodeBody(t, ct, bodies[0])
		require.Len(t, streams, 1)
		var ids []string
		for _, e := range streams[0].entries {
			ids = append(ids, e.messageID(t))
			assert.Equal(t, baseTime.UnixNano(), e.ns)
		}
		assert.Equal(t, []string{"m-0", "m-1", "m-2", "m-3", "m-4"}, ids, encoding)
	}
}

func TestEncode_TimestampsBefore1970AndWithoutNanos(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(-1, 5), time.Unix(1, 0), time.Unix(0, 999999999), time.Unix(1767323045, 1)} {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(1) // keeps the receive time out of the way for Unix(0, 0)
		if ts.UnixNano() > 0 {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		}
		want := ts.UnixNano()
		if want <= 0 {
			want = 1
		}
		bodies, ct := encodeAll(t, createDefaultConfig().(*Config), ld)
		streams := decodeBody(t, ct, bodies[0])
		assert.Equal(t, want, streams[0].entries[0].ns, "%v", ts)
	}
	for _, ns := range []int64{0, 1, -1, 1e9, -1e9, -1e9 - 1, 1767323045000000001} {
		seconds, nanos := splitNanos(ns)
		assert.True(t, nanos >= 0 && nanos < 1e9)
		assert.Equal(t, ns, seconds*1e9+int64(nanos))
		assert.Equal(t, sizeOfTimestamp(ns) == 0, ns == 0)
	}
}

func TestEncode_StructuredMetadataFromEnvelopePaths(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(baseTime))
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.Attributes().PutStr("user_id", "u-1 (admin)")
	lr.Attributes().PutEmptyMap("http").PutInt("status", 503)
	lr.Attributes().PutStr("empty", "")
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		cfg := createDefaultConfig().(*Config)
		cfg.Encoding = encoding
		cfg.StructuredMetadataKeys = []string{"context.trace_id", "context.user_id", "data.http.status", "diagnostics.service", "data.missing", "data.empty"}
		bodies, ct := encodeAll(t, cfg, ld)
		e := decodeBody(t, ct, bodies[0])[0].entries[0]
		assert.ElementsMatch(t, [][2]string{
			{"context_trace_id", "0102030405060708090a0b0c0d0e0f10"},
			{"context_user_id", "u-1 (admin)"}, // not sanitised: structured metadata is not a label
			{"data_http_status", "503"},
			{"diagnostics_service", "checkout"},
		}, e.meta, "absent and empty fields are left out (%s)", encoding)
	}
}

func TestEncode_NestedLabelKeysAreSanitisedAndAbsentOnesLeftOut(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "Check Out/v2")
	sl := rl.ScopeLogs().AppendEmpty()
	a := sl.LogRecords().AppendEmpty()
	a.Attributes().PutStr("region", "eu-west.1")
	a.Attributes().PutStr("message_id", "a")
	b := sl.LogRecords().AppendEmpty()
	b.Attributes().PutStr("message_id", "b") // no region
	c := sl.LogRecords().AppendEmpty()
	c.Attributes().PutStr("region", "eu-west:1") // sanitises to the same value as a's
	c.Attributes().PutStr("message_id", "c")

	cfg := createDefaultConfig().(*Config)
	cfg.LabelKeys = []string{"level", "diagnostics.service", "data.region"}
	bodies, ct := encodeAll(t, cfg, ld)
	streams := decodeProtobufBody(t, bodies[0])
	require.Equal(t, contentTypeProtobuf, ct)
	require.Len(t, streams, 2)
	assert.Equal(t, `{data_region="eu-west_1", diagnostics_service="Check_Out_v2", level="INFO", service="fapilog"}`, streams[0].labelsText)
	assert.Len(t, streams[0].entries, 2, "a and c share a stream once sanitised")
	assert.Equal(t, `{diagnostics_service="Check_Out_v2", level="INFO", service="fapilog"}`, streams[1].labelsText)
	assert.Equal(t, "b", streams[1].entries[0].messageID(t))
}

func TestEncode_StaticLabelsReplaceTheDefaultAndAreSanitised(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Labels = StaticLabels{"app": "api gateway", "env": "prod.eu"}
	bodies, _ := encodeAll(t, cfg, testLogs("m", 1))
	assert.Equal(t, `{app="api_gateway", env="prod_eu", level="INFO"}`, decodeProtobufBody(t, bodies[0])[0].labelsText)
}

func TestEncode_MaxStreamsPerRequestSplitsWholeStreams(t *testing.T) {
	for _, encoding := range []Encoding{EncodingProtobuf, EncodingJSON} {
		cfg := createDefaultConfig().(*Config)
		cfg.Encoding = encoding
		cfg.MaxStreamsPerRequest = 2
		bodies, ct := encodeAll(t, cfg, testLogs("m", 30))
		require.Len(t, bodies, 2, "3 streams, 2 per request")
		first, second := decodeBody(t, ct, bodies[0]), decodeBody(t, ct, bodies[1])
		assert.Len(t, first, 2)
		assert.Len(t, second, 1)
		for _, s := range append(first, second...) {
			assert.Len(t, s.entries, 10, "a stream is never split")
		}
	}
}

// envelopeLine is the envelope of one record whose body and attribute hold text.
func envelopeLine(text string) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", text)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(text)
	lr.Attributes().PutStr("note", text)
	lr.Attributes().PutStr(text, "key")
	var line []byte
	var e envelope.Entry
	envelope.ForEach(ld, time.Unix(1, 0), &e, func(e *envelope.Entry, _ plog.LogRecord) { line = e.AppendJSON(nil) })
	return line
}

var lineTexts = []string{
	"", "plain", `"`, `\`, `"#`, `\]`, `""""""""""""""""`, `\\\\\\\\\\\\\\\\\\`, `a"b\c"d\e"f\g"h`,
	"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "héllo 世界 🚀", "\u2028\u2029", "bad \xff\xfe utf-8 \xe4\xb8",
	`{"nested": "json", "with": ["arrays", 1, 2.5, null]}`, strings.Repeat(`ab"cd\ef`, 37),
}

// Lines wrapped into the JSON push format are escaped exactly as envelope.AppendJSONString escapes them, whatever
// the records hold (control characters, bad UTF-8, U+2028: the envelope has escaped them already), and the
// wrapped string decodes back to the line.
func TestAppendLineAsJSONString_IsTheEnvelopesEscaping(t *testing.T) {
	for _, text := range lineTexts {
		line := envelopeLine(text)
		got := appendLineAsJSONString([]byte("prefix"), line)
		assert.Equal(t, string(envelope.AppendJSONString([]byte("prefix"), line)), string(got), "%q", text)
		var back string
		require.NoError(t, json.Unmarshal(got[len("prefix"):], &back))
		assert.Equal(t, string(line), back)
	}
	// Quotes and backslashes at every position of a word, and a quote before '#' (0x23 = '"'+1: where a
	// borrowing zero-byte test would see a second match).
	for n := range 20 {
		for at := range n {
			for _, c := range []byte{'"', '\\'} {
				line := []byte(strings.Repeat("#", n))
				line[at] = c
				assert.Equal(t, string(envelope.AppendJSONString(nil, line)), string(appendLineAsJSONString(nil, line)), "%q", line)
			}
		}
	}
}

func FuzzAppendLineAsJSONString(f *testing.F) {
	for _, text := range lineTexts {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		line := envelopeLine(text)
		if got, want := appendLineAsJSONString(nil, line), envelope.AppendJSONString(nil, line); !bytes.Equal(got, want) {
			t.Fatalf("line %q:\n got %s\nwant %s", line, got, want)
		}
	})
}
