package fapilogloki

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogloki/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// typicalBatch is logstest's typical records with levels and regions varied so that a batch holds several
// streams, newest first so that sorting is exercised.
func typicalBatch(n int) plog.Logs {
	ld := logstest.TypicalBatch(n)
	start := time.Now().Add(-time.Minute)
	for i, lr := range logstest.Records(ld).All() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(n-i) * time.Millisecond))) // newest first
		lr.SetSeverityNumber(levels[i%len(levels)])
		lr.Attributes().PutStr("region", [...]string{"eu-west.1", "us-east.1"}[i%2])
	}
	return ld
}

// shuffledTimesBatch is typicalBatch(n) with its timestamps in random order: the general case of sorting.
func shuffledTimesBatch(n int) plog.Logs {
	ld := typicalBatch(n)
	records := logstest.Records(ld)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, j := range rng.Perm(n) {
		a, b := records.At(i), records.At(j)
		ta, tb := a.Timestamp(), b.Timestamp()
		a.SetTimestamp(tb)
		b.SetTimestamp(ta)
	}
	return ld
}

type benchCase struct {
	name  string
	cfg   func(*Config)
	batch func(n int) plog.Logs // typicalBatch when nil
}

var benchCases = []benchCase{
	{"protobuf", func(*Config) {}, nil},
	{"json", func(c *Config) { c.Encoding = EncodingJSON }, nil},
	{"protobuf_nested_labels_metadata", func(c *Config) {
		c.LabelKeys = []string{"level", "diagnostics.service", "data.region"}
		c.StructuredMetadataKeys = []string{"context.correlation_id", "data.http.route"}
	}, nil},
	{"protobuf_shuffled_times", func(*Config) {}, shuffledTimesBatch},
}

// exporter returns the case's exporter, unstarted, and its batch of 100 records.
func (tc *benchCase) exporter(b *testing.B) (*logsExporter, plog.Logs) {
	cfg := createDefaultConfig().(*Config)
	tc.cfg(cfg)
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	if err != nil {
		b.Fatal(err)
	}
	if tc.batch == nil {
		return e, typicalBatch(100)
	}
	return e, tc.batch(100)
}

// BenchmarkBuildPushRequest measures what push does before the network for a batch of 100 typical records:
// serialize each record once, group into streams, sort, and encode the request body (protobuf + snappy, or JSON).
// Request bodies come from a pool, released here as push releases them once sent. cpu-ns/record and
// records/cpu-s are the benchmark thread's CPU time (issue 11's "records/s per core"): on a shared machine
// ns/op mostly measures the other tenants.
func BenchmarkBuildPushRequest(b *testing.B) {
	for _, tc := range benchCases {
		b.Run(tc.name, func(b *testing.B) {
			e, ld := tc.exporter(b)
			s := new(pushScratch)
			build := func() int {
				e.builder.build(ld, time.Now(), &s.entry, &s.batch)
				s.chunks = e.builder.chunks(&s.batch, s.chunks)
				n := 0
				for _, c := range s.chunks {
					body := e.encoder.encode(&s.batch, c, &s.encode)
					n += len(body.buf)
					body.release() // as push does once the HTTP client is done with it
				}
				return n
			}
			body := build()
			b.SetBytes(int64(len(s.batch.arena)))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
			for b.Loop() {
				build()
			}
			reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, 100)
			b.ReportMetric(float64(body), "body_B")
			b.ReportMetric(float64(len(s.batch.arena)), "lines_B")
		})
	}
}

// BenchmarkEncodeRequest is the encoder alone: the request body of an already built batch of 100 typical records
// (label rendering, protobuf, snappy; or JSON).
func BenchmarkEncodeRequest(b *testing.B) {
	for _, tc := range benchCases {
		b.Run(tc.name, func(b *testing.B) {
			e, ld := tc.exporter(b)
			s := new(pushScratch)
			e.builder.build(ld, time.Now(), &s.entry, &s.batch)
			s.chunks = e.builder.chunks(&s.batch, s.chunks)
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
			for b.Loop() {
				for _, c := range s.chunks {
					e.encoder.encode(&s.batch, c, &s.encode).release()
				}
			}
			reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, 100)
		})
	}
}

