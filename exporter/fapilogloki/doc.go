// Package fapilogloki is the collector exporter for fapilog's loki sink: it pushes fapilog envelopes to Grafana Loki
// (or any Loki-push-compatible server) as snappy-compressed protobuf or JSON, with labels kept under a cardinality cap.
package fapilogloki
