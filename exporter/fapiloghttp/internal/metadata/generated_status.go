// Written by hand in the shape mdatagen generates (mdatagen is not served by the module proxy here). Keep in sync
// with ../../metadata.yaml.

// Package metadata contains the build information for the exporter/fapiloghttp component.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("fapiloghttp")
	ScopeName = "github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
