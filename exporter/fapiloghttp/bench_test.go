package fapiloghttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
	"github.com/fapilog/fapilog-otelcol/internal/logstest"
)

// BenchmarkBuildBody measures what push does before the network: encode 100 records once and frame them into
// the request body (plus signing for the webhook case). The one allocation is the body itself, fresh per batch.
func BenchmarkBuildBody(b *testing.B) {
	cases := []struct {
		name string
		cfg  func(*Config)
	}{
		{"array", func(*Config) {}},
		{"ndjson", func(c *Config) { c.BatchFormat = FormatNDJSON }},
		{"wrapped", func(c *Config) { c.BatchFormat = FormatWrapped }},
		{"webhook_signed", func(c *Config) { c.Mode, c.Secret = ModeWebhook, configopaque.String("s3cr3t") }},
		{"array_split_16KiB", func(c *Config) { c.MaxRequestBytes = 16 << 10 }},
	}
	ld := logstest.TypicalBatch(100)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/"
			tc.cfg(cfg)
			e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
			if err != nil {
				b.Fatal(err)
			}
			s := new(pushScratch)
			e.prepare(s, ld, 100)
			b.SetBytes(int64(len(s.batch.body)))
			b.ReportAllocs()
			for b.Loop() {
				e.prepare(s, ld, 100)
				if e.transport.secret != nil {
					for _, r := range s.plan.requests {
						_ = webhook.Sign(e.transport.secret, 1767323045, r.body)
					}
				}
			}
			b.ReportMetric(float64(len(s.plan.requests)), "requests/batch")
		})
	}
}

// BenchmarkLoopback is the exporter built by the factory pushing 100-record batches to an httptest server on
// loopback: "sync" without queue (one request at a time, measures the per-request cost), "queued" with the
// default sending queue and its 10 consumers (what a deployment runs).
func BenchmarkLoopback(b *testing.B) {
	var records atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		records.Add(100) // every request carries one whole 100-record batch
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	cases := []struct {
		name   string
		queued bool
		cfg    func(*Config)
	}{
		{"sync/array", false, func(*Config) {}},
		{"sync/ndjson", false, func(c *Config) { c.BatchFormat = FormatNDJSON }},
		{"sync/webhook_signed", false, func(c *Config) { c.Mode, c.Secret = ModeWebhook, configopaque.String("s3cr3t") }},
		{"sync/array_gzip", false, func(c *Config) { c.ClientConfig.Compression = "gzip" }},
		{"queued/array", true, func(*Config) {}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := syncConfig(srv.URL)
			if tc.queued {
				cfg = fastRetryConfig(srv.URL)
				cfg.QueueConfig.Get().BlockOnOverflow = true // measure delivery, not rejections of a full queue
			}
			tc.cfg(cfg)
			set := exportertest.NewNopSettings(metadata.Type)
			exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			batch := logstest.TypicalBatch(100)
			records.Store(0)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				ld := batch
				if tc.queued { // the queue's batcher may move records out: give it its own copy
					ld = plog.NewLogs()
					batch.CopyTo(ld)
				}
				if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			if err := exp.Shutdown(context.Background()); err != nil { // drains the queue
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(records.Load())/elapsed.Seconds(), "records/s")
		})
	}
}
