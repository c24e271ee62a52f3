// Package breaker is the circuit breaker every network exporter puts in front of its backend: after a run of
// failures it fails fast with a retryable error, so data waits in the sending queue instead of hammering a dead backend.
package breaker
