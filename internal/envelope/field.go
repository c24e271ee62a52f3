package envelope

import (
	"encoding/hex"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Field returns the string value of an envelope field named by its dotted path: a top-level key (timestamp,
// level, logger, message, tags), context.<key>, diagnostics.<key> (diagnostics.resource.<attr> too) or
// data.<path>. Data keys may themselves contain dots (OpenTelemetry's http.method): the longest key that exists
// wins at each level. Objects and lists come back as compact JSON. ok is false when the field is absent or null.
// Callers that read the same paths from every record compile them once with CompileField.
func (e *Entry) Field(path string) (value string, ok bool) {
	var f CompiledField
	f.parse(path)
	return f.of(e)
}

// CompiledField is an envelope field path parsed once, for exporters that read the same fields from every record
// (labels, columns, stream names): Of returns what Entry.Field returns for the path without parsing it again. A
// CompiledField holds no state of any record and may be used by several goroutines at once.
type CompiledField struct {
	kind fieldKind
	// path is the attribute path of a data or diagnostics.resource field; top its first segment.
	path, top string
	// liftBit is the lift bit of top (data: liftBitOfAttribute; diagnostics.resource: liftBitOfResource).
	liftBit uint32
}

type fieldKind uint8

const (
	fieldNone fieldKind = iota
	fieldTimestamp
	fieldLevel
	fieldLogger
	fieldMessage
	fieldTags
	fieldMessageID
	fieldCorrelationID
	fieldRequestID
	fieldUserID
	fieldTenantID
	fieldTraceID
	fieldSpanID
	fieldOrigin
	fieldService
	fieldEnv
	fieldVersion
	fieldHost
	fieldPID
	fieldResource
	fieldData
)

// CompileField parses path once; the error is ValidFieldPath's.
func CompileField(path string) (CompiledField, error) {
	if err := ValidFieldPath(path); err != nil {
		return CompiledField{}, err
	}
	var f CompiledField
	f.parse(path)
	return f, nil
}

// parse reads any path the way Field reads it: one that names no field leaves f finding nothing.
func (f *CompiledField) parse(path string) {
	switch path {
	case "timestamp":
		f.kind = fieldTimestamp
	case "level":
		f.kind = fieldLevel
	case "logger":
		f.kind = fieldLogger
	case "message":
		f.kind = fieldMessage
	case "tags":
		f.kind = fieldTags
	case "context.message_id":
		f.kind = fieldMessageID
	case "context.correlation_id":
		f.kind = fieldCorrelationID
	case "context.request_id":
		f.kind = fieldRequestID
	case "context.user_id":
		f.kind = fieldUserID
	case "context.tenant_id":
		f.kind = fieldTenantID
	case "context.trace_id":
		f.kind = fieldTraceID
	case "context.span_id":
		f.kind = fieldSpanID
	case "diagnostics.origin":
		f.kind = fieldOrigin
	case "diagnostics.service":
		f.kind = fieldService
	case "diagnostics.env":
		f.kind = fieldEnv
	case "diagnostics.version":
		f.kind = fieldVersion
	case "diagnostics.host":
		f.kind = fieldHost
	case "diagnostics.pid":
		f.kind = fieldPID
	default:
		if attr, ok := strings.CutPrefix(path, "diagnostics.resource."); ok {
			f.kind, f.path, f.liftBit = fieldResource, attr, liftBitOfResource(attr)
		} else if rest, ok := strings.CutPrefix(path, "data."); ok {
			top, _, _ := strings.Cut(rest, ".")
			f.kind, f.path, f.top, f.liftBit = fieldData, rest, top, liftBitOfAttribute(top)
		}
	}
}

// Of returns the field's string value in e's record; ok is false when it is absent or null.
func (f CompiledField) Of(e *Entry) (value string, ok bool) { return f.of(e) }

func (f *CompiledField) of(e *Entry) (value string, ok bool) {
	ctx, d := &e.context, &e.diag
	switch f.kind {
	case fieldTimestamp:
		return string(appendTimestamp(nil, e.timestamp)), true
	case fieldLevel:
		return e.level, true
	case fieldLogger:
		return e.logger, true
	case fieldMessage:
		return e.Message(), true
	case fieldTags:
		if e.tags.ok() {
			return e.text(e.value(e.tags)), true
		}
	case fieldMessageID:
		return e.MessageID(), true
	case fieldCorrelationID:
		return e.refString(ctx.correlationID)
	case fieldRequestID:
		return e.refString(ctx.requestID)
	case fieldUserID:
		return e.refString(ctx.userID)
	case fieldTenantID:
		return e.refString(ctx.tenantID)
	case fieldTraceID:
		if !e.traceID.IsEmpty() {
			return hex.EncodeToString(e.traceID[:]), true
		}
	case fieldSpanID:
		if !e.spanID.IsEmpty() {
			return hex.EncodeToString(e.spanID[:]), true
		}
	case fieldOrigin:
		return Origin, true
	case fieldService:
		return optionalString(d.service)
	case fieldEnv:
		return optionalString(d.env)
	case fieldVersion:
		return optionalString(d.version)
	case fieldHost:
		return optionalString(d.host)
	case fieldPID:
		return optionalString(d.pid)
	case fieldResource:
		if f.liftBit != 0 && e.liftedRes&f.liftBit != 0 {
			return "", false
		}
		if v, found := lookupPath(e.resource, f.path); found {
			return e.text(v), true
		}
	case fieldData:
		if v, found := e.dataValue(f); found {
			return e.text(v), true
		}
	}
	return "", false
}

// dataValue finds a data field: record attributes first (unless lifted into the envelope), then map-body fields.
func (e *Entry) dataValue(f *CompiledField) (pcommon.Value, bool) {
	if v, key, found := lookupPathKey(e.record.Attributes(), f.path); found {
		// Lifted or not is a property of the attribute the path resolved through: its first segment
		// (correlation_id) or a dotted key as a whole (logger.name, exception.type, log.record.uid).
		bit := f.liftBit
		if key != f.top {
			bit = liftBitOfAttribute(key)
		}
		if bit == 0 || e.liftedAttrs&bit == 0 {
			return v, true
		}
	}
	if e.hasBodyData && (f.top != e.messageKey || e.messageKey == "") {
		return lookupPath(e.bodyData(), f.path)
	}
	return pcommon.Value{}, false
}

// lookupPath resolves a dotted path in m, preferring the longest existing key at each level.
func lookupPath(m pcommon.Map, path string) (pcommon.Value, bool) {
	v, _, found := lookupPathKey(m, path)
	return v, found
}

// lookupPathKey is lookupPath that also returns the key of m the path resolved through.
func lookupPathKey(m pcommon.Map, path string) (pcommon.Value, string, bool) {
	if v, ok := m.Get(path); ok {
		return v, path, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if v, ok := m.Get(path[:i]); ok && v.Type() == pcommon.ValueTypeMap {
			if inner, found := lookupPath(v.Map(), path[i+1:]); found {
				return inner, path[:i], true
			}
		}
	}
	return pcommon.Value{}, "", false
}

func optionalString(o optionalValue) (string, bool) {
	if !o.ok || o.value.Type() == pcommon.ValueTypeEmpty {
		return "", false
	}
	return o.value.AsString(), true
}

func (e *Entry) refString(r fieldRef) (string, bool) {
	if !r.ok() {
		return "", false
	}
	return optionalString(optionalValue{e.value(r), true})
}

// ValidFieldPath reports whether Field can ever resolve path, for validating configured paths at start:
// a top-level key, context.<key>, diagnostics.<key> (or diagnostics.resource.<attribute>) or data.<path>.
func ValidFieldPath(path string) error {
	var f CompiledField
	f.parse(path)
	if f.kind == fieldNone || (f.kind == fieldResource || f.kind == fieldData) && f.path == "" {
		return fmt.Errorf("%q is not an envelope field (timestamp, level, logger, message, tags; context.<message_id|correlation_id|request_id|user_id|tenant_id|trace_id|span_id>; diagnostics.<origin|service|env|version|host|pid|resource.<attribute>>; data.<path>)", path)
	}
	return nil
}
