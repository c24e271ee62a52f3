package fapilogcloudwatch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// benchLogs is n records of the kind the envelope's performance target speaks of (10 attributes, a 200-byte
// message, trace context, a resource with service, host and pid), stamped over the last minute.
func benchLogs(n int, resources int) plog.Logs {
	ld := plog.NewLogs()
	base := time.Now().Add(-time.Minute)
	for r := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("checkout-%d", r))
		rl.Resource().Attributes().PutStr("host.name", "web-1")
		rl.Resource().Attributes().PutInt("process.pid", 4242)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("app.checkout")
		for i := r; i < n; i += resources {
			logstest.FillTypical(sl.LogRecords().AppendEmpty(), base.Add(time.Duration(i)*time.Millisecond), int64(i))
		}
	}
	return ld
}

func benchRoutes(b *testing.B, cfg *Config) *routes {
	r, err := newRoutes(cfg, exportertest.NewNopSettings(metadata.Type), "web-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.shutdown)
	return r
}

// BenchmarkEncodeAndBuild measures what 10,000 records cost before the network: encode every record once as the
// collector hands it over (convert), batch them as the queue's batcher does with the default batching
// (MergeSplit at 1 MiB, a batch flushed when the next record would not fit), then sort, split and materialize
// the PutLogEvents inputs of each batch (8 requests); once all are sent, the queue is done with the requests and
// their bodies are given back (bodyRefs). one_stream is logstest's typical records arriving in 100-record client
// requests, as telemetrygen sends them in the side-by-side suite: the floor of issue 11 (1M records/s per core).
// one_client_request is the same 10,000 records in one request (as from an upstream batch processor); the other
// cases spread the records over 4 resources. See reportPerRecord for the figures: on a shared machine compare
// the CPU times, not wall time.
func BenchmarkEncodeAndBuild(b *testing.B) {
	for _, tc := range []struct {
		name          string
		group, stream string
		request       plog.Logs
		requests      int
	}{
		{"10000_records/one_stream", "/fapilog/default", "app-1", logstest.TypicalBatch(100), 100},
		{"10000_records/one_client_request", "/fapilog/default", "app-1", logstest.TypicalBatch(10_000), 1},
		{"10000_records/4_streams_by_service", "/fapilog/default", "{service.name}", benchLogs(100, 4), 100},
		{"10000_records/4_groups_by_service", "/tenants/{service.name}", "app-1", benchLogs(100, 4), 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.LogGroupName, cfg.LogStreamName = tc.group, tc.stream
			enc := newEncoder(cfg, benchRoutes(b, cfg))
			rb := newRequestBuilder(cfg)
			// Every record is stamped within a minute of now: none is left out as too old or too new.
			now := recordsTime(tc.request)
			var (
				s encodeScratch
				p plan
			)
			send := func(batch xexporterhelper.Request) int {
				rb.build(batch.(*logsRequest), now, &p)
				defer p.release()
				return len(p.requests)
			}
			refs := bodyRefs{enc.bodies}
			converted := make([]xexporterhelper.Request, 0, tc.requests)
			run := func() (requests, bytes int) {
				var pending xexporterhelper.Request
				for range tc.requests {
					req, _ := enc.encode(tc.request, now, &s)
					converted = append(converted, req)
					bytes += req.BytesSize()
					batches := batchLikeTheQueue(b, pending, req)
					pending = nil
					if last := batches[len(batches)-1]; last.BytesSize() < maxRequestBytes {
						pending, batches = last, batches[:len(batches)-1]
					}
					for _, batch := range batches {
						requests += send(batch)
					}
				}
				if pending != nil {
					requests += send(pending) // on the flush timeout
				}
				// Every batch is sent: the queue is done with the requests and gives their bodies back.
				for _, req := range converted {
					refs.Unref(req)
				}
				converted = converted[:0]
				return requests, bytes
			}
			requests, bytes := run()
			records := tc.request.LogRecordCount() * tc.requests
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
			for b.Loop() {
				run()
			}
			reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, records)
			b.ReportMetric(float64(bytes)/float64(records)-eventOverhead, "bytes/record")
			b.ReportMetric(float64(requests), "requests/op")
		})
	}
}

// batchLikeTheQueue adds req to the batch pending (nil: none) as the batcher does with the default batching.
func batchLikeTheQueue(b *testing.B, pending, req xexporterhelper.Request) []xexporterhelper.Request {
	var (
		batches []xexporterhelper.Request
		err     error
	)
	if pending == nil {
		batches, err = req.MergeSplit(context.Background(), maxRequestBytes, exporterhelper.RequestSizerTypeBytes, nil)
	} else {
		batches, err = pending.MergeSplit(context.Background(), maxRequestBytes, exporterhelper.RequestSizerTypeBytes, req)
	}
	if err != nil {
		b.Fatal(err)
	}
	return batches
}

// recordsTime is the time of the first record of ld: the benchmarks build requests as of then.
func recordsTime(ld plog.Logs) time.Time {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Timestamp().AsTime()
}

