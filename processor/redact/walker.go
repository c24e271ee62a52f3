package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// walker walks one record (or one resource) and applies the rules at every node. It holds all per-walk
// scratch space, so a steady stream of records allocates nothing unless something is redacted. A walker is
// used by one goroutine at a time (they are pooled).
type walker struct {
	r      *rules
	states []uint64 // (maxDepth+2) rows of r.paths.words: row d = live path states of the container at depth d
	path   []byte   // dotted path of the current node, for regex rules ("data.user.password")
	buf    []byte   // scratch for string rewriting
	root   root

	scanned    int
	stop       bool // stop walking: guardrail with drop or warn
	drop       bool // the record must be dropped
	guardDepth bool // max_depth was exceeded in this walk
	guardKeys  bool // max_keys_scanned was exceeded in this walk

	drops []bool // per record of the current ScopeLogs, for removal

	counts batchCounts // what the walks of the current batch did, for the metrics
}

func newWalker(r *rules) *walker {
	return &walker{
		r:      r,
		states: make([]uint64, (r.maxDepth+2)*r.paths.words),
		path:   make([]byte, 0, 256),
		buf:    make([]byte, 0, 1024),
	}
}

func (w *walker) row(d int) []uint64 {
	n := w.r.paths.words
	return w.states[d*n : (d+1)*n]
}

// begin resets the per-walk state.
func (w *walker) begin() {
	w.scanned = 0
	w.stop, w.drop, w.guardDepth, w.guardKeys = false, false, false, false
}

func (w *walker) enterRoot(rt root) {
	w.root = rt
	if w.r.paths.words > 0 {
		copy(w.row(1), w.r.paths.rootRows[rootIndex(rt)])
	}
	if w.r.regex != nil {
		if rt == rootResource {
			w.path = append(w.path[:0], "resource"...)
		} else {
			w.path = append(w.path[:0], "data"...)
		}
	}
}

func (w *walker) walkResource(res pcommon.Resource) {
	w.begin()
	w.enterRoot(rootResource)
	w.walkMap(res.Attributes(), 1)
}

func (w *walker) walkRecord(lr plog.LogRecord) {
	w.begin()
	w.enterRoot(rootAttributes)
	w.walkMap(lr.Attributes(), 1)
	if w.stop {
		return
	}
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeMap:
		w.enterRoot(rootBody)
		w.walkMap(body.Map(), 1)
	case pcommon.ValueTypeSlice:
		w.enterRoot(rootBody)
		w.walkSlice(body.Slice(), 1)
	case pcommon.ValueTypeStr, pcommon.ValueTypeInt:
		// The message: value redactors only (no key, no path).
		w.root = rootBody
		w.visit(body, "", false, 0, 0)
	}
}

func (w *walker) walkMap(m pcommon.Map, depth int) {
	pathLen := len(w.path)
	words := w.r.paths.words
	m.Range(func(k string, v pcommon.Value) bool {
		if w.stop {
			return false
		}
		w.scanned++
		if w.scanned > w.r.maxKeys {
			return w.keysExceeded(v)
		}
		var hits uint64
		if words > 0 {
			hits = w.r.paths.advanceKey(w.row(depth), w.row(depth+1), k)
		}
		if w.r.regex != nil {
			w.path = append(append(w.path[:pathLen], '.'), k...)
		}
		w.visit(v, k, true, depth, hits)
		return true
	})
	w.path = w.path[:pathLen]
}

func (w *walker) walkSlice(s pcommon.Slice, depth int) {
	words := w.r.paths.words
	for i := 0; i < s.Len(); i++ {
		if w.stop {
			return
		}
		v := s.At(i)
		w.scanned++
		if w.scanned > w.r.maxKeys {
			if !w.keysExceeded(v) {
				return
			}
			continue
		}
		var hits uint64
		if words > 0 {
			hits = w.r.paths.advanceIndex(w.row(depth), w.row(depth+1), i)
		}
		w.visit(v, "", false, depth, hits)
	}
}

