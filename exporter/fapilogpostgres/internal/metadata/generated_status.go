// Written by hand in the shape mdatagen generates (mdatagen is not served by the module proxy here).
// Keep in sync with ../../metadata.yaml.

// Package metadata contains the telemetry and build information of the exporter/fapilogpostgres component.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("fapilogpostgres")
	ScopeName = "github.com/fapilog/fapilog-otelcol/exporter/fapilogpostgres"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
