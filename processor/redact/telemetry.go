package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

// counterID says which `redactor` attribute a changed value is counted under. value_patterns is not among
// them: it is counted by the kind of secret it replaced.
type counterID uint8

const (
	countPresets counterID = iota
	countFieldMask
	countRegexMask
	countURLCredentials
	countFieldBlocker
	countStringTruncate
	numCounters
)

const namePresets = "presets"

var counterNames = [numCounters]string{
	countPresets:        namePresets,
	countFieldMask:      nameFieldMask,
	countRegexMask:      nameRegexMask,
	countURLCredentials: nameURLCredentials,
	countFieldBlocker:   nameFieldBlocker,
	countStringTruncate: nameStringTruncate,
}

// The guardrails, in the order of batchCounts.guardrail.
const (
	guardMaxDepth = iota
	guardMaxKeys
	numGuardrails
)

var guardrailNames = [numGuardrails]string{guardMaxDepth: "max_depth", guardMaxKeys: "max_keys_scanned"}

// dropReason says why a record is dropped.
type dropReason uint8

const (
	keep dropReason = iota
	dropGuardrail
	dropFailure
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{dropGuardrail: "guardrail", dropFailure: "failure"}

// walkOutcome is what happened during the walk of one record (or one resource) besides the redactions.
type walkOutcome struct {
	overDepth, overKeys bool // a guardrail was exceeded
	failed              bool // a redactor panicked
	drop                dropReason
}

// orEvents adds the guardrail and failure events of o (the record's resource) to the record's own.
func (r walkOutcome) orEvents(o walkOutcome) walkOutcome {
	r.overDepth = r.overDepth || o.overDepth
	r.overKeys = r.overKeys || o.overKeys
	r.failed = r.failed || o.failed
	return r
}

// batchCounts accumulates what one processLogs call did; it is added to the metrics once, at the end of the
// batch, so the walk itself only increments plain integers in the (pooled, single-goroutine) walker.
type batchCounts struct {
	fields    [numCounters]int64
	secrets   [numKinds]int64 // values in which value_patterns replaced at least one secret of the kind
	guardrail [numGuardrails]int64
	failed    int64
	dropped   [numDropReasons]int64

	// The first failure of the batch, for the (rate-limited) warning.
	firstFailure, firstFailureIn string
}

// addRecords counts n records that share the outcome o (n > 1 when a resource decided for all its records).
func (c *batchCounts) addRecords(o walkOutcome, n int64) {
	if o == (walkOutcome{}) {
		return
	}
	if o.overDepth {
		c.guardrail[guardMaxDepth] += n
	}
	if o.overKeys {
		c.guardrail[guardMaxKeys] += n
	}
	if o.failed {
		c.failed += n
	}
	if o.drop != keep {
		c.dropped[o.drop] += n
	}
}

// redactMetrics records batchCounts through the component's MeterProvider. Every attribute set a processor
// can report is built once, at creation, so recording allocates nothing. Each set carries the component ID as
// `processor`, as processorhelper's own metrics do, so two redact processors in one collector stay apart.
type redactMetrics struct {
	builder       *metadata.TelemetryBuilder
	fieldOpts     [numCounters][]metric.AddOption
	secretOpts    [numKinds][]metric.AddOption
	guardrailOpts [numGuardrails][]metric.AddOption // on_guardrail_exceeded is fixed per processor
	failureOpts   []metric.AddOption                // so is fail_mode
	droppedOpts   [numDropReasons][]metric.AddOption
}

func newRedactMetrics(set component.TelemetrySettings, id component.ID, cfg *Config) (*redactMetrics, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	processor := attribute.String("processor", id.String())
	opts := func(kvs ...attribute.KeyValue) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(kvs, processor)...))}
	}
	m := &redactMetrics{builder: tb}
	for i, name := range counterNames {
		m.fieldOpts[i] = opts(attribute.String("redactor", name))
	}
	for k, kind := range valueKinds {
		m.secretOpts[k] = opts(attribute.String("redactor", nameValuePatterns), attribute.String("kind", kind))
	}
	for g, name := range guardrailNames {
		m.guardrailOpts[g] = opts(attribute.String("guardrail", name),
			attribute.String("action", string(cfg.OnGuardrailExceeded)))
	}
	outcome := "passed"
	if cfg.FailMode == FailModeClosed {
		outcome = "dropped"
	}
	m.failureOpts = opts(attribute.String("outcome", outcome))
	for r := dropGuardrail; r < numDropReasons; r++ {
		m.droppedOpts[r] = opts(attribute.String("reason", dropReasonNames[r]))
	}
	return m, nil
}

// record adds the batch's non-zero counts: one Add per attribute set that occurred.
func (m *redactMetrics) record(ctx context.Context, c *batchCounts) {
	for i, n := range c.fields {
		if n > 0 {
			m.builder.FapilogProcessorRedactFieldsRedacted.Add(ctx, n, m.fieldOpts[i]...)
		}
	}
	for k, n := range c.secrets {
		if n > 0 {
			m.builder.FapilogProcessorRedactFieldsRedacted.Add(ctx, n, m.secretOpts[k]...)
		}
	}
	for g, n := range c.guardrail {
		if n > 0 {
			m.builder.FapilogProcessorRedactGuardrailHits.Add(ctx, n, m.guardrailOpts[g]...)
		}
	}
	if c.failed > 0 {
		m.builder.FapilogProcessorRedactFailures.Add(ctx, c.failed, m.failureOpts...)
	}
	for r := dropGuardrail; r < numDropReasons; r++ {
		if n := c.dropped[r]; n > 0 {
			m.builder.FapilogProcessorRedactRecordsDropped.Add(ctx, n, m.droppedOpts[r]...)
		}
	}
}

func (m *redactMetrics) shutdown(context.Context) error {
	m.builder.Shutdown()
	return nil
}
