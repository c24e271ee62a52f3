// Written by hand in the shape mdatagen generates from ../../metadata.yaml (mdatagen is not served by the module
// proxy here); keep the two in sync.

// Package metadata holds the identity and the telemetry instruments of the processor/redact component, as
// declared in its metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("redact")
	ScopeName = "github.com/fapilog/fapilog-otelcol/processor/redact"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
