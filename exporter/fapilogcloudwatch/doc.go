// Package fapilogcloudwatch is the collector exporter for fapilog's cloudwatch sink: it sends fapilog envelopes to
// AWS CloudWatch Logs in PutLogEvents requests that obey the service's limits exactly.
package fapilogcloudwatch
