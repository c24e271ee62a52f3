// Package fapilogfile is the fapilog file exporter: fapilog's rotating_file, stdout_json and stdout_pretty
// sinks as one collector exporter writing JSON lines, text or pretty console output with rotation and retention.
package fapilogfile // import "github.com/fapilog/fapilog-otelcol/exporter/fapilogfile"
