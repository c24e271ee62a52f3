package envelope

import (
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Canonical level names, fapilog's vocabulary.
const (
	LevelTrace    = "TRACE"
	LevelDebug    = "DEBUG"
	LevelInfo     = "INFO"
	LevelWarning  = "WARNING"
	LevelError    = "ERROR"
	LevelCritical = "CRITICAL"
)

// DefaultLogger is the logger name of a record that names none, as in fapilog.
const DefaultLogger = "root"

// Origin is the value of diagnostics.origin for every record that came in over OTLP.
const Origin = "otlp"

// Record attributes that the envelope lifts out of data into context, logger, tags or diagnostics.exception.
// A bit is set in Entry.liftedAttrs only when the attribute's value was actually used, so that an attribute
// shadowed by a preferred source (logger.name when the scope has a name) stays visible in data.
const (
	liftRecordUID uint32 = 1 << iota
	liftMessageID
	liftCorrelationID
	liftRequestID
	liftUserID
	liftEndUserID
	liftTenantID
	liftLoggerName
	liftExceptionType
	liftExceptionMessage
	liftExceptionStack
	liftTags
)

func liftBitOfAttribute(key string) uint32 {
	switch key {
	case "log.record.uid":
		return liftRecordUID
	case "message_id":
		return liftMessageID
	case "correlation_id":
		return liftCorrelationID
	case "request_id":
		return liftRequestID
	case "user_id":
		return liftUserID
	case "enduser.id":
		return liftEndUserID
	case "tenant_id":
		return liftTenantID
	case "logger.name":
		return liftLoggerName
	case "exception.type":
		return liftExceptionType
	case "exception.message":
		return liftExceptionMessage
	case "exception.stacktrace":
		return liftExceptionStack
	case "tags":
		return liftTags
	}
	return 0
}

// Resource attributes that become named diagnostics fields instead of diagnostics.resource entries.
const (
	liftServiceName uint32 = 1 << iota
	liftEnvironmentName
	liftEnvironment
	liftServiceVersion
	liftHostName
	liftProcessPID
)

func liftBitOfResource(key string) uint32 {
	switch key {
	case "service.name":
		return liftServiceName
	case "deployment.environment.name":
		return liftEnvironmentName
	case "deployment.environment":
		return liftEnvironment
	case "service.version":
		return liftServiceVersion
	case "host.name":
		return liftHostName
	case "process.pid":
		return liftProcessPID
	}
	return 0
}

// Entry is one record seen as a fapilog envelope. It keeps references into the pdata record rather than copies,
// so Reset costs no allocation; an Entry is reused record after record and is not safe for concurrent use.
// The record must not change while the Entry refers to it.
type Entry struct {
	recordState
	resourceState
	scope pcommon.InstrumentationScope
	// prefix caches the scope's and resource's part of the derived message_id.
	prefix idPrefix

	// fields is the record's attributes and map-body fields, data's candidates.
	fields  dataFields
	scratch sortScratch
	// idScratch holds the canonical encoding hashed into the derived message_id, hashPending the nested values
	// still to encode.
	idScratch   []byte
	hashPending []hashItem
	// rendered holds a value rendered as text (a list body, a pretty value); prettyKey the dotted key path.
	rendered, prettyKey []byte
	prettyTime          prettyTimeCache
	isoTime             timestampCache
}

// recordState is what an Entry knows of the record itself; it is replaced for every record. While the garbage
// collector marks, every pointer stored into the heap costs a write barrier, zeroing one included, so the state
// holds few: the record's attributes are referred to by fieldRef rather than by their pdata values, and the
// pointer fields are each written once per record while the rest, recordFacts, is zeroed whole.
type recordState struct {
	record     plog.LogRecord
	timestamp  time.Time
	level      string
	message    string
	messageKey string
	logger     string
	recordFacts
}

// recordFacts is the part of the record state that holds no pointer.
type recordFacts struct {
	// bodyType is the type of the record's body.
	bodyType pcommon.ValueType
	// hasMessageBody is set when the body is neither a string nor a map; it is rendered as text on demand.
	hasMessageBody bool
	// hasBodyData is set when the body is a map, whose keys other than messageKey go to data.
	hasBodyData bool

	context       contextFields
	traceID       pcommon.TraceID
	spanID        pcommon.SpanID
	liftedAttrs   uint32
	exception     exceptionFields
	tags          fieldRef
	messageIDHash messageIDState

	// unrepresentable holds the timestamps at or above 2^63 ns, which the envelope keeps under diagnostics.
	unrepresentable unrepresentableTime
}

// resourceState is what an Entry knows of the record's resource. ForEach sets it once per ResourceLogs, so the
// resource is lifted into diagnostics and encoded once for all of its records.
type resourceState struct {
	res       pcommon.Resource
	resource  pcommon.Map
	liftedRes uint32
	diag      diagnosticsFields
	// diagnostics is the resource's part of the diagnostics object, encoded on first use; the record's own parts
	// (exception, unrepresentable_time) go in at diagnosticsCuts, where their keys sort.
	diagnostics     []byte
	diagnosticsCuts [2]int
	hasDiagnostics  bool
}

type unrepresentableTime struct {
	timestamp, observed pcommon.Timestamp
}

func (u unrepresentableTime) present() bool { return u.timestamp != 0 || u.observed != 0 }

type optionalValue struct {
	value pcommon.Value
	ok    bool
}

func (o *optionalValue) set(v pcommon.Value) {
	o.value, o.ok = v, true
}

// fieldRef is one of the record's fields, attributes then map-body fields (Entry.fields), by its index plus one;
// 0 is none.
type fieldRef int32

func refOf(i int) fieldRef { return fieldRef(i + 1) }

func (r fieldRef) ok() bool { return r != 0 }

// value is the field's value; r must be set.
func (e *Entry) value(r fieldRef) pcommon.Value { return e.fields.values[r-1] }

// typeOf is the type of the field's value; r must be set.
func (e *Entry) typeOf(r fieldRef) pcommon.ValueType { return e.fields.types[r-1] }

type contextFields struct {
	messageID     fieldRef
	correlationID fieldRef
	requestID     fieldRef
	userID        fieldRef
	tenantID      fieldRef
}

type diagnosticsFields struct {
	service, env, version, host, pid optionalValue
}

type exceptionFields struct {
	errType, errMessage, errStack fieldRef
}

func (x *exceptionFields) present() bool {
	return x.errType.ok() || x.errMessage.ok() || x.errStack.ok()
}

// Reset points the entry at a new record. receivedAt stands in for the timestamp when the record has neither
// Timestamp nor ObservedTimestamp (a timestamp at or above 2^63 ns counts as missing; see doc.go).
func (e *Entry) Reset(resource pcommon.Resource, scope pcommon.InstrumentationScope, record plog.LogRecord, receivedAt time.Time) {
	e.setResource(resource)
	e.setScope(scope)
	e.setRecord(record, receivedAt)
}

func (e *Entry) setResource(resource pcommon.Resource) {
	e.scratch.releaseStale()
	e.resourceState = resourceState{res: resource, resource: resource.Attributes(), diagnostics: releaseIfHuge(e.diagnostics)}
	e.liftResource()
	e.prefix = idPrefix{}
}

func (e *Entry) setScope(scope pcommon.InstrumentationScope) {
	e.scope = scope
	e.prefix.hasScope = false
}

func (e *Entry) setRecord(record plog.LogRecord, receivedAt time.Time) {
	e.recordFacts = recordFacts{}
	e.record = record
	e.scratch.releaseIfHuge()
	if cap(e.prettyKey) > maxKeptScratch { // rendered is kept only when small (keep)
		e.prettyKey = nil
	}

	ts, observed := record.Timestamp(), record.ObservedTimestamp()
	switch {
	case representable(ts):
		e.timestamp = ts.AsTime()
	case representable(observed):
		e.timestamp = observed.AsTime()
	default:
		e.timestamp = receivedAt
	}
	if !representable(ts) && ts != 0 {
		e.unrepresentable.timestamp = ts
	}
	if !representable(observed) && observed != 0 {
		e.unrepresentable.observed = observed
	}
	e.level = levelOf(record.SeverityText(), record.SeverityNumber())
	e.message, e.messageKey = e.setBody(record.Body())
	e.traceID = record.TraceID()
	e.spanID = record.SpanID()
	attrs := record.Attributes()
	bodyFields := 0
	if e.hasBodyData {
		bodyFields = e.bodyData().Len()
	}
	e.fields.begin(attrs.Len(), bodyFields)
	loggerName := e.liftAttributes(attrs)
	if e.hasBodyData {
		i := e.fields.attrs
		for k, v := range e.bodyData().All() {
			e.fields.set(i, k, v, false)
			i++
		}
	}
	logger := e.scope.Name()
	if logger == "" {
		if loggerName.ok() && e.typeOf(loggerName) == pcommon.ValueTypeStr && e.value(loggerName).Str() != "" {
			logger = e.value(loggerName).Str()
			e.liftedAttrs |= liftLoggerName
		} else {
			logger = DefaultLogger
		}
	}
	e.logger = logger
}

// representable reports whether ts is set and fits time.Time's int64 nanoseconds: OTLP timestamps are unsigned,
// and one at or above 2^63 would otherwise be written as a date in 1677 or 1969.
func representable(ts pcommon.Timestamp) bool { return ts != 0 && ts <= math.MaxInt64 }

// setBody reads the body's type and returns the envelope's message and, for a map body, the key it came from.
func (e *Entry) setBody(body pcommon.Value) (message, messageKey string) {
	e.bodyType = body.Type()
	switch e.bodyType {
	case pcommon.ValueTypeStr:
		return body.Str(), ""
	case pcommon.ValueTypeMap:
		e.hasBodyData = true
		for _, key := range [...]string{"message", "msg"} {
			if v, ok := body.Map().Get(key); ok && v.Type() == pcommon.ValueTypeStr {
				return v.Str(), key
			}
		}
	case pcommon.ValueTypeEmpty:
	default:
		e.hasMessageBody = true
	}
	return "", ""
}

// bodyData is the record's map body; hasBodyData must be set.
func (e *Entry) bodyData() pcommon.Map { return e.record.Body().Map() }

// liftAttributes lifts the record's attributes into the envelope in one pass and returns the first logger.name.
// Where two attributes feed one field, the preferred one wins whatever their order, and where a key repeats (not
// valid OTLP) the first occurrence of a preferred key counts, as pcommon.Map.Get would find it.
func (e *Entry) liftAttributes(attrs pcommon.Map) (loggerName fieldRef) {
	ctx := &e.context
	var recordUID, messageID, userID, endUserID fieldRef
	i := 0
	for k, v := range attrs.All() {
		bit := e.fields.set(i, k, v, true)
		ref := refOf(i)
		i++
		switch bit {
		case liftRecordUID:
			if !recordUID.ok() {
				recordUID = ref
			}
		case liftMessageID:
			if !messageID.ok() {
				messageID = ref
			}
		case liftCorrelationID:
			ctx.correlationID = ref
		case liftRequestID:
			ctx.requestID = ref
			e.liftedAttrs |= liftRequestID
		case liftUserID:
			if !userID.ok() {
				userID = ref
			}
		case liftEndUserID:
			if !endUserID.ok() {
				endUserID = ref
			}
		case liftTenantID:
			ctx.tenantID = ref
			e.liftedAttrs |= liftTenantID
		case liftLoggerName:
			if !loggerName.ok() {
				loggerName = ref
			}
		case liftExceptionType:
			e.exception.errType = ref
			e.liftedAttrs |= liftExceptionType
		case liftExceptionMessage:
			e.exception.errMessage = ref
			e.liftedAttrs |= liftExceptionMessage
		case liftExceptionStack:
			e.exception.errStack = ref
			e.liftedAttrs |= liftExceptionStack
		case liftTags:
			if isStringList(v) {
				e.tags = ref
				e.liftedAttrs |= liftTags
			}
		}
	}
	switch {
	case recordUID.ok():
		ctx.messageID = recordUID
		e.liftedAttrs |= liftRecordUID
	case messageID.ok():
		ctx.messageID = messageID
		e.liftedAttrs |= liftMessageID
	}
	switch {
	case userID.ok():
		ctx.userID = userID
		e.liftedAttrs |= liftUserID
	case endUserID.ok():
		ctx.userID = endUserID
		e.liftedAttrs |= liftEndUserID
	}
	if ctx.correlationID.ok() {
		e.liftedAttrs |= liftCorrelationID
	} else if ctx.requestID.ok() {
		ctx.correlationID = ctx.requestID
	}
	return loggerName
}

func isStringList(v pcommon.Value) bool {
	if v.Type() != pcommon.ValueTypeSlice {
		return false
	}
	sl := v.Slice()
	for i := 0; i < sl.Len(); i++ {
		if sl.At(i).Type() != pcommon.ValueTypeStr {
			return false
		}
	}
	return true
}

func (e *Entry) liftResource() {
	d := &e.diag
	var envFallback optionalValue
	for k, v := range e.resource.All() {
		switch liftBitOfResource(k) {
		case liftServiceName:
			d.service.set(v)
			e.liftedRes |= liftServiceName
		case liftEnvironmentName:
			d.env.set(v)
			e.liftedRes |= liftEnvironmentName
		case liftEnvironment:
			envFallback.set(v)
		case liftServiceVersion:
			d.version.set(v)
			e.liftedRes |= liftServiceVersion
		case liftHostName:
			d.host.set(v)
			e.liftedRes |= liftHostName
		case liftProcessPID:
			d.pid.set(v)
			e.liftedRes |= liftProcessPID
		}
	}
	if !d.env.ok && envFallback.ok {
		d.env = envFallback
		e.liftedRes |= liftEnvironment
	}
}

// levelOf maps OTLP severity to fapilog's level names.
func levelOf(text string, number plog.SeverityNumber) string {
	if text != "" {
		if level := knownLevel(text); level != "" {
			return level
		}
		return strings.ToUpper(text)
	}
	switch {
	case number >= 1 && number <= 8:
		return LevelDebug
	case number >= 9 && number <= 12:
		return LevelInfo
	case number >= 13 && number <= 16:
		return LevelWarning
	case number >= 17 && number <= 20:
		return LevelError
	case number >= 21:
		return LevelCritical
	}
	return LevelInfo
}

// knownLevel is the canonical name of a severity text fapilog knows (info, warn, warning, error, debug, trace,
// fatal, critical), in any letter case, or "". It takes the names of the text's length and compares ASCII letters
// without case, which is what strings.EqualFold does here: the names are ASCII letters, and a text of the same byte
// length holding any other UTF-8 character has fewer characters than the name, so it cannot fold to it.
func knownLevel(text string) string {
	if len(text) >= len(levelsByLength) {
		return ""
	}
	for _, k := range levelsByLength[len(text)] {
		if foldsTo(text, k.text) {
			return k.level
		}
	}
	return ""
}

// levelsByLength holds the severity texts fapilog knows, in lower case, with their canonical level names,
// indexed by the texts' length.
var levelsByLength = [...][]struct{ text, level string }{
	4: {{"info", LevelInfo}, {"warn", LevelWarning}},
	5: {{"error", LevelError}, {"debug", LevelDebug}, {"trace", LevelTrace}, {"fatal", LevelCritical}},
	7: {{"warning", LevelWarning}},
	8: {{"critical", LevelCritical}},
}

// foldsTo reports whether text, of lower's length, is lower (lower-case ASCII letters) in any letter case: setting
// bit 0x20 turns exactly a letter's upper-case form into its lower-case one.
func foldsTo(text, lower string) bool {
	for i := range len(lower) {
		if text[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// Time is the record's own time (Timestamp, else ObservedTimestamp, else the receive time).
func (e *Entry) Time() time.Time { return e.timestamp }

// Level is the fapilog level name.
func (e *Entry) Level() string { return e.level }

// Logger is the logger name.
func (e *Entry) Logger() string { return e.logger }

// Message is the envelope's message.
func (e *Entry) Message() string {
	if e.hasMessageBody {
		return string(e.renderBody())
	}
	return e.message
}
