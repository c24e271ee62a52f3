package fapilogpostgres

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var receivedAt = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// decodeCopy parses a binary COPY stream into rows of fields (nil for NULL).
func decodeCopy(t *testing.T, stream []byte) [][][]byte {
	t.Helper()
	require.True(t, bytes.HasPrefix(stream, copyHeader), "missing PGCOPY header")
	r := bytes.NewReader(stream[len(copyHeader):])
	var rows [][][]byte
	for {
		var n int16
		require.NoError(t, binary.Read(r, binary.BigEndian, &n))
		if n == -1 {
			require.Zero(t, r.Len(), "bytes after the trailer")
			return rows
		}
		row := make([][]byte, n)
		for i := range row {
			var l int32
			require.NoError(t, binary.Read(r, binary.BigEndian, &l))
			if l == -1 {
				continue
			}
			row[i] = make([]byte, l)
			_, err := io.ReadFull(r, row[i])
			require.NoError(t, err)
		}
		rows = append(rows, row)
	}
}

// planFor builds the plan for the default configuration changed by mutate, on a table that has every column.
func planFor(t *testing.T, mutate func(*Config)) *tablePlan {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	s := newTableSpec(cfg)
	cols := seedColumnsAsInformationSchema(true)
	if !s.useJSONB {
		cols[7].dataType = "json"
	}
	for _, f := range s.extraColumns() {
		if f.name != messageIDColumn {
			cols = append(cols, tableColumn{name: f.name, dataType: "text", nullable: true})
		}
	}
	p, err := buildPlan(&s, cols, plainTable, uniqueOnMessageID)
	require.NoError(t, err)
	return p
}

func encodeAll(t *testing.T, p *tablePlan, ld plog.Logs) ([][][]byte, map[string]int) {
	t.Helper()
	b := &rowBatch{}
	p.encode(b, ld, receivedAt)
	var stream bytes.Buffer
	_, err := io.Copy(&stream, newCopyStream(b, 0, b.len()))
	require.NoError(t, err)
	idx := map[string]int{}
	for i, c := range p.columns {
		idx[c.name] = i
	}
	return decodeCopy(t, stream.Bytes()), idx
}

func oneRecord(fill func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	fill(rl.Resource(), sl.Scope(), sl.LogRecords().AppendEmpty())
	return ld
}

func fullRecord(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
	res.Attributes().PutStr("service.name", "checkout")
	res.Attributes().PutStr("deployment.environment.name", "prod")
	res.Attributes().PutStr("host.name", "web-1")
	res.Attributes().PutInt("process.pid", 4242)
	scope.SetName("app.checkout")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.UTC)))
	lr.SetSeverityText("warn")
	lr.Body().SetStr("order accepted")
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	a := lr.Attributes()
	a.PutStr("log.record.uid", "uid-1")
	a.PutStr("correlation_id", "corr-1")
	a.PutStr("request_id", "req-1")
	a.PutStr("user_id", "user-1")
	a.PutStr("tenant_id", "tenant-1")
	a.PutStr("order_id", "ord-1")
}

func allFields(c *Config) { c.ExtractFields = extractFieldNamesList() }

func extractFieldNamesList() []string {
	var names []string
	for _, f := range extractFields {
		names = append(names, f.name)
	}
	return names
}

func TestEncode_EveryExtractedFieldOfAFullRecord(t *testing.T) {
	p := planFor(t, allFields)
	rows, col := encodeAll(t, p, oneRecord(fullRecord))
	require.Len(t, rows, 1)
	row := rows[0]
	micros := int64(binary.BigEndian.Uint64(row[col["timestamp"]]))
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC), time.UnixMicro(micros+pgEpochMicros).UTC(),
		"millisecond precision, as the envelope")
	want := map[string]string{
		"level": "WARNING", "logger": "app.checkout", "correlation_id": "corr-1", "message": "order accepted",
		"message_id": "uid-1", "request_id": "req-1", "user_id": "user-1", "tenant_id": "tenant-1",
		"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "0102030405060708", "origin": "otlp",
		"service": "checkout", "env": "prod", "host": "web-1", "pid": "4242",
	}
	for name, v := range want {
		assert.Equal(t, v, string(row[col[name]]), name)
	}
	ev := row[col["event"]]
	require.Equal(t, byte(jsonbVersion), ev[0])
	var doc map[string]any
	require.NoError(t, json.Unmarshal(ev[1:], &doc))
	assert.Equal(t, "ord-1", doc["data"].(map[string]any)["order_id"], "event holds the whole envelope")
}

func TestEncode_EmptyRecordGetsDefaultsAndNulls(t *testing.T) {
	p := planFor(t, allFields)
	rows, col := encodeAll(t, p, oneRecord(func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {}))
	row := rows[0]
	assert.Equal(t, "INFO", string(row[col["level"]]))
	assert.Equal(t, "root", string(row[col["logger"]]))
	assert.NotNil(t, row[col["message"]])
	assert.Empty(t, row[col["message"]])
	assert.Equal(t, "otlp", string(row[col["origin"]]))
	assert.Len(t, row[col["message_id"]], 36, "derived message_id")
	micros := int64(binary.BigEndian.Uint64(row[col["timestamp"]]))
	assert.Equal(t, receivedAt, time.UnixMicro(micros+pgEpochMicros).UTC(), "receive time stands in")
	for _, name := range []string{"correlation_id", "request_id", "user_id", "tenant_id", "trace_id", "span_id", "service", "env", "host", "pid"} {
		assert.Nil(t, row[col[name]], "%s must be NULL", name)
	}
}

