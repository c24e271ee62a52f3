package fapilogloki

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/lograte"
	"github.com/fapilog/fapilog-otelcol/internal/lokilabel"
)

// labelWarnInterval is the minimum time between two warnings about the same capped label.
const labelWarnInterval = time.Minute

// labelDef is one label of every stream, static or read from each record.
type labelDef struct {
	name string
	// value is the sanitised value of a static label; empty for a dynamic one.
	value string
	// dynamic is the index of a dynamic label's value in a record's values, or -1 for a static label.
	dynamic int
}

// dynamicLabel is a label read from each record at path, its distinct values kept under a cap by guard.
type dynamicLabel struct {
	path  string
	guard *valueGuard
}

// labeler computes the stream labels of each record: the static labels, fixed at start, and the label_keys ones
// read from the envelope, sanitised and held under max_label_values. A labeler is shared by concurrent pushes.
type labeler struct {
	// defs are all labels sorted by name, the order they are rendered in.
	defs    []labelDef
	dynamic []dynamicLabel
}

// newLabeler builds the labels of cfg; tel counts the records whose value of a capped label became _other_.
func newLabeler(cfg *Config, logger *zap.Logger, tel *lokiTelemetry) *labeler {
	l := &labeler{}
	for name, value := range cfg.Labels {
		l.defs = append(l.defs, labelDef{name: name, value: lokilabel.Value(value), dynamic: -1})
	}
	for i, path := range cfg.LabelKeys {
		name := lokilabel.NameFromPath(path)
		l.defs = append(l.defs, labelDef{name: name, dynamic: i})
		l.dynamic = append(l.dynamic, dynamicLabel{path: path, guard: newValueGuard(name, cfg.MaxLabelValues, logger, tel)})
	}
	slices.SortFunc(l.defs, func(a, b labelDef) int { return strings.Compare(a.name, b.name) })
	return l
}

// fill writes the record's dynamic label values into values (len(l.dynamic) long): sanitised, capped, "" when
// the record has no such field. scratch is a reusable buffer; nothing allocates for a value seen before. memo
// holds the values already given to earlier records of the same push.
func (l *labeler) fill(e *envelope.Entry, values []string, scratch *[]byte, memo *labelMemo) {
	for i := range l.dynamic {
		v, ok := e.Field(l.dynamic[i].path)
		if !ok || v == "" {
			values[i] = ""
			continue
		}
		if known, seen := memo.lookup(i, v); seen {
			values[i] = known
			continue
		}
		values[i] = l.admit(i, v, scratch)
		memo.remember(i, v, values[i])
	}
}

// admit sanitises v, a value of dynamic label i, and lets its guard intern or replace it.
func (l *labeler) admit(i int, v string, scratch *[]byte) string {
	g := l.dynamic[i].guard
	if lokilabel.CleanValue(v) {
		return g.admit(v)
	}
	*scratch = lokilabel.AppendValue((*scratch)[:0], v)
	return g.admitBytes(*scratch)
}

// labelMemo remembers, for the records of one push, the label value each raw value of a dynamic label became.
// The records of a batch mostly repeat a few values (levels, services), which then skip sanitising and the
// guard's lock, shared by concurrent pushes. A value replaced by lokilabel.OtherValue is not remembered: each
// record it replaces is counted.
type labelMemo struct {
	labels [][]memoPair // per dynamic label, at most memoValues
}

type memoPair struct{ raw, value string }

// memoValues is how many values of each label a push remembers: a scan of them must stay cheaper than the guard.
const memoValues = 8

// reset forgets the values of the previous push and sizes the memo for labels dynamic labels.
func (m *labelMemo) reset(labels int) {
	for len(m.labels) < labels {
		m.labels = append(m.labels, make([]memoPair, 0, memoValues))
	}
	m.labels = m.labels[:labels]
	for i := range m.labels {
		m.labels[i] = m.labels[i][:0]
	}
}

// release drops the raw values, which point into the records of the push.
func (m *labelMemo) release() {
	for i := range m.labels {
		clear(m.labels[i][:cap(m.labels[i])])
	}
}

func (m *labelMemo) lookup(label int, raw string) (string, bool) {
	for _, p := range m.labels[label] {
		if p.raw == raw {
			return p.value, true
		}
	}
	return "", false
}

func (m *labelMemo) remember(label int, raw, value string) {
	if value != lokilabel.OtherValue && len(m.labels[label]) < memoValues {
		m.labels[label] = append(m.labels[label], memoPair{raw, value})
	}
}

// valueIn returns the label's value for a stream whose dynamic values are values.
func (d *labelDef) valueIn(values []string) string {
	if d.dynamic < 0 {
		return d.value
	}
	return values[d.dynamic]
}

// valueGuard keeps the distinct values of one label under max (max_label_values; 0: no cap). Values seen before
// keep flowing; a new value once max are known becomes lokilabel.OtherValue, counted in the label-values-replaced
// metric, and a warning says so at most once a minute. Known values are interned: returning them costs no
// allocation.
type valueGuard struct {
	name     string
	max      int
	logger   *zap.Logger
	replaced metric.Int64Counter
	ofLabel  metric.AddOption // the metric's label attribute, built once

	mu   sync.RWMutex
	seen map[string]string

	capped atomic.Int64 // values replaced by OtherValue since the last warning
	warned lograte.Gate
	now    func() time.Time
}

func newValueGuard(name string, maxValues int, logger *zap.Logger, tel *lokiTelemetry) *valueGuard {
	return &valueGuard{name: name, max: maxValues, logger: logger, replaced: tel.labelValuesReplaced,
		ofLabel: tel.ofLabel(name), seen: map[string]string{}, now: time.Now}
}

// admit returns v itself, its interned copy, or OtherValue when v is new and the label is at its cap.
func (g *valueGuard) admit(v string) string {
	if g.max <= 0 {
		return v // no cap: nothing to remember; v lives as long as the push
	}
	g.mu.RLock()
	known, ok := g.seen[v]
	full := len(g.seen) >= g.max
	g.mu.RUnlock()
	if ok {
		return known
	}
	if full {
		return g.overflow()
	}
	return g.insert(strings.Clone(v)) // v may point into a receiver's buffer: keep a copy of our own
}

// admitBytes is admit for a value held in a scratch buffer.
func (g *valueGuard) admitBytes(v []byte) string {
	if g.max <= 0 {
		return string(v)
	}
	g.mu.RLock()
	known, ok := g.seen[string(v)]
	full := len(g.seen) >= g.max
	g.mu.RUnlock()
	if ok {
		return known
	}
	if full {
		return g.overflow()
	}
	return g.insert(string(v))
}

func (g *valueGuard) insert(v string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if known, ok := g.seen[v]; ok {
		return known
	}
	if len(g.seen) >= g.max {
		return g.overflow()
	}
	g.seen[v] = v
	return v
}

func (g *valueGuard) overflow() string {
	g.replaced.Add(context.Background(), 1, g.ofLabel)
	g.capped.Add(1)
	if g.warned.Allow(g.now(), labelWarnInterval) {
		replaced := g.capped.Swap(0)
		g.logger.Warn("Label reached max_label_values: new values are sent as "+lokilabel.OtherValue,
			zap.String("label", g.name), zap.Int("max_label_values", g.max),
			zap.Int64("values_replaced_since_last_warning", replaced),
			zap.String("hint", "a high-cardinality field does not belong in label_keys; use structured_metadata_keys, or raise max_label_values"))
	}
	return lokilabel.OtherValue
}
