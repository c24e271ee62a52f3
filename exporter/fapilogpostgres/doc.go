// Package fapilogpostgres is the fapilog PostgreSQL exporter: fapilog's postgres sink as a collector exporter that
// loads envelopes into the seed's logs table with binary COPY, deduplicating retried batches on message_id, and
// optionally keeps that table partitioned by time with retention.
package fapilogpostgres // import "github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres"
