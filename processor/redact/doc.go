// Package redact is a logs processor that runs fapilog's redactors (field masks, path regexes, URL credentials,
// high-risk field blocking, truncation) and secret detection inside string content on every log record.
package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"
