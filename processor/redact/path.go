package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// The path language of field_mask:
//
//	path    = [root "."] segment { "." segment }
//	root    = "attributes" | "body" | "resource" | "data"      (data = attributes and map-body fields)
//	segment = name { "[" index "]" } | "[" index "]" | "*" | digits
//	index   = digits | "*"
//
// A path without a root is a data path, as fapilog's auto-prefix does for simple names. A single-segment path
// is always a field name (`body` is the field named body, not the record body). `*` and `[*]` match any key or
// list element; a numeric segment matches that list index (or a key spelled that way). Lists met where the
// path names a key are traversed transparently: the same segment applies to each element. A map key that
// contains dots (OTel style, `http.request.header.authorization`) is matched by as many literal segments.

// root is a bit set of the places a path applies to.
type root uint8

const (
	rootResource root = 1 << iota
	rootAttributes
	rootBody

	rootData = rootAttributes | rootBody
)

type segKind uint8

const (
	segName  segKind = iota // a literal key
	segAny                  // * or [*]
	segIndex                // digits: a list index, or a key spelled with those digits
)

type segment struct {
	kind  segKind
	name  string // the literal key (digits for segIndex)
	index int
}

type parsedPath struct {
	roots root
	segs  []segment
}

var errEmptySegment = errors.New("empty segment")

func parsePath(s string) (parsedPath, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return parsedPath{}, errors.New("must be non-empty and without surrounding spaces")
	}
	var segs []segment
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return parsedPath{}, errEmptySegment
		}
		name, rest := tok, ""
		if b := strings.IndexByte(tok, '['); b >= 0 {
			name, rest = tok[:b], tok[b:]
		}
		if strings.ContainsAny(name, "]") {
			return parsedPath{}, fmt.Errorf("unbalanced ']' in segment %q", tok)
		}
		if name != "" {
			segs = append(segs, literalSegment(name))
		}
		for rest != "" {
			if rest[0] != '[' {
				return parsedPath{}, fmt.Errorf("unexpected %q after ']' in segment %q", rest, tok)
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return parsedPath{}, fmt.Errorf("unclosed '[' in segment %q", tok)
			}
			inner := rest[1:end]
			switch {
			case inner == "*":
				segs = append(segs, segment{kind: segAny})
			case isDigits(inner):
				seg := literalSegment(inner)
				if seg.kind != segIndex {
					return parsedPath{}, fmt.Errorf("index %q out of range in segment %q", inner, tok)
				}
				segs = append(segs, seg)
			default:
				return parsedPath{}, fmt.Errorf("index must be a number or * in segment %q", tok)
			}
			rest = rest[end+1:]
		}
	}
	p := parsedPath{roots: rootData, segs: segs}
	if len(segs) > 1 && segs[0].kind == segName {
		switch segs[0].name {
		case "attributes":
			p = parsedPath{roots: rootAttributes, segs: segs[1:]}
		case "body":
			p = parsedPath{roots: rootBody, segs: segs[1:]}
		case "resource":
			p = parsedPath{roots: rootResource, segs: segs[1:]}
		case "data":
			p = parsedPath{roots: rootData, segs: segs[1:]}
		}
	}
	return p, nil
}

