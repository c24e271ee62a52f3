package delivery

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// SnippetLimit bounds every string a rejection logs (answers, ids, values from the records).
const SnippetLimit = 256

// logInterval is the minimum time between two log lines for the same reason.
const logInterval = 10 * time.Second

// rejectionLog counts refused records in the rejected-records metric and logs them, at most once per interval per
// reason, so that a flood of bad records cannot flood the collector's own log.
type rejectionLog struct {
	logger    *zap.Logger
	telemetry *telemetry
	now       func() time.Time

	mu      sync.Mutex
	reasons map[string]*reasonState
}

type reasonState struct {
	lastLogged time.Time
	unlogged   int64
}

func newRejectionLog(logger *zap.Logger, tel *telemetry) *rejectionLog {
	return &rejectionLog{logger: logger, telemetry: tel, now: time.Now, reasons: map[string]*reasonState{}}
}

// report counts and logs rs and returns how many records they cover.
func (l *rejectionLog) report(ctx context.Context, rs []Rejection) int {
	total := 0
	for _, r := range rs {
		if r.Records <= 0 {
			continue
		}
		total += r.Records
		l.telemetry.rejected(ctx, r.Reason, r.Records)
		l.log(r)
	}
	return total
}

func (l *rejectionLog) log(r Rejection) {
	l.mu.Lock()
	st, seen := l.reasons[r.Reason]
	if !seen {
		st = &reasonState{}
		l.reasons[r.Reason] = st
	}
	now := l.now()
	if seen && now.Sub(st.lastLogged) < logInterval {
		st.unlogged += int64(r.Records)
		l.mu.Unlock()
		return
	}
	suppressed := st.unlogged
	st.lastLogged, st.unlogged = now, 0
	l.mu.Unlock()

	fields := make([]zap.Field, 0, 3+len(r.Detail))
	fields = append(fields, zap.String("reason", r.Reason), zap.Int("rejected_records", r.Records),
		zap.Int64("rejected_since_last_log", suppressed))
	for _, f := range r.Detail {
		fields = append(fields, bounded(f))
	}
	l.logger.Warn("Log records rejected for good", fields...)
}

// bounded cuts a string or byte-string field to SnippetLimit bytes and an error to its first SnippetLimit bytes.
func bounded(f zap.Field) zap.Field {
	switch f.Type {
	case zapcore.StringType:
		if len(f.String) > SnippetLimit {
			f.String = f.String[:SnippetLimit] + "..."
		}
	case zapcore.ByteStringType:
		if b, ok := f.Interface.([]byte); ok && len(b) > SnippetLimit {
			f.Interface = b[:SnippetLimit]
		}
	case zapcore.ErrorType:
		if err, ok := f.Interface.(error); ok {
			if msg := err.Error(); len(msg) > SnippetLimit {
				return zap.String(f.Key, msg[:SnippetLimit]+"...")
			}
		}
	}
	return f
}
