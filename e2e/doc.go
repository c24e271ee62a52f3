// Package e2e holds the end-to-end tests: they build the distribution with ocb, start it with a test
// configuration on free ports, send OTLP logs over gRPC and HTTP, and read what reached each destination.
package e2e
