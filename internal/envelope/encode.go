package envelope

import (
	"encoding/hex"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// SchemaVersion is the fapilog envelope schema written by AppendJSONLine.
const SchemaVersion = "1.1"

const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends the bare envelope object (the form sent to HTTP, Loki, CloudWatch and PostgreSQL):
// compact, keys sorted at every level, no trailing newline.
func (e *Entry) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"context":`...)
	dst = e.appendContext(dst)
	dst = append(dst, `,"data":`...)
	dst = e.appendData(dst)
	dst = append(dst, `,"diagnostics":`...)
	dst = e.appendDiagnostics(dst)
	dst = append(dst, `,"level":`...)
	dst = appendName(dst, e.level)
	dst = append(dst, `,"logger":`...)
	dst = appendName(dst, e.logger)
	dst = append(dst, `,"message":`...)
	dst = e.appendMessage(dst)
	if e.tags.ok() {
		dst = append(dst, `,"tags":`...)
		dst = e.appendField(dst, e.tags)
	}
	dst = append(dst, `,"timestamp":"`...)
	dst = e.isoTime.appendTimestamp(dst, e.timestamp)
	return append(dst, `"}`...)
}

// appendName writes a level or logger name as a JSON string: fapilog's own names, which most records carry and
// which hold nothing to escape, are written without appendJSONString's scan for such characters.
func appendName(dst []byte, name string) []byte {
	switch name {
	case LevelInfo, DefaultLogger, LevelDebug, LevelWarning, LevelError, LevelCritical, LevelTrace:
		dst = append(dst, '"')
		dst = append(dst, name...)
		return append(dst, '"')
	}
	return appendJSONString(dst, name)
}

// appendContext writes the context object.
func (e *Entry) appendContext(dst []byte) []byte {
	dst = append(dst, `{"correlation_id":`...)
	dst = e.appendOptional(dst, e.context.correlationID, "null")
	dst = append(dst, `,"message_id":`...)
	if e.context.messageID.ok() {
		dst = e.appendField(dst, e.context.messageID)
	} else {
		dst = append(dst, '"')
		dst = append(dst, e.derivedMessageID()...)
		dst = append(dst, '"')
	}
	dst = e.appendOptionalField(dst, "request_id", e.context.requestID)
	if !e.spanID.IsEmpty() {
		dst = append(dst, `,"span_id":"`...)
		dst = hex.AppendEncode(dst, e.spanID[:])
		dst = append(dst, '"')
	}
	dst = e.appendOptionalField(dst, "tenant_id", e.context.tenantID)
	if !e.traceID.IsEmpty() {
		dst = append(dst, `,"trace_id":"`...)
		dst = hex.AppendEncode(dst, e.traceID[:])
		dst = append(dst, '"')
	}
	dst = e.appendOptionalField(dst, "user_id", e.context.userID)
	return append(dst, '}')
}

// AppendJSONLine appends the envelope as fapilog's stdout_json / rotating_file line:
// {"log":{...},"schema_version":"1.1"} and a newline.
func (e *Entry) AppendJSONLine(dst []byte) []byte {
	dst = append(dst, `{"log":`...)
	dst = e.AppendJSON(dst)
	dst = append(dst, `,"schema_version":"`+SchemaVersion+`"}`...)
	return append(dst, '\n')
}

// MessageID returns the envelope's message_id: the record's own (log.record.uid or message_id attribute) or
// the one derived from its content.
func (e *Entry) MessageID() string {
	if e.context.messageID.ok() {
		return e.value(e.context.messageID).AsString()
	}
	return string(e.derivedMessageID())
}

func (e *Entry) derivedMessageID() []byte {
	if !e.messageIDHash.ready {
		e.deriveMessageID(&e.messageIDHash.id)
		e.messageIDHash.ready = true
	}
	return e.messageIDHash.id[:]
}

// appendField writes the field's value as JSON.
func (e *Entry) appendField(dst []byte, r fieldRef) []byte {
	return e.scratch.appendTyped(dst, e.value(r), e.typeOf(r))
}

func (e *Entry) appendOptional(dst []byte, r fieldRef, absent string) []byte {
	if !r.ok() {
		return append(dst, absent...)
	}
	return e.appendField(dst, r)
}

