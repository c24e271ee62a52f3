// Package breaker is the circuit breaker every network exporter puts in front of its backend: after a run of
// failures it holds requests back (the queue in front of the exporter fills and pushes back on the receivers) until
// one probe says the backend answers again, so a dead backend is left alone without costing any record.
package breaker