// reportPerRecord reports, for a loop that handled perOp records an op, records per wall second (records/s, what
// the side-by-side suite reads) and wall time per record; the thread's CPU time per record (cpu-ns/record, as the
// envelope's and fapilogloki's benchmarks report it); and the process's (proc-cpu-ns/record: the garbage
// collector's background work included, which allocating the requests causes) with records per CPU-second of
// the process (records/cpu-s), the figure for "records per second per core".
func reportPerRecord(b *testing.B, thread, process time.Duration, perOp int) {
	records := float64(b.N * perOp)
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	if thread > 0 && process > 0 {
		b.ReportMetric(float64(thread.Nanoseconds())/records, "cpu-ns/record")
		b.ReportMetric(float64(process.Nanoseconds())/records, "proc-cpu-ns/record")
		b.ReportMetric(records/process.Seconds(), "records/cpu-s")
	}
}

// BenchmarkEnvelopeOnly is the reference for EncodeAndBuild/one_stream: the same 100 requests of 100 typical
// records encoded by internal/envelope alone (ForEach, AppendJSON into a buffer reused, nothing allocated): what
// the exporter adds is the difference.
func BenchmarkEnvelopeOnly(b *testing.B) {
	ld := logstest.TypicalBatch(100)
	var (
		e   envelope.Entry
		buf []byte
	)
	now := recordsTime(ld)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
	for b.Loop() {
		for range 100 {
			buf = buf[:0]
			envelope.ForEach(ld, now, &e, func(e *envelope.Entry, _ plog.LogRecord) { buf = e.AppendJSON(buf) })
		}
	}
	reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, 10_000)
}

// fullBatch is the first batch of 1 MiB of logstest's typical records, as the queue flushes it, and the time the
// records were stamped.
func fullBatch(b *testing.B) (*logsRequest, time.Time) {
	cfg := createDefaultConfig().(*Config)
	cfg.LogStreamName = "app-1"
	enc := newEncoder(cfg, benchRoutes(b, cfg))
	ld := logstest.TypicalBatch(10_000)
	req, _ := enc.encode(ld, time.Now(), new(encodeScratch))
	batches, err := req.MergeSplit(context.Background(), maxRequestBytes, exporterhelper.RequestSizerTypeBytes, nil)
	if err != nil {
		b.Fatal(err)
	}
	return batches[0].(*logsRequest), recordsTime(ld)
}

// BenchmarkBuild is the request builder alone on one full batch of typical records (1 MiB, one request).
func BenchmarkBuild(b *testing.B) {
	batch, now := fullBatch(b)
	rb := newRequestBuilder(createDefaultConfig().(*Config))
	var p plan
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
	for b.Loop() {
		rb.build(batch, now, &p)
		p.release()
	}
	reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, batch.ItemsCount())
	b.ReportMetric(float64(batch.ItemsCount()), "records/batch")
}

// discardTransport answers every request 200 with an empty JSON object after reading its body, as a network
// round trip would, without the network.
type discardTransport struct{}

func (discardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

// BenchmarkPutLogEvents is one full PutLogEvents request of typical records (1 MiB, ~1,380 events) through the
// SDK's client up to the network: serialization, signing (SHA-256 of the body), the answer's deserialization;
// with the SDK's serializer and with putLogEventsProtocol's.
func BenchmarkPutLogEvents(b *testing.B) {
	batch, now := fullBatch(b)
	rb := newRequestBuilder(createDefaultConfig().(*Config))
	var p plan
	rb.build(batch, now, &p)
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/fapilog/default"), LogStreamName: aws.String("app-1"),
		LogEvents: p.requests[0].events}
	for _, ours := range []bool{false, true} {
		name := "sdk_serializer"
		if ours {
			name = "putLogEventsProtocol"
		}
		b.Run(name, func(b *testing.B) {
			client := cloudwatchlogs.New(cloudwatchlogs.Options{
				Region: "us-east-1", BaseEndpoint: aws.String("http://cloudwatch.invalid"),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
				Retryer:     aws.NopRetryer{}, HTTPClient: &http.Client{Transport: discardTransport{}},
			}, func(o *cloudwatchlogs.Options) {
				if ours {
					o.Protocol = putLogEventsProtocol{o.Protocol}
				}
			})
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu, proc := logstest.ThreadCPU(), logstest.ProcessCPU()
			for b.Loop() {
				if _, err := client.PutLogEvents(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			reportPerRecord(b, logstest.ThreadCPU()-cpu, logstest.ProcessCPU()-proc, len(in.LogEvents))
		})
	}
}

// BenchmarkExport_Kumo is the whole push through the aws-sdk-go-v2 client to kumo on loopback, 1,000 records a
// push: the SDK's JSON serialization and the emulator dominate.
func BenchmarkExport_Kumo(b *testing.B) {
	b.Setenv("AWS_ACCESS_KEY_ID", "test")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	url := startKumo(b)
	cfg := createDefaultConfig().(*Config)
	cfg.EndpointURL = url
	cfg.LogGroupName = fmt.Sprintf("/fapilog/bench-%d", time.Now().UnixNano())
	cfg.LogStreamName = "bench"
	e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	if err != nil {
		b.Fatal(err)
	}
	if err := e.start(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()); e.delivery.Shutdown() })
	ld := benchLogs(1_000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, err := e.convert(context.Background(), ld)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.push(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
