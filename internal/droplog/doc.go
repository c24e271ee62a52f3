// Package droplog reports records an exporter gives up on: every drop is counted in a metric and logged, at most
// once per interval per reason, so that a flood of bad records cannot flood the collector's own log.
package droplog
