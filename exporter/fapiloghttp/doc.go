// Package fapiloghttp is the collector exporter for fapilog's http and webhook sinks: it POSTs fapilog envelopes as
// a JSON array, NDJSON or a wrapped object, optionally HMAC-signed, and retries what fapilog would drop.
package fapiloghttp
