package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/lograte"
)

// redactProcessor applies the compiled rules to every log record, in place.
type redactProcessor struct {
	rules       *rules
	onGuardrail GuardrailAction
	failMode    FailMode
	logger      *zap.Logger
	metrics     *redactMetrics
	walkers     sync.Pool

	// At most one warning of each kind per warnInterval; the metrics carry the totals.
	guardrailLog, failureLog, dropLog lograte.Gate

	// testHook, when set, runs at the start of every resource and record walk with the attributes about to be
	// walked (tests use it to make redaction fail).
	testHook func(attrs pcommon.Map)
}

func newRedactProcessor(cfg *Config, set processor.Settings) (*redactProcessor, error) {
	r, err := compileRules(cfg)
	if err != nil {
		return nil, err
	}
	m, err := newRedactMetrics(set.TelemetrySettings, set.ID, cfg)
	if err != nil {
		return nil, err
	}
	p := &redactProcessor{rules: r, onGuardrail: cfg.OnGuardrailExceeded, failMode: cfg.FailMode,
		logger: set.Logger, metrics: m}
	p.walkers.New = func() any { return newWalker(r) }
	return p, nil
}

// processLogs is the processorhelper.ProcessLogsFunc.
func (p *redactProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if len(p.rules.steps) == 0 {
		return ld, nil
	}
	w := p.walkers.Get().(*walker)
	dropped := p.redactBatch(w, ld)
	p.report(ctx, &w.counts)
	w.counts = batchCounts{}
	p.walkers.Put(w)

	if dropped == 0 {
		return ld, nil
	}
	rls := ld.ResourceLogs()
	rls.RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		return rl.ScopeLogs().Len() == 0
	})
	if rls.Len() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

// redactBatch redacts every record of ld in place, removes the records to drop, counts into w.counts and
// returns how many records it removed.
func (p *redactProcessor) redactBatch(w *walker, ld plog.Logs) (dropped int) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := p.redactResource(w, rl)
		if res.drop != keep {
			n := 0
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				n += rl.ScopeLogs().At(j).LogRecords().Len()
			}
			w.counts.addRecords(res, int64(n))
			dropped += n
			rl.ScopeLogs().RemoveIf(func(plog.ScopeLogs) bool { return true })
			continue
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			w.drops = w.drops[:0]
			anyDrop := false
			for k := 0; k < lrs.Len(); k++ {
				o := p.redactRecord(w, lrs.At(k)).orEvents(res)
				w.counts.addRecords(o, 1)
				d := o.drop != keep
				w.drops = append(w.drops, d)
				anyDrop = anyDrop || d
			}
			if anyDrop {
				idx := 0
				lrs.RemoveIf(func(plog.LogRecord) bool {
					d := w.drops[idx]
					idx++
					if d {
						dropped++
					}
					return d
				})
			}
		}
	}
	return dropped
}

// redactResource walks the resource attributes once for all its records.
func (p *redactProcessor) redactResource(w *walker, rl plog.ResourceLogs) (o walkOutcome) {
	defer func() {
		if r := recover(); r != nil {
			o = p.failed(w, r, "resource")
		}
	}()
	if p.testHook != nil {
		p.testHook(rl.Resource().Attributes())
	}
	w.walkResource(rl.Resource())
	return p.afterWalk(w)
}

// redactRecord walks one record.
func (p *redactProcessor) redactRecord(w *walker, lr plog.LogRecord) (o walkOutcome) {
	defer func() {
		if r := recover(); r != nil {
			o = p.failed(w, r, "record")
		}
	}()
	if p.testHook != nil {
		p.testHook(lr.Attributes())
	}
	w.walkRecord(lr)
	return p.afterWalk(w)
}

func (p *redactProcessor) afterWalk(w *walker) walkOutcome {
	o := walkOutcome{overDepth: w.guardDepth, overKeys: w.guardKeys}
	if w.drop {
		o.drop = dropGuardrail
	}
	return o
}

// failed applies fail_mode to a walk that panicked (r is what it panicked with).
func (p *redactProcessor) failed(w *walker, r any, in string) walkOutcome {
	if w.counts.firstFailureIn == "" {
		w.counts.firstFailure, w.counts.firstFailureIn = fmt.Sprint(r), in
	}
	// The walk did not finish (it may not even have begun), so its guardrail flags say nothing: a failed walk
	// is counted as a failure only.
	o := walkOutcome{failed: true}
	if p.failMode == FailModeClosed {
		o.drop = dropFailure
	}
	return o
}

// report records the batch's counts and logs what went wrong in it, each warning rate-limited.
func (p *redactProcessor) report(ctx context.Context, c *batchCounts) {
	p.metrics.record(ctx, c)
	if (c.guardrail[guardMaxDepth] > 0 || c.guardrail[guardMaxKeys] > 0) && p.guardrailLog.Allow(time.Now(), warnInterval) {
		p.logger.Warn("redact: guardrail exceeded",
			zap.Int64("records_over_max_depth", c.guardrail[guardMaxDepth]),
			zap.Int64("records_over_max_keys_scanned", c.guardrail[guardMaxKeys]),
			zap.String("on_guardrail_exceeded", string(p.onGuardrail)),
			zap.Duration("next_warning_after", warnInterval))
	}
	if c.failed > 0 && p.failMode != FailModeOpen && p.failureLog.Allow(time.Now(), warnInterval) {
		p.logger.Warn("redact: redaction failed",
			zap.Int64("records", c.failed),
			zap.String("first_error", c.firstFailure),
			zap.String("first_error_in", c.firstFailureIn),
			zap.String("fail_mode", string(p.failMode)),
			zap.Duration("next_warning_after", warnInterval))
	}
	if n := c.dropped[dropGuardrail] + c.dropped[dropFailure]; n > 0 && p.dropLog.Allow(time.Now(), warnInterval) {
		p.logger.Warn("redact: dropped log records",
			zap.Int64("dropped_by_guardrail", c.dropped[dropGuardrail]),
			zap.Int64("dropped_by_failure", c.dropped[dropFailure]),
			zap.Duration("next_warning_after", warnInterval))
	}
}

// warnInterval keeps each kind of warning to one line per 10 s.
const warnInterval = 10 * time.Second
