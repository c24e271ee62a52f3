// Package envelope is the only place that knows the fapilog record shape: it turns one OTLP log record
// (with its resource and scope) into the fapilog envelope and appends it to a byte slice as JSON, text or pretty.
package envelope
