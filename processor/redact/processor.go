package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap"
)

// redactProcessor applies the compiled rules to every log record, in place.
type redactProcessor struct {
	rules    *rules
	failMode FailMode
	logger   *zap.Logger
	walkers  sync.Pool

	// Counters of what was done to records (also reported in the rate-limited warnings).
	droppedRecords atomic.Int64 // dropped by the guardrail (drop) or by fail_mode closed
	guardrailHits  atomic.Int64 // walks that exceeded max_depth or max_keys_scanned
	failures       atomic.Int64 // walks that panicked

	guardrailLog, failureLog, dropLog rateLimit

	// testHook, when set, runs at the start of every record walk (tests use it to make redaction fail).
	testHook func(plog.LogRecord)
}

func newRedactProcessor(cfg *Config, logger *zap.Logger) (*redactProcessor, error) {
	r, err := compileRules(cfg)
	if err != nil {
		return nil, err
	}
	p := &redactProcessor{rules: r, failMode: cfg.FailMode, logger: logger}
	p.walkers.New = func() any { return newWalker(r) }
	return p, nil
}

// processLogs is the processorhelper.ProcessLogsFunc.
func (p *redactProcessor) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	if len(p.rules.steps) == 0 {
		return ld, nil
	}
	w := p.walkers.Get().(*walker)
	defer p.walkers.Put(w)

	dropped := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if p.redactResource(w, rl) {
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				dropped += rl.ScopeLogs().At(j).LogRecords().Len()
			}
			rl.ScopeLogs().RemoveIf(func(plog.ScopeLogs) bool { return true })
			continue
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			w.drops = w.drops[:0]
			anyDrop := false
			for k := 0; k < lrs.Len(); k++ {
				d := p.redactRecord(w, lrs.At(k))
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
	if dropped == 0 {
		return ld, nil
	}
	p.reportDrops(dropped)
	rls.RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		return rl.ScopeLogs().Len() == 0
	})
	if rls.Len() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

// redactResource walks the resource attributes once for all its records; true means drop them all.
func (p *redactProcessor) redactResource(w *walker, rl plog.ResourceLogs) (drop bool) {
	defer func() {
		if r := recover(); r != nil {
			drop = p.failed(r, "resource")
		}
	}()
	w.walkResource(rl.Resource())
	return p.afterWalk(w, "resource")
}

// redactRecord walks one record; true means drop it.
func (p *redactProcessor) redactRecord(w *walker, lr plog.LogRecord) (drop bool) {
	defer func() {
		if r := recover(); r != nil {
			drop = p.failed(r, "record")
		}
	}()
	if p.testHook != nil {
		p.testHook(lr)
	}
	w.walkRecord(lr)
	return p.afterWalk(w, "record")
}

func (p *redactProcessor) afterWalk(w *walker, what string) bool {
	if !w.guardDepth && !w.guardKeys {
		return false
	}
	p.guardrailHits.Add(1)
	if ok, suppressed := p.guardrailLog.allow(); ok {
		p.logger.Warn("redact: guardrail exceeded",
			zap.String("in", what),
			zap.Bool("max_depth_exceeded", w.guardDepth),
			zap.Bool("max_keys_scanned_exceeded", w.guardKeys),
			zap.String("on_guardrail_exceeded", string(p.rules.onGuardrail)),
			zap.Int64("total", p.guardrailHits.Load()),
			zap.Int64("suppressed_since_last_warning", suppressed))
	}
	return w.drop
}

// failed applies fail_mode to a walk that panicked: the value it returns is whether to drop.
func (p *redactProcessor) failed(r any, what string) bool {
	p.failures.Add(1)
	if p.failMode != FailModeOpen {
		if ok, suppressed := p.failureLog.allow(); ok {
			p.logger.Warn("redact: redaction failed",
				zap.String("in", what),
				zap.String("error", fmt.Sprint(r)),
				zap.String("fail_mode", string(p.failMode)),
				zap.Int64("total", p.failures.Load()),
				zap.Int64("suppressed_since_last_warning", suppressed))
		}
	}
	return p.failMode == FailModeClosed
}

func (p *redactProcessor) reportDrops(n int) {
	total := p.droppedRecords.Add(int64(n))
	if ok, suppressed := p.dropLog.allow(); ok {
		p.logger.Warn("redact: dropped log records",
			zap.Int("dropped", n),
			zap.Int64("total_dropped", total),
			zap.Int64("suppressed_since_last_warning", suppressed))
	}
}

// rateLimit lets one warning through per interval and counts the ones it holds back.
type rateLimit struct {
	next       atomic.Int64
	suppressed atomic.Int64
}

const warnInterval = 10 * time.Second

func (l *rateLimit) allow() (bool, int64) {
	now := time.Now().UnixNano()
	next := l.next.Load()
	if now < next || !l.next.CompareAndSwap(next, now+int64(warnInterval)) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
