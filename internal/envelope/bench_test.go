package envelope

import (
	"encoding/json"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// typicalRecord is the record the performance targets speak of: 10 attributes, a 200-byte message.
func typicalRecord() plog.Logs { return logstest.TypicalBatch(1) }

// typicalAsMap is the same record as the map a naive encoder would build before calling encoding/json.
func typicalAsMap(e *Entry) map[string]any {
	return map[string]any{
		"log": map[string]any{
			"context": map[string]any{"correlation_id": "3f2c9a1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "message_id": e.MessageID(),
				"user_id": "u-12345", "trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "0102030405060708"},
			"data": map[string]any{"http.method": "POST", "http.route": "/api/v1/orders", "http.status_code": 201,
				"duration_ms": 12.5, "cache_hit": false, "order_seq": 0, "items": 3, "customer": map[string]any{"tier": "gold"}},
			"diagnostics": map[string]any{"origin": "otlp", "service": "checkout", "host": "web-1", "pid": 4242},
			"level":       "INFO", "logger": "app.checkout", "message": e.Message(), "timestamp": "2026-01-02T03:04:05.000Z",
		},
		"schema_version": "1.1",
	}
}

func TestEncode_TypicalRecordDoesNotAllocate(t *testing.T) {
	ld := typicalRecord()
	res, scope, lr := first(ld)
	var e Entry
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		e.Reset(res, scope, lr, receivedAt)
		buf = e.AppendJSONLine(buf[:0])
	})
	if allocs != 0 {
		t.Fatalf("encoding a typical record allocates %.1f times; want 0", allocs)
	}
	// The fast path must produce the same document as encoding/json of the equivalent map.
	var ours, theirs any
	if err := json.Unmarshal(buf, &ours); err != nil {
		t.Fatal(err)
	}
	ref, _ := json.Marshal(typicalAsMap(&e))
	_ = json.Unmarshal(ref, &theirs)
	if !jsonEqual(ours, theirs) {
		t.Fatalf("documents differ:\nours   %s\ntheirs %s", buf, ref)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func BenchmarkEncode(b *testing.B) {
	ld := typicalRecord()
	res, scope, lr := first(ld)
	var e Entry
	e.Reset(res, scope, lr, receivedAt)
	size := len(e.AppendJSONLine(nil))

	var oursNs float64
	b.Run("json_line/ours", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			e.Reset(res, scope, lr, receivedAt)
			buf = e.AppendJSONLine(buf[:0])
		}
		oursNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("json_line/encoding_json_map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			out, _ := json.Marshal(typicalAsMap(&e))
			_ = out
		}
		theirs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if oursNs > 0 {
			b.ReportMetric(theirs/oursNs, "x_slower_than_ours")
		}
	})
	for name, enc := range map[string]func(e *Entry, dst []byte) []byte{
		"json": (*Entry).AppendJSON,
		"text": (*Entry).AppendText,
		"pretty": func(e *Entry, dst []byte) []byte {
			return e.AppendPretty(dst, PrettyOptions{Colors: true, Location: time.UTC})
		},
	} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				e.Reset(res, scope, lr, receivedAt)
				buf = enc(&e, buf[:0])
			}
		})
	}
}

func BenchmarkEncodeBatch100(b *testing.B) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	src := typicalRecord().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	for i := 0; i < 100; i++ {
		lr := sl.LogRecords().AppendEmpty()
		src.CopyTo(lr)
		lr.Attributes().PutStr("order_id", "ord-"+strconv.Itoa(i))
	}
	var e Entry
	buf := make([]byte, 0, 128*1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) { buf = e.AppendJSONLine(buf) })
	}
}

// BenchmarkDeriveMessageID is the derived id alone, per record of a typical batch whose resource and scope
// digests ForEach computes once.
func BenchmarkDeriveMessageID(b *testing.B) {
	b.ReportAllocs()
	benchmarkBatch(b, logstest.TypicalBatch(100), func() {}, func(e *Entry) { _ = e.derivedMessageID() })
}

// benchmarkBatch runs ForEach over ld calling record for every record, b.N times, before ahead of each pass,
// and reports wall and thread CPU time per record. The goroutine is locked to its thread for the thread's clock.
func benchmarkBatch(b *testing.B, ld plog.Logs, before func(), record func(e *Entry)) {
	var e Entry
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := logstest.ThreadCPU()
	for b.Loop() {
		before()
		ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) { record(e) })
	}
	reportPerRecord(b, logstest.ThreadCPU()-cpu, ld.LogRecordCount())
}