func TestEncode_ValuesPostgreSQLWouldRejectAreMadeStorable(t *testing.T) {
	p := planFor(t, nil)
	rows, col := encodeAll(t, p, oneRecord(func(_ pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetSeverityText("notice-of-something")               // 19 characters into VARCHAR(10)
		scope.SetName(strings.Repeat("ü", 300))                 // 300 characters into VARCHAR(255)
		lr.Attributes().PutStr("correlation_id", "a\x00b\xffc") // NUL and invalid UTF-8
		lr.Body().SetStr("nul \x00 inside")
	}))
	row := rows[0]
	assert.Equal(t, "NOTICE-OF-", string(row[col["level"]]), "cut to the column's 10 characters")
	assert.Equal(t, strings.Repeat("ü", 255), string(row[col["logger"]]), "cut by characters, not bytes")
	assert.Equal(t, "a\uFFFDb\uFFFDc", string(row[col["correlation_id"]]))
	assert.Equal(t, "nul \uFFFD inside", string(row[col["message"]]))
	ev := string(row[col["event"]][1:])
	assert.NotContains(t, ev, `\u0000`, "jsonb rejects \\u0000")
	assert.Contains(t, ev, `"nul \ufffd inside"`)
	assert.Contains(t, ev, "NOTICE-OF-SOMETHING", "event keeps the full value")
}

func TestReplaceNULEscapes_LeavesEscapedBackslashesAlone(t *testing.T) {
	js := []byte(`{"a":"\u0000","b":"\\u0000","c":"\\\u0000x"}`)
	replaceNULEscapes(js)
	assert.Equal(t, `{"a":"\ufffd","b":"\\u0000","c":"\\\ufffdx"}`, string(js))
	var v map[string]string
	require.NoError(t, json.Unmarshal(js, &v))
	assert.Equal(t, `\u0000`, v["b"])
}

func TestEncode_IncludeRawJSONFalseStoresOnlyExtractedFields(t *testing.T) {
	p := planFor(t, func(c *Config) {
		c.IncludeRawJSON = false
		c.ExtractFields = []string{"timestamp", "level", "message", "tenant_id", "correlation_id"}
	})
	rows, col := encodeAll(t, p, oneRecord(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		lr.Body().SetStr(`say "hi" <b>`)
		lr.Attributes().PutStr("correlation_id", "c-1")
		lr.Attributes().PutStr("secret_data", "not in event")
	}))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rows[0][col["event"]][1:], &doc))
	assert.Equal(t, map[string]any{"timestamp": "2026-01-02T03:04:05.000Z", "level": "INFO", "message": `say "hi" <b>`,
		"tenant_id": nil, "correlation_id": "c-1"}, doc)
}

func TestEncode_JSONColumnHasNoVersionByte(t *testing.T) {
	p := planFor(t, func(c *Config) { c.UseJSONB = false })
	rows, col := encodeAll(t, p, seqLogs(0, 1))
	assert.Equal(t, byte('{'), rows[0][col["event"]][0])
}

func TestEncode_RowRangesAreSelfContainedCopyStreams(t *testing.T) {
	p := planFor(t, nil)
	b := &rowBatch{}
	p.encode(b, seqLogs(0, 10), receivedAt)
	require.Equal(t, 10, b.len())
	var stream bytes.Buffer
	_, err := io.Copy(&stream, newCopyStream(b, 3, 7))
	require.NoError(t, err)
	rows := decodeCopy(t, stream.Bytes())
	require.Len(t, rows, 4)
	assert.Contains(t, string(rows[0][p.columnIndex("message")]), "order 3 ")
	assert.Contains(t, string(rows[3][p.columnIndex("message")]), "order 6 ")
}

func TestEncode_TypicalRowAllocatesOnlyTheMessageID(t *testing.T) {
	p := planFor(t, nil)
	ld := seqLogs(0, 1)
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	lr := sl.LogRecords().At(0)
	b := &rowBatch{}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		b.entry.Reset(rl.Resource(), sl.Scope(), lr, receivedAt)
		buf = p.appendRow(buf[:0], &b.entry)
	})
	// One allocation: envelope.Entry.MessageID returns a new string (the id goes into the message_id column).
	assert.LessOrEqual(t, allocs, 1.0)
}

func (p *tablePlan) columnIndex(name string) int {
	for i, c := range p.columns {
		if c.name == name {
			return i
		}
	}
	return -1
}

func TestCopyStream_ReadsNothingOnceClosed(t *testing.T) {
	b := &rowBatch{}
	planFor(t, nil).encode(b, seqLogs(0, 3), time.Now())
	stream := newCopyStream(b, 0, b.len())
	head := make([]byte, 4)
	n, err := stream.Read(head)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	stream.close() // pgx's reader goroutine may still call Read after CopyFrom returned
	n, err = stream.Read(make([]byte, 64))
	assert.Zero(t, n, "the batch is not read once the COPY is over")
	assert.ErrorIs(t, err, errStreamClosed)
}
