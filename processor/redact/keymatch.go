package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// nameSet matches key names ASCII-case-insensitively (field_blocker, preset field names). A key matches when
// the whole key, or for a dotted OTel key its last component, is a blocked name and neither form is allowed.
type nameSet struct {
	blocked map[string]struct{}
	allowed map[string]struct{}
	maxLen  int
	// foldNonASCII is set when a configured name has a non-ASCII byte: keys with one are then lower-cased with
	// Unicode rules (ASCII-only folding would miss "Пароль" for "пароль", even the exact key).
	foldNonASCII bool
	// lengths[c] has bit n set when some name of length n (63 for 63 and more) starts with byte c (either
	// case): most keys are ruled out by this one load, without hashing.
	lengths [256]uint64
}

func newNameSet(blocked, allowed []string) *nameSet {
	ns := &nameSet{blocked: map[string]struct{}{}, allowed: map[string]struct{}{}}
	for _, a := range allowed {
		a = strings.ToLower(a)
		ns.allowed[a] = struct{}{}
		ns.note(a)
	}
	for _, b := range blocked {
		b = strings.ToLower(b)
		if _, ok := ns.allowed[b]; ok {
			continue
		}
		ns.blocked[b] = struct{}{}
		ns.note(b)
	}
	return ns
}

func (ns *nameSet) note(name string) {
	if name == "" {
		return
	}
	if !isASCII(name) {
		ns.foldNonASCII = true
	}
	ns.maxLen = max(ns.maxLen, len(name))
	bit := uint64(1) << min(len(name), 63)
	c := name[0]
	ns.lengths[c] |= bit
	if c >= 'a' && c <= 'z' {
		ns.lengths[c-'a'+'A'] |= bit
	}
}

// nameMaxLen is the size of the stack buffer keys are lower-cased into.
const nameMaxLen = 128

func (ns *nameSet) match(key string) bool {
	full := ns.classify(key)
	if full == nameAllowed {
		return false
	}
	if dot := strings.LastIndexByte(key, '.'); dot >= 0 {
		switch ns.classify(key[dot+1:]) {
		case nameAllowed:
			return false
		case nameBlocked:
			return true
		}
	}
	return full == nameBlocked
}

const (
	nameUnknown = iota
	nameBlocked
	nameAllowed
)

// classify looks k up without allocating: an already lower-case key is looked up as is, others are
// lower-cased into a stack buffer.
func (ns *nameSet) classify(k string) int {
	if ns.foldNonASCII && !isASCII(k) {
		// Lower-casing may change the first byte and the length: no pre-filter.
		return ns.lookup(strings.ToLower(k))
	}
	if len(k) == 0 || ns.lengths[k[0]]&(uint64(1)<<min(len(k), 63)) == 0 || len(k) > ns.maxLen {
		return nameUnknown
	}
	if len(k) > nameMaxLen { // a very long configured name: rare, allowed to allocate
		return ns.lookup(strings.ToLower(k))
	}
	upper := false
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		return ns.lookup(k)
	}
	var buf [nameMaxLen]byte
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lower := buf[:len(k)]
	if len(ns.allowed) > 0 {
		if _, ok := ns.allowed[string(lower)]; ok {
			return nameAllowed
		}
	}
	if _, ok := ns.blocked[string(lower)]; ok {
		return nameBlocked
	}
	return nameUnknown
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (ns *nameSet) lookup(k string) int {
	if len(ns.allowed) > 0 {
		if _, ok := ns.allowed[k]; ok {
			return nameAllowed
		}
	}
	if _, ok := ns.blocked[k]; ok {
		return nameBlocked
	}
	return nameUnknown
}

// regexRule is one regex_mask entry (or the presets' patterns): any pattern matching the whole path masks.
type regexRule struct {
	patterns []*regexp.Regexp // anchored
	dataOnly bool
}

// pathMatcher answers "which regex rules match this full path" with a cache: key paths repeat from record
// to record, regex evaluation does not need to. Reads are lock-free (an immutable snapshot map behind an
// atomic pointer); new paths go to a small locked map that is folded into a fresh snapshot now and then.
// The cache stops growing at maxEntries distinct paths (high-cardinality keys are then matched each time).
type pathMatcher struct {
	rules       []regexRule
	snap        atomic.Pointer[map[string]uint64]
	mu          sync.Mutex
	pending     map[string]uint64
	pendingHits int // lookups answered from pending since the last fold
	maxEntries  int
}

const pathCacheMaxEntries = 8192

func newPathMatcher(rules []regexRule) *pathMatcher {
	pm := &pathMatcher{rules: rules, pending: map[string]uint64{}, maxEntries: pathCacheMaxEntries}
	empty := map[string]uint64{}
	pm.snap.Store(&empty)
	return pm
}

// match returns the bit set of rules (by ordinal) matching path. isResource tells whether the path is under
// resource (data-only rules skip it).
func (pm *pathMatcher) match(path []byte, isResource bool) uint64 {
	if v, ok := (*pm.snap.Load())[string(path)]; ok {
		return v
	}
	pm.mu.Lock()
	v, ok := pm.pending[string(path)]
	if ok {
		// A path that keeps coming back belongs in the lock-free snapshot even if few new paths arrive.
		if pm.pendingHits++; pm.pendingHits >= pendingHitsBeforeFold {
			pm.fold()
		}
	}
	pm.mu.Unlock()
	if ok {
		return v
	}
	v = pm.compute(path, isResource)
	pm.remember(path, v)
	return v
}

func (pm *pathMatcher) compute(path []byte, isResource bool) uint64 {
	var v uint64
	for i := range pm.rules {
		r := &pm.rules[i]
		if r.dataOnly && isResource {
			continue
		}
		for _, re := range r.patterns {
			if re.Match(path) {
				v |= 1 << uint(i)
				break
			}
		}
	}
	return v
}

func (pm *pathMatcher) remember(path []byte, v uint64) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	snap := *pm.snap.Load()
	if len(snap)+len(pm.pending) >= pm.maxEntries {
		return
	}
	pm.pending[string(path)] = v
	// Fold when the pending set is a fair fraction of the snapshot: total copying stays linear in the number
	// of distinct paths.
	if len(pm.pending) > len(snap)/8 {
		pm.fold()
	}
}

const pendingHitsBeforeFold = 64

// fold publishes snapshot+pending as the new snapshot; pm.mu is held.
func (pm *pathMatcher) fold() {
	snap := *pm.snap.Load()
	next := make(map[string]uint64, len(snap)+len(pm.pending))
	for k, x := range snap {
		next[k] = x
	}
	for k, x := range pm.pending {
		next[k] = x
	}
	pm.snap.Store(&next)
	clear(pm.pending)
	pm.pendingHits = 0
}