func literalSegment(name string) segment {
	if name == "*" {
		return segment{kind: segAny}
	}
	if isDigits(name) {
		if n, err := strconv.Atoi(name); err == nil && n < 1<<31 {
			return segment{kind: segIndex, name: name, index: n}
		}
	}
	return segment{kind: segName, name: name}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pathProgram runs every field_mask path at once as a small NFA while the record is walked. A state is
// (path, index of the next segment to match); the set of live states of a node is a bit set of `words`
// uint64s, so advancing costs nothing per node when no path is live.
type pathProgram struct {
	paths      []compiledPath
	stateOwner []int32 // state -> path
	stateSeg   []int32 // state -> segment index
	base       []int32 // path -> first state
	words      int
	rootRows   [3][]uint64 // initial states per root (resource, attributes, body)
}

type compiledPath struct {
	segs  []segment
	roots root
	step  uint // field_mask ordinal, the bit set in the returned hits
}

func rootIndex(r root) int {
	switch r {
	case rootResource:
		return 0
	case rootAttributes:
		return 1
	default:
		return 2
	}
}

func (pp *pathProgram) add(p parsedPath, step uint) {
	idx := int32(len(pp.paths))
	pp.paths = append(pp.paths, compiledPath{segs: p.segs, roots: p.roots, step: step})
	pp.base = append(pp.base, int32(len(pp.stateOwner)))
	for i := range p.segs {
		pp.stateOwner = append(pp.stateOwner, idx)
		pp.stateSeg = append(pp.stateSeg, int32(i))
	}
}

// finish sizes the bit sets and computes the initial row of each root.
func (pp *pathProgram) finish() {
	n := len(pp.stateOwner)
	pp.words = (n + 63) / 64
	for ri, r := range []root{rootResource, rootAttributes, rootBody} {
		row := make([]uint64, pp.words)
		for pi := range pp.paths {
			if pp.paths[pi].roots&r != 0 {
				s := pp.base[pi]
				row[s/64] |= 1 << (uint(s) % 64)
			}
		}
		pp.rootRows[ri] = row
	}
}

func (pp *pathProgram) empty() bool { return pp.words == 0 }

// advanceKey computes into out the states of the value under map key k, from the parent's states. It returns
// the field_mask ordinals of the paths that end exactly at this value.
func (pp *pathProgram) advanceKey(parent, out []uint64, k string) (hits uint64) {
	clear(out)
	for wi, word := range parent {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			s := wi*64 + b
			hits |= pp.matchKey(int(pp.stateOwner[s]), int(pp.stateSeg[s]), k, out)
		}
	}
	return hits
}

// matchKey matches the rest of key k against segments i... of path p. A literal may consume one dotted
// component of k, and the next segment continues inside the same key; * consumes one dotted component or
// the whole rest of the key.
func (pp *pathProgram) matchKey(p, i int, k string, out []uint64) (hits uint64) {
	segs := pp.paths[p].segs
	seg := &segs[i]
	if seg.kind == segAny {
		for e := 0; ; {
			d := strings.IndexByte(k[e:], '.')
			if d < 0 {
				return hits | pp.land(p, i+1, out)
			}
			if i+1 < len(segs) {
				hits |= pp.matchKey(p, i+1, k[e+d+1:], out)
			}
			e += d + 1
		}
	}
	name := seg.name
	if len(k) < len(name) || k[:len(name)] != name {
		return 0
	}
	if len(k) == len(name) {
		return pp.land(p, i+1, out)
	}
	if k[len(name)] == '.' && i+1 < len(segs) {
		return pp.matchKey(p, i+1, k[len(name)+1:], out)
	}
	return 0
}

// advanceIndex computes into out the states of list element idx: * and a matching index advance, a
// literal key stays (lists are transparent), a different index dies.
func (pp *pathProgram) advanceIndex(parent, out []uint64, idx int) (hits uint64) {
	clear(out)
	for wi, word := range parent {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			s := wi*64 + b
			p, i := int(pp.stateOwner[s]), int(pp.stateSeg[s])
			seg := &pp.paths[p].segs[i]
			switch seg.kind {
			case segAny:
				hits |= pp.land(p, i+1, out)
			case segIndex:
				if seg.index == idx {
					hits |= pp.land(p, i+1, out)
				}
			default:
				out[wi] |= 1 << uint(b)
			}
		}
	}
	return hits
}

// land records that path p has matched up to segment j: the end of the path is a hit, otherwise a state.
func (pp *pathProgram) land(p, j int, out []uint64) uint64 {
	cp := &pp.paths[p]
	if j == len(cp.segs) {
		return 1 << cp.step
	}
	s := pp.base[p] + int32(j)
	out[s/64] |= 1 << (uint(s) % 64)
	return 0
}

func anyBit(row []uint64) bool {
	for _, w := range row {
		if w != 0 {
			return true
		}
	}
	return false
}