// reportPerRecord reports, for a loop that handled perOp records an op: wall time per record; the thread's CPU
// time per record (cpu-ns/record, as internal/envelope's benchmarks report it); the process's
// (proc-cpu-ns/record: the garbage collector's background work included); and records per CPU-second of the
// process (records/cpu-s), the figure for issue 11's "records/s per core".
func reportPerRecord(b *testing.B, thread, process time.Duration, perOp int) {
	records := float64(b.N * perOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	if thread > 0 {
		b.ReportMetric(float64(thread.Nanoseconds())/records, "cpu-ns/record")
	}
	if process > 0 {
		b.ReportMetric(float64(process.Nanoseconds())/records, "proc-cpu-ns/record")
		b.ReportMetric(records/process.Seconds(), "records/cpu-s")
	}
}

// tenantBatch is typicalBatch(n) spread over services ResourceLogs, service.name svc-<k>.
func tenantBatch(n, services int) plog.Logs {
	src := typicalBatch(n)
	out := plog.NewLogs()
	rls := make([]plog.LogRecordSlice, services)
	for k := range services {
		rl := out.ResourceLogs().AppendEmpty()
		src.ResourceLogs().At(0).Resource().CopyTo(rl.Resource())
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", k))
		rls[k] = rl.ScopeLogs().AppendEmpty().LogRecords()
	}
	for i, lr := range logstest.Records(src).All() {
		lr.CopyTo(rls[i%services].AppendEmpty())
	}
	return out
}

// BenchmarkBuildPushRequestTenants is the cost of routing by tenant: the same 100 records in 10 ResourceLogs of
// 10 services, sent to one fixed tenant (one request) or to a tenant per service (10 requests).
func BenchmarkBuildPushRequestTenants(b *testing.B) {
	ld := tenantBatch(100, 10)
	for _, tc := range []struct{ name, tenant string }{{"fixed_tenant", "team-a"}, {"tenant_per_service", "{service.name}"}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.TenantID = tc.tenant
			e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(e.tenants.shutdown)
			s := new(pushScratch)
			b.ReportAllocs()
			for b.Loop() {
				e.builder.build(ld, time.Now(), &s.entry, &s.batch)
				s.chunks = e.builder.chunks(&s.batch, s.chunks)
				for _, c := range s.chunks {
					e.encoder.encode(&s.batch, c, &s.encode).release()
				}
			}
			b.ReportMetric(float64(len(s.chunks)), "requests")
		})
	}
}

// BenchmarkPushLoopback is the whole exporter built by its factory, pushing to a local endpoint that answers 204
// (one push of 100 records at a time, no queue). records/s is wall time; records/cpu-s counts the CPU time of the
// whole process, the endpoint's included.
func BenchmarkPushLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ld := typicalBatch(100)
	for _, tc := range benchCases[:2] {
		b.Run(tc.name, func(b *testing.B) {
			cfg := syncConfig(srv.URL)
			tc.cfg(cfg)
			exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = exp.Shutdown(context.Background()) }()
			b.ReportAllocs()
			b.ResetTimer()
			proc := logstest.ProcessCPU()
			for b.Loop() {
				if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
			reportPerRecord(b, 0, logstest.ProcessCPU()-proc, 100) // the loopback server's CPU time included
		})
	}
}

// BenchmarkEnvelopeOnly is the floor the request builder is measured against: encoding the 100 envelopes alone.
func BenchmarkEnvelopeOnly(b *testing.B) {
	ld := typicalBatch(100)
	var e envelope.Entry
	buf := make([]byte, 0, 128<<10)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
	for b.Loop() {
		buf = buf[:0]
		envelope.ForEach(ld, time.Now(), &e, func(e *envelope.Entry, _ plog.LogRecord) { buf = e.AppendJSON(buf) })
	}
	reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, 100)
}
