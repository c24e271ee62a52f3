package fapilogfile

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Values of the reason attribute: why a file was rotated, removed or opened again.
const (
	reasonSize          = "size"
	reasonInterval      = "interval"
	reasonMaxFiles      = "max_files"
	reasonMaxTotalBytes = "max_total_bytes"
	reasonMaxAge        = "max_age"
	reasonTruncated     = "truncated"
	reasonReplaced      = "replaced"
)

// attributeOptions are built once: the reason and operation sets are small and fixed.
var attributeOptions = func() map[string]metric.MeasurementOption {
	opts := map[string]metric.MeasurementOption{}
	for _, r := range []string{reasonSize, reasonInterval, reasonMaxFiles, reasonMaxTotalBytes, reasonMaxAge, reasonTruncated, reasonReplaced} {
		opts["reason="+r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	for _, op := range []string{opOpen, opWrite, opSync, opRename} {
		opts["operation="+op] = metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", op)))
	}
	return opts
}()

func reasonAttribute(reason string) metric.MeasurementOption {
	return attributeOptions["reason="+reason]
}

func operationAttribute(op string) metric.MeasurementOption { return attributeOptions["operation="+op] }