func (e *Entry) appendOptionalField(dst []byte, key string, r fieldRef) []byte {
	if !r.ok() {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return e.appendField(dst, r)
}

func (e *Entry) appendMessage(dst []byte) []byte {
	if e.hasMessageBody {
		return e.appendRenderedBody(dst)
	}
	return appendJSONString(dst, e.message)
}

// appendRenderedBody writes a body that is neither string nor map as the message text.
func (e *Entry) appendRenderedBody(dst []byte) []byte {
	return appendJSONString(dst, e.renderBody())
}

// renderBody renders a body that is neither string nor map into e.rendered: numbers and booleans as text, bytes
// as base64, lists as the compact JSON the envelope uses everywhere else.
func (e *Entry) renderBody() []byte {
	v, b := e.record.Body(), e.rendered[:0]
	switch v.Type() {
	case pcommon.ValueTypeInt:
		b = strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeBool:
		b = strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeSlice:
		b = e.scratch.appendValue(b, v)
	default:
		// Doubles and bytes, rare as a body, keep pdata's text; this may allocate.
		b = append(b, v.AsString()...)
	}
	keep(&e.rendered, b, maxKeptScratch)
	return b
}

// text is a value's text: a string as it is, anything else as compact JSON. It allocates unless v is a string.
func (e *Entry) text(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	b := e.scratch.appendValue(e.rendered[:0], v)
	keep(&e.rendered, b, maxKeptScratch)
	return string(b)
}

// appendDiagnostics writes the diagnostics object: the resource's part encoded once per resource, with the
// record's exception and unrepresentable_time put in where their keys sort.
func (e *Entry) appendDiagnostics(dst []byte) []byte {
	if !e.hasDiagnostics {
		e.encodeResourceDiagnostics()
	}
	d, cuts := e.diagnostics, e.diagnosticsCuts
	dst = append(dst, d[:cuts[0]]...)
	if e.exception.present() {
		dst = e.appendException(dst)
	}
	dst = append(dst, d[cuts[0]:cuts[1]]...)
	if e.unrepresentable.present() {
		dst = e.appendUnrepresentableTime(dst)
	}
	return append(dst, d[cuts[1]:]...)
}

// encodeResourceDiagnostics encodes the resource's diagnostics fields: {"env":..., | "host":...,"origin":"otlp",
// "pid":...,"resource":{...},"service":... | ,"version":...}, cut where exception and unrepresentable_time go.
func (e *Entry) encodeResourceDiagnostics() {
	d := &e.diag
	b := append(e.diagnostics[:0], '{')
	if d.env.ok {
		b = append(b, `"env":`...)
		b = e.scratch.appendValue(b, d.env.value)
		b = append(b, ',')
	}
	beforeException := len(b)
	if d.host.ok {
		b = append(b, `"host":`...)
		b = e.scratch.appendValue(b, d.host.value)
		b = append(b, ',')
	}
	b = append(b, `"origin":"`+Origin+`"`...)
	if d.pid.ok {
		b = append(b, `,"pid":`...)
		b = e.scratch.appendValue(b, d.pid.value)
	}
	if e.resource.Len() > bitCount(e.liftedRes) {
		b = e.appendOtherResource(b)
	}
	if d.service.ok {
		b = append(b, `,"service":`...)
		b = e.scratch.appendValue(b, d.service.value)
	}
	beforeUnrepresentable := len(b)
	if d.version.ok {
		b = append(b, `,"version":`...)
		b = e.scratch.appendValue(b, d.version.value)
	}
	b = append(b, '}')
	e.diagnostics, e.diagnosticsCuts, e.hasDiagnostics = b, [2]int{beforeException, beforeUnrepresentable}, true
}

// appendException writes "exception":{...}, from the record's exception.* attributes.
func (e *Entry) appendException(dst []byte) []byte {
	dst = append(dst, `"exception":{`...)
	sep := false
	for _, f := range [...]struct {
		key string
		val fieldRef
	}{{"error.message", e.exception.errMessage}, {"error.stack", e.exception.errStack}, {"error.type", e.exception.errType}} {
		if !f.val.ok() {
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = appendJSONString(dst, f.key)
		dst = append(dst, ':')
		dst = e.appendField(dst, f.val)
	}
	return append(dst, `},`...)
}

func (e *Entry) appendOtherResource(dst []byte) []byte {
	base := len(e.scratch.stack)
	for k, v := range e.resource.All() {
		if bit := liftBitOfResource(k); bit != 0 && e.liftedRes&bit != 0 {
			continue
		}
		e.scratch.push(jsonKey(k), v)
	}
	if len(e.scratch.stack) > base {
		dst = append(dst, `,"resource":`...)
		dst = e.scratch.appendSortedObject(dst, base)
	}
	return dst
}

// appendUnrepresentableTime keeps the original timestamps that could not be used, as decimal strings (as OTLP/JSON
// writes its 64-bit integers) so that no JSON reader rounds them.
func (e *Entry) appendUnrepresentableTime(dst []byte) []byte {
	u := e.unrepresentable
	dst = append(dst, `,"unrepresentable_time":{`...)
	if u.observed != 0 {
		dst = append(dst, `"observed_time_unix_nano":"`...)
		dst = strconv.AppendUint(dst, uint64(u.observed), 10)
		dst = append(dst, '"')
		if u.timestamp != 0 {
			dst = append(dst, ',')
		}
	}
	if u.timestamp != 0 {
		dst = append(dst, `"time_unix_nano":"`...)
		dst = strconv.AppendUint(dst, uint64(u.timestamp), 10)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

func bitCount(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
