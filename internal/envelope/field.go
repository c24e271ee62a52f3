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
func (e *Entry) Field(path string) (value string, ok bool) {
	section, rest, nested := strings.Cut(path, ".")
	if !nested {
		switch path {
		case "timestamp":
			return string(appendTimestamp(nil, e.timestamp)), true
		case "level":
			return e.level, true
		case "logger":
			return e.logger, true
		case "message":
			return e.Message(), true
		case "tags":
			if e.tags.ok() {
				return e.text(e.value(e.tags)), true
			}
		}
		return "", false
	}
	switch section {
	case "context":
		return e.contextField(rest)
	case "diagnostics":
		return e.diagnosticsField(rest)
	case "data":
		if v, found := e.dataValue(rest); found {
			return e.text(v), true
		}
	}
	return "", false
}

func (e *Entry) contextField(key string) (string, bool) {
	ctx := &e.context
	switch key {
	case "message_id":
		return e.MessageID(), true
	case "correlation_id":
		return e.refString(ctx.correlationID)
	case "request_id":
		return e.refString(ctx.requestID)
	case "user_id":
		return e.refString(ctx.userID)
	case "tenant_id":
		return e.refString(ctx.tenantID)
	case "trace_id":
		if !e.traceID.IsEmpty() {
			return hex.EncodeToString(e.traceID[:]), true
		}
	case "span_id":
		if !e.spanID.IsEmpty() {
			return hex.EncodeToString(e.spanID[:]), true
		}
	}
	return "", false
}

func (e *Entry) diagnosticsField(key string) (string, bool) {
	d := &e.diag
	switch key {
	case "origin":
		return Origin, true
	case "service":
		return optionalString(d.service)
	case "env":
		return optionalString(d.env)
	case "version":
		return optionalString(d.version)
	case "host":
		return optionalString(d.host)
	case "pid":
		return optionalString(d.pid)
	}
	if attr, ok := strings.CutPrefix(key, "resource."); ok {
		if bit := liftBitOfResource(attr); bit != 0 && e.liftedRes&bit != 0 {
			return "", false
		}
		if v, found := lookupPath(e.resource, attr); found {
			return e.text(v), true
		}
	}
	return "", false
}

// dataValue finds a data field: record attributes first (unless lifted into the envelope), then map-body fields.
func (e *Entry) dataValue(path string) (pcommon.Value, bool) {
	if v, found := lookupPath(e.record.Attributes(), path); found {
		top, _, _ := strings.Cut(path, ".")
		if bit := liftBitOfAttribute(top); bit == 0 || e.liftedAttrs&bit == 0 {
			return v, true
		}
	}
	if e.hasBodyData {
		if top, _, _ := strings.Cut(path, "."); top != e.messageKey || e.messageKey == "" {
			return lookupPath(e.bodyData(), path)
		}
	}
	return pcommon.Value{}, false
}

// lookupPath resolves a dotted path in m, preferring the longest existing key at each level.
func lookupPath(m pcommon.Map, path string) (pcommon.Value, bool) {
	if v, ok := m.Get(path); ok {
		return v, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if v, ok := m.Get(path[:i]); ok && v.Type() == pcommon.ValueTypeMap {
			if inner, found := lookupPath(v.Map(), path[i+1:]); found {
				return inner, true
			}
		}
	}
	return pcommon.Value{}, false
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
	section, rest, nested := strings.Cut(path, ".")
	ok := false
	switch {
	case !nested:
		ok = path == "timestamp" || path == "level" || path == "logger" || path == "message" || path == "tags"
	case section == "context":
		switch rest {
		case "message_id", "correlation_id", "request_id", "user_id", "tenant_id", "trace_id", "span_id":
			ok = true
		}
	case section == "diagnostics":
		switch rest {
		case "origin", "service", "env", "version", "host", "pid":
			ok = true
		default:
			attr, isResource := strings.CutPrefix(rest, "resource.")
			ok = isResource && attr != ""
		}
	case section == "data":
		ok = rest != ""
	}
	if !ok {
		return fmt.Errorf("%q is not an envelope field (timestamp, level, logger, message, tags; context.<message_id|correlation_id|request_id|user_id|tenant_id|trace_id|span_id>; diagnostics.<origin|service|env|version|host|pid|resource.<attribute>>; data.<path>)", path)
	}
	return nil
}