// visit runs every step, in order, on the value v found under key (keyed) or as a list element, inside the
// container at depth; hits are the field_mask entries whose path ends here. Then it descends.
func (w *walker) visit(v pcommon.Value, key string, keyed bool, depth int, hits uint64) {
	typ := v.Type()
	var regexBits uint64
	regexDone := false
	for i := range w.r.steps {
		st := &w.r.steps[i]
		switch st.kind {
		case stepFieldMask:
			if hits&st.bit != 0 {
				typ = w.mask(v, typ, st)
			}
		case stepRegexMask:
			if !keyed || (st.dataOnly && w.root == rootResource) {
				continue
			}
			if !regexDone {
				regexBits = w.r.regex.match(w.path, w.root == rootResource)
				regexDone = true
			}
			if regexBits&st.bit != 0 {
				typ = w.mask(v, typ, st)
			}
		case stepNames:
			if keyed && !(st.dataOnly && w.root == rootResource) && st.names.match(key) {
				typ = w.mask(v, typ, st)
			}
		case stepURLCredentials:
			if typ == pcommon.ValueTypeStr {
				var out string
				var changed bool
				if out, changed, w.buf = st.url.apply(v.Str(), w.buf); changed {
					v.SetStr(out)
					w.counts.fields[st.counter]++
				}
			}
		case stepValuePatterns:
			switch typ {
			case pcommon.ValueTypeStr:
				var out string
				var found kindSet
				if out, found, w.buf = st.vp.apply(v.Str(), w.buf); found != 0 {
					v.SetStr(out)
					w.countSecrets(found)
				}
			case pcommon.ValueTypeInt:
				if out, changed := st.vp.applyInt(v.Int()); changed {
					v.SetStr(out)
					typ = pcommon.ValueTypeStr
					w.counts.secrets[kCard]++
				}
			}
		case stepStringTruncate:
			if typ == pcommon.ValueTypeStr {
				if out, changed := st.trunc.apply(v.Str()); changed {
					v.SetStr(out)
					w.counts.fields[st.counter]++
				}
			}
		}
	}
	if typ != pcommon.ValueTypeMap && typ != pcommon.ValueTypeSlice {
		return
	}
	if !w.r.fullWalk && !anyBit(w.row(depth+1)) {
		return // only field_mask paths, and none is live below here
	}
	if depth+1 > w.r.maxDepth {
		w.depthExceeded(v)
		return
	}
	if typ == pcommon.ValueTypeMap {
		w.walkMap(v.Map(), depth+1)
	} else {
		w.walkSlice(v.Slice(), depth+1)
	}
}

// mask applies a masking step to v and counts the change.
func (w *walker) mask(v pcommon.Value, typ pcommon.ValueType, st *step) pcommon.ValueType {
	typ, changed := maskValue(v, typ, st.mask)
	if changed {
		w.counts.fields[st.counter]++
	}
	return typ
}

// countSecrets counts one value for each kind value_patterns replaced in it.
func (w *walker) countSecrets(found kindSet) {
	for k := 0; found != 0; k, found = k+1, found>>1 {
		if found&1 != 0 {
			w.counts.secrets[k]++
		}
	}
}

// maskValue replaces v with mask (idempotent: an equal string is left untouched, and is not a change).
func maskValue(v pcommon.Value, typ pcommon.ValueType, mask string) (pcommon.ValueType, bool) {
	if typ == pcommon.ValueTypeStr && v.Str() == mask {
		return typ, false
	}
	v.SetStr(mask)
	return pcommon.ValueTypeStr, true
}

// keysExceeded handles a value met after max_keys_scanned; it returns whether the walk goes on.
func (w *walker) keysExceeded(v pcommon.Value) bool {
	w.guardKeys = true
	switch w.r.onGuardrail {
	case GuardrailReplaceSubtree:
		maskValue(v, v.Type(), guardrailMarker)
		return true
	case GuardrailDrop:
		w.drop = true
	}
	w.stop = true
	return false
}

// depthExceeded handles a container deeper than max_depth.
func (w *walker) depthExceeded(v pcommon.Value) {
	w.guardDepth = true
	switch w.r.onGuardrail {
	case GuardrailReplaceSubtree:
		v.SetStr(guardrailMarker)
	case GuardrailDrop:
		w.drop = true
		w.stop = true
	}
}
