// Written by hand in the shape mdatagen generates from ../../metadata.yaml (mdatagen is not served by the module
// proxy here); keep the two in sync.

package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("fapilogfile")
	ScopeName = "github.com/fapilog/fapilog-otelcol/exporter/fapilogfile"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