// benchmarkEncoding is benchmarkBatch encoding every record into one buffer, as exporters do.
func benchmarkEncoding(b *testing.B, ld plog.Logs, encode func(e *Entry, dst []byte) []byte) {
	buf := make([]byte, 0, 128<<10)
	benchmarkBatch(b, ld, func() { buf = buf[:0] }, func(e *Entry) { buf = encode(e, buf) })
}

// reportPerRecord reports wall and thread CPU time per record for a loop that handled perOp records an op.
func reportPerRecord(b *testing.B, cpu time.Duration, perOp int) {
	records := float64(b.N * perOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/records, "cpu-ns/record")
	}
}

// BenchmarkEncodeTypicalBatch encodes logstest's typical batch of 100 records, each encoding as an exporter
// does (ForEach over the batch into one buffer); ns/record is the figure issue 11 tracks.
func BenchmarkEncodeTypicalBatch(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	for _, enc := range []struct {
		name   string
		encode func(e *Entry, dst []byte) []byte
	}{
		{"json_line", (*Entry).AppendJSONLine},
		{"json", (*Entry).AppendJSON},
		{"text", (*Entry).AppendText},
		{"pretty", func(e *Entry, dst []byte) []byte {
			return e.AppendPretty(dst, PrettyOptions{Colors: true, Location: time.UTC})
		}},
	} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			benchmarkEncoding(b, ld, enc.encode)
		})
	}
}

// BenchmarkEncodeWhileGCMarks is EncodeTypicalBatch/json_line while the garbage collector marks, as it does for
// much of the time in a collector under load: every pointer the encoder stores into the heap then costs a write
// barrier, which the benchmarks above, allocating nothing, never pay. Its CPU time also carries the cache misses
// the collector causes, so only its difference between two versions of the encoder means something.
func BenchmarkEncodeWhileGCMarks(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	stop := logstest.KeepGCMarking()
	benchmarkEncoding(b, ld, (*Entry).AppendJSONLine)
	b.ReportMetric(float64(stop())/b.Elapsed().Seconds(), "gc/s")
}

// BenchmarkEncodeVaryingKeys encodes the typical batch with every record's attributes in another order than its
// predecessor's, so that no record can reuse the previous record's layout of data: the worst case for it.
func BenchmarkEncodeVaryingKeys(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	for i, lr := range logstest.Records(ld).All() {
		type field struct {
			key   string
			value pcommon.Value
		}
		var fields []field
		for k, v := range lr.Attributes().All() {
			fields = append(fields, field{k, v})
		}
		rotated := pcommon.NewMap()
		for j := range fields {
			f := fields[(i+j)%len(fields)]
			f.value.CopyTo(rotated.PutEmpty(f.key))
		}
		rotated.CopyTo(lr.Attributes())
	}
	b.ReportAllocs()
	benchmarkEncoding(b, ld, (*Entry).AppendJSONLine)
}

// BenchmarkField reads the fields a Loki exporter makes labels of, by path (Entry.Field) and compiled once
// (CompileField), per record of the typical batch.
func BenchmarkField(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	paths := []string{"level", "diagnostics.service", "diagnostics.host", "data.http.method", "context.user_id"}
	compiled := make([]CompiledField, len(paths))
	for i, p := range paths {
		compiled[i], _ = CompileField(p)
	}
	var n int
	for _, by := range []struct {
		name       string
		readLabels func(e *Entry)
	}{
		{"path", func(e *Entry) {
			for _, p := range paths {
				v, _ := e.Field(p)
				n += len(v)
			}
		}},
		{"compiled", func(e *Entry) {
			for _, f := range compiled {
				v, _ := f.Of(e)
				n += len(v)
			}
		}},
	} {
		b.Run(by.name, func(b *testing.B) {
			b.ReportAllocs()
			benchmarkBatch(b, ld, func() {}, by.readLabels)
		})
	}
}

// BenchmarkEncodeTelemetrygenBatch encodes a request as make bench-e2e's load sends it (telemetrygen v0.161.0:
// 100 small records of one service, body "the message", severity Info, one attribute, timestamps within one
// second): the encoding share of the end-to-end file path, whose records are much smaller than the typical one.
func BenchmarkEncodeTelemetrygenBatch(b *testing.B) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "bench-worker-1")
	sl := rl.ScopeLogs().AppendEmpty()
	for i := range 100 {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(logstest.Start.Add(time.Duration(i) * time.Microsecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("Info")
		lr.Body().SetStr("the message")
		lr.Attributes().PutStr("app", "server")
	}
	b.ReportAllocs()
	benchmarkEncoding(b, ld, (*Entry).AppendJSONLine)
}
