package fapilogpostgres

import (
	"strings"
)

// fieldSource says where the value of an extracted column comes from.
type fieldSource uint8

const (
	sourceTimestamp fieldSource = iota // envelope timestamp, as a TIMESTAMPTZ
	sourceLevel                        // envelope level (always set; INFO by default)
	sourceLogger                       // envelope logger (always set; root by default)
	sourceMessage                      // envelope message (always set; "" by default)
	sourceMessageID                    // context.message_id (always set; derived from the content when absent)
	sourcePath                         // any other context.* / diagnostics.* field; NULL when absent
)

// extractField is one field fapilog can copy from the envelope into a column of the same name.
type extractField struct {
	name   string
	source fieldSource
	// path is the envelope path handed to envelope.Entry.Field for sourcePath fields.
	path string
	// sqlType is the column type create_table gives it: the seed's types for the seed's columns, TEXT otherwise.
	sqlType string
}

// extractFields lists every field extract_fields may name, in the order the README documents them.
var extractFields = []extractField{
	{name: "timestamp", source: sourceTimestamp, sqlType: "TIMESTAMPTZ"},
	{name: "level", source: sourceLevel, sqlType: "VARCHAR(10)"},
	{name: "logger", source: sourceLogger, sqlType: "VARCHAR(255)"},
	{name: "correlation_id", source: sourcePath, path: "context.correlation_id", sqlType: "VARCHAR(64)"},
	{name: "message", source: sourceMessage, sqlType: "TEXT"},
	{name: "message_id", source: sourceMessageID, sqlType: "TEXT"},
	{name: "request_id", source: sourcePath, path: "context.request_id", sqlType: "TEXT"},
	{name: "user_id", source: sourcePath, path: "context.user_id", sqlType: "TEXT"},
	{name: "tenant_id", source: sourcePath, path: "context.tenant_id", sqlType: "TEXT"},
	{name: "trace_id", source: sourcePath, path: "context.trace_id", sqlType: "TEXT"},
	{name: "span_id", source: sourcePath, path: "context.span_id", sqlType: "TEXT"},
	{name: "origin", source: sourcePath, path: "diagnostics.origin", sqlType: "TEXT"},
	{name: "service", source: sourcePath, path: "diagnostics.service", sqlType: "TEXT"},
	{name: "env", source: sourcePath, path: "diagnostics.env", sqlType: "TEXT"},
	{name: "host", source: sourcePath, path: "diagnostics.host", sqlType: "TEXT"},
	{name: "pid", source: sourcePath, path: "diagnostics.pid", sqlType: "TEXT"},
}

// seedColumns are the extracted columns of the seed's CREATE TABLE, in its order; create_table always creates
// them (as fapilog does) whether or not extract_fields names them.
var seedColumns = []string{"timestamp", "level", "logger", "correlation_id", "message"}

// messageIDColumn is the column that carries context.message_id for duplicate protection.
const messageIDColumn = "message_id"

// eventColumn holds the envelope (or the extracted fields) as JSON/JSONB.
const eventColumn = "event"

func lookupExtractField(name string) (extractField, bool) {
	for _, f := range extractFields {
		if f.name == name {
			return f, true
		}
	}
	return extractField{}, false
}

func extractFieldNames() string {
	names := make([]string, len(extractFields))
	for i, f := range extractFields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func defaultExtractFields() []string {
	return append([]string(nil), seedColumns...)
}
