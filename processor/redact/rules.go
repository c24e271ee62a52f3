package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"fmt"
	"regexp"
)

// stepKind is what one configured redactor does at a node of the record.
type stepKind uint8

const (
	stepFieldMask      stepKind = iota // value at a path matched by field_mask -> mask
	stepRegexMask                      // value whose dotted path matches -> mask
	stepNames                          // value under a blocked key name -> replacement
	stepURLCredentials                 // string: strip URL userinfo
	stepValuePatterns                  // string (and int): replace detected secrets
	stepStringTruncate                 // string: cut
)

// step is one redactor, compiled. Steps run in configuration order at every node of the record; this gives
// the same result as fapilog's one-full-pass-per-redactor because every redactor only looks at one node
// (its path, key and value) at a time.
type step struct {
	kind     stepKind
	counter  counterID // the redactor a change is counted under (value_patterns counts by kind instead)
	bit      uint64    // field_mask / regex_mask ordinal bit
	mask     string
	dataOnly bool // presets: record attributes and body only, not resource
	names    *nameSet
	url      *urlCredentials
	vp       *valuePatterns
	trunc    *stringTruncate
}

// rules is the compiled configuration, shared read-only by all goroutines.
type rules struct {
	steps       []step
	paths       pathProgram
	regex       *pathMatcher // nil without regex steps
	fullWalk    bool         // some step needs every node, not only the live field_mask paths
	maxDepth    int
	maxKeys     int
	onGuardrail GuardrailAction
}

// guardrailMarker replaces what the walk could not reach under on_guardrail_exceeded: replace_subtree.
const guardrailMarker = "[REDACTED:GUARDRAIL]"

// compileRules turns a validated Config into rules: every regex is compiled here, once.
func compileRules(cfg *Config) (*rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &rules{maxDepth: cfg.MaxDepth, maxKeys: cfg.MaxKeysScanned, onGuardrail: cfg.OnGuardrailExceeded}
	var regexRules []regexRule
	var fieldMasks uint

	addRegex := func(patterns []string, mask string, dataOnly bool, counter counterID) error {
		rr := regexRule{dataOnly: dataOnly}
		for _, p := range patterns {
			// fapilog full-matches the pattern against the path. `.` also matches a newline (flag s), unlike in
			// fapilog: a key holding one must not hide the fields below it from `.*password.*`.
			re, err := regexp.Compile(`(?s)^(?:` + p + `)$`)
			if err != nil {
				return fmt.Errorf("invalid regex %q: %w", p, err)
			}
			rr.patterns = append(rr.patterns, re)
		}
		r.steps = append(r.steps, step{kind: stepRegexMask, counter: counter, bit: 1 << uint(len(regexRules)), mask: mask,
			dataOnly: dataOnly})
		regexRules = append(regexRules, rr)
		return nil
	}

	if len(cfg.Presets) > 0 {
		fields, patterns := resolvePresets(cfg.Presets)
		r.steps = append(r.steps, step{kind: stepNames, counter: countPresets, mask: cfg.PresetMask, dataOnly: true,
			names: newNameSet(fields, nil)})
		if err := addRegex(patterns, cfg.PresetMask, true, countPresets); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Redactors {
		rc := &cfg.Redactors[i]
		switch {
		case rc.FieldMask != nil:
			for _, f := range rc.FieldMask.Fields {
				p, err := parsePath(f)
				if err != nil {
					return nil, err
				}
				r.paths.add(p, fieldMasks)
			}
			r.steps = append(r.steps, step{kind: stepFieldMask, counter: countFieldMask, bit: 1 << fieldMasks,
				mask: rc.FieldMask.Mask})
			fieldMasks++
		case rc.RegexMask != nil:
			if err := addRegex(rc.RegexMask.Patterns, rc.RegexMask.Mask, false, countRegexMask); err != nil {
				return nil, err
			}
		case rc.URLCredentials != nil:
			r.steps = append(r.steps, step{kind: stepURLCredentials, counter: countURLCredentials,
				url: &urlCredentials{maxLen: rc.URLCredentials.MaxStringLength}})
		case rc.FieldBlocker != nil:
			r.steps = append(r.steps, step{kind: stepNames, counter: countFieldBlocker, mask: rc.FieldBlocker.Replacement,
				names: newNameSet(rc.FieldBlocker.BlockedFields, rc.FieldBlocker.AllowedFields)})
		case rc.StringTruncate != nil:
			r.steps = append(r.steps, step{kind: stepStringTruncate, counter: countStringTruncate,
				trunc: &stringTruncate{max: rc.StringTruncate.MaxStringLength, suffix: rc.StringTruncate.Suffix}})
		case rc.ValuePatterns != nil:
			r.steps = append(r.steps, step{kind: stepValuePatterns, vp: newValuePatterns(rc.ValuePatterns)})
		}
	}
	r.paths.finish()
	if len(regexRules) > 0 {
		r.regex = newPathMatcher(regexRules)
	}
	for _, s := range r.steps {
		if s.kind != stepFieldMask {
			r.fullWalk = true
		}
	}
	return r, nil
}
