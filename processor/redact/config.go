package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
)

// GuardrailAction says what happens to a record whose nesting is deeper than max_depth or that has more than
// max_keys_scanned keys and list elements.
type GuardrailAction string

const (
	// GuardrailReplaceSubtree replaces every value the walk could not reach with "[REDACTED:GUARDRAIL]".
	GuardrailReplaceSubtree GuardrailAction = "replace_subtree"
	// GuardrailDrop drops the record (logged and counted).
	GuardrailDrop GuardrailAction = "drop"
	// GuardrailWarn leaves the unreached values as they are and logs a warning (fapilog's "best effort").
	GuardrailWarn GuardrailAction = "warn"
)

// FailMode says what happens to a record when redaction itself fails (a panic inside a redactor).
type FailMode string

const (
	// FailModeWarn passes the record on as far as it was redacted and logs a warning.
	FailModeWarn FailMode = "warn"
	// FailModeOpen passes the record on as far as it was redacted, silently (counted only).
	FailModeOpen FailMode = "open"
	// FailModeClosed drops the record (logged and counted).
	FailModeClosed FailMode = "closed"
)

// Names of the redactors, as written in the `redactors` list.
const (
	nameFieldMask      = "field_mask"
	nameRegexMask      = "regex_mask"
	nameURLCredentials = "url_credentials"
	nameFieldBlocker   = "field_blocker"
	nameStringTruncate = "string_truncate"
	nameValuePatterns  = "value_patterns"
)

var redactorNames = []string{
	nameFieldMask, nameRegexMask, nameURLCredentials, nameFieldBlocker, nameStringTruncate, nameValuePatterns,
}

// Value pattern kinds accepted in value_patterns.detect.
const (
	kindCardNumber   = "card_number"
	kindAWSAccessKey = "aws_access_key"
	kindJWT          = "jwt"
	kindBearerToken  = "bearer_token"
	kindPrivateKey   = "private_key"
	kindEmail        = "email"
)

// Value pattern actions.
const (
	actionMask = "mask"
	actionHash = "hash"
)

const (
	defaultMask               = "***"
	defaultBlockerReplacement = "[REDACTED:HIGH_RISK_FIELD]"
	defaultTruncateSuffix     = "[truncated]"
	defaultValueMask          = "[REDACTED:{kind}]"
	defaultURLMaxLength       = 4096
	defaultHashLength         = 16
	minHashKeyBytes           = 32
	defaultMaxDepth           = 16
	defaultMaxKeysScanned     = 1000
	// At most this many field_mask entries, and this many regex_mask entries (presets count as one), so the
	// per-node match results fit in one machine word.
	maxMaskEntries = 64
)

// defaultBlockedFields is fapilog's field_blocker default list.
var defaultBlockedFields = []string{
	"body", "request_body", "response_body", "payload", "raw", "dump", "raw_body", "raw_request", "raw_response",
}

// defaultDetect is value_patterns' default detector list: everything except e-mail addresses (opt-in).
var defaultDetect = []string{kindCardNumber, kindAWSAccessKey, kindJWT, kindBearerToken, kindPrivateKey}

var valueKinds = []string{kindCardNumber, kindAWSAccessKey, kindJWT, kindBearerToken, kindPrivateKey, kindEmail}

// Config is the configuration of the redact processor.
type Config struct {
	// Presets are named sets of sensitive field names and field-path patterns (fapilog's redaction presets:
	// CREDENTIALS, PCI_DSS, HIPAA_PHI, GDPR_PII, ...). They run before Redactors, on the record's data
	// (attributes and map-body fields), at any depth.
	Presets []string `mapstructure:"presets"`
	// PresetMask replaces the values the presets match.
	PresetMask string `mapstructure:"preset_mask"`
	// Redactors run in order on every record. Unset: url_credentials only (fapilog's default). An explicit
	// empty list turns redaction off (presets still apply).
	Redactors []RedactorConfig `mapstructure:"redactors"`
	// MaxDepth is the deepest container level walked; top-level attributes are at depth 1.
	MaxDepth int `mapstructure:"max_depth"`
	// MaxKeysScanned bounds the map entries and list elements walked per record (and per resource).
	MaxKeysScanned int `mapstructure:"max_keys_scanned"`
	// OnGuardrailExceeded is replace_subtree, drop or warn.
	OnGuardrailExceeded GuardrailAction `mapstructure:"on_guardrail_exceeded"`
	// FailMode is warn, open or closed.
	FailMode FailMode `mapstructure:"fail_mode"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// RedactorConfig is one entry of the `redactors` list: exactly one of its fields is set. In YAML an entry is
// either a one-key map (`- field_mask: {fields: [...]}`) or, for a redactor whose defaults suit, just its
// name (`- url_credentials`).
type RedactorConfig struct {
	FieldMask      *FieldMaskConfig      `mapstructure:"field_mask,omitempty"`
	RegexMask      *RegexMaskConfig      `mapstructure:"regex_mask,omitempty"`
	URLCredentials *URLCredentialsConfig `mapstructure:"url_credentials,omitempty"`
	FieldBlocker   *FieldBlockerConfig   `mapstructure:"field_blocker,omitempty"`
	StringTruncate *StringTruncateConfig `mapstructure:"string_truncate,omitempty"`
	ValuePatterns  *ValuePatternsConfig  `mapstructure:"value_patterns,omitempty"`
}

// FieldMaskConfig masks the values at explicit paths.
type FieldMaskConfig struct {
	// Fields are paths: `attributes.<p>`, `body.<p>`, `resource.<p>`, `data.<p>` (attributes and map-body
	// fields together); a path without one of these prefixes is a `data.` path. Segments are separated by
	// dots; `*` and `[*]` match any key or list element, `[N]` or `.N` a list index; lists on the way are
	// traversed transparently.
	Fields []string `mapstructure:"fields"`
	// Mask replaces the value (masking is idempotent).
	Mask string `mapstructure:"mask"`
}

// RegexMaskConfig masks the values whose full dotted path matches one of the patterns.
type RegexMaskConfig struct {
	// Patterns are Go regular expressions matched against the whole path (`data.user.password`,
	// `resource.db.password`); list indexes do not appear in paths.
	Patterns []string `mapstructure:"patterns"`
	// Mask replaces the value.
	Mask string `mapstructure:"mask"`
}

// URLCredentialsConfig removes the userinfo (`user:password@`) from URLs inside string values.
type URLCredentialsConfig struct {
	// MaxStringLength: longer strings (in characters) are skipped by this redactor, as in fapilog. 0 means no
	// limit.
	MaxStringLength int `mapstructure:"max_string_length"`
}

// FieldBlockerConfig replaces the values of high-risk field names at any depth.
type FieldBlockerConfig struct {
	// BlockedFields are key names, case-insensitive; a dotted OTel key also matches by its last component.
	BlockedFields []string `mapstructure:"blocked_fields"`
	// AllowedFields are exempt from BlockedFields.
	AllowedFields []string `mapstructure:"allowed_fields"`
	// Replacement replaces the blocked value.
	Replacement string `mapstructure:"replacement"`
}

// StringTruncateConfig cuts long string values.
type StringTruncateConfig struct {
	// MaxStringLength in characters: a longer string keeps its first MaxStringLength characters and gets
	// Suffix appended (the suffix does not count toward the limit, as in fapilog).
	MaxStringLength int `mapstructure:"max_string_length"`
	// Suffix marks a truncated string.
	Suffix string `mapstructure:"suffix"`
}

// ValuePatternsConfig detects secrets inside string content.
type ValuePatternsConfig struct {
	// Detect lists the detectors: card_number, aws_access_key, jwt, bearer_token, private_key, email.
	Detect []string `mapstructure:"detect"`
	// Action is mask or hash.
	Action string `mapstructure:"action"`
	// Mask replaces a match when Action is mask; `{kind}` is replaced by the detector name.
	Mask string `mapstructure:"mask"`
	// HashKey is the HMAC-SHA256 key when Action is hash (at least 32 bytes).
	HashKey configopaque.String `mapstructure:"hash_key"`
	// HashLength is the number of hex characters of the HMAC kept (8-64).
	HashLength int `mapstructure:"hash_length"`
}

// NewDefaultFieldMaskConfig returns field_mask's defaults.
func NewDefaultFieldMaskConfig() FieldMaskConfig { return FieldMaskConfig{Mask: defaultMask} }

// NewDefaultRegexMaskConfig returns regex_mask's defaults.
func NewDefaultRegexMaskConfig() RegexMaskConfig { return RegexMaskConfig{Mask: defaultMask} }

// NewDefaultURLCredentialsConfig returns url_credentials' defaults.
func NewDefaultURLCredentialsConfig() URLCredentialsConfig {
	return URLCredentialsConfig{MaxStringLength: defaultURLMaxLength}
}

// NewDefaultFieldBlockerConfig returns field_blocker's defaults (fapilog's list of high-risk names).
func NewDefaultFieldBlockerConfig() FieldBlockerConfig {
	return FieldBlockerConfig{
		BlockedFields: append([]string(nil), defaultBlockedFields...),
		Replacement:   defaultBlockerReplacement,
	}
}

// NewDefaultStringTruncateConfig returns string_truncate's defaults; MaxStringLength must still be set.
func NewDefaultStringTruncateConfig() StringTruncateConfig {
	return StringTruncateConfig{Suffix: defaultTruncateSuffix}
}

// NewDefaultValuePatternsConfig returns value_patterns' defaults.
func NewDefaultValuePatternsConfig() ValuePatternsConfig {
	return ValuePatternsConfig{
		Detect:     append([]string(nil), defaultDetect...),
		Action:     actionMask,
		Mask:       defaultValueMask,
		HashLength: defaultHashLength,
	}
}

var (
	_ confmap.Unmarshaler       = (*RedactorConfig)(nil)
	_ confmap.ScalarUnmarshaler = (*RedactorConfig)(nil)
)

// Unmarshal reads a one-key map entry, starting from the named redactor's defaults.
func (r *RedactorConfig) Unmarshal(conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	if len(raw) != 1 {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Errorf("a redactor entry must have exactly one key, one of %s (got %v)",
			strings.Join(redactorNames, ", "), keys)
	}
	for name := range raw {
		sub, err := conf.Sub(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := r.set(name, sub); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalScalar reads the short form: the redactor's name alone, with its defaults.
func (r *RedactorConfig) UnmarshalScalar(v confmap.ScalarValue) error {
	name, ok := v.GetRaw().(string)
	if !ok {
		return fmt.Errorf("a redactor entry must be a redactor name or a one-key map, one of %s (got %v)",
			strings.Join(redactorNames, ", "), v.GetRaw())
	}
	return r.set(name, confmap.New())
}

func (r *RedactorConfig) set(name string, sub *confmap.Conf) error {
	*r = RedactorConfig{}
	var err error
	switch name {
	case nameFieldMask:
		c := NewDefaultFieldMaskConfig()
		err = sub.Unmarshal(&c)
		r.FieldMask = &c
	case nameRegexMask:
		c := NewDefaultRegexMaskConfig()
		err = sub.Unmarshal(&c)
		r.RegexMask = &c
	case nameURLCredentials:
		c := NewDefaultURLCredentialsConfig()
		err = sub.Unmarshal(&c)
		r.URLCredentials = &c
	case nameFieldBlocker:
		c := NewDefaultFieldBlockerConfig()
		err = sub.Unmarshal(&c)
		r.FieldBlocker = &c
	case nameStringTruncate:
		c := NewDefaultStringTruncateConfig()
		err = sub.Unmarshal(&c)
		r.StringTruncate = &c
	case nameValuePatterns:
		c := NewDefaultValuePatternsConfig()
		err = sub.Unmarshal(&c)
		r.ValuePatterns = &c
	default:
		return fmt.Errorf("unknown redactor %q (known: %s)", name, strings.Join(redactorNames, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// name returns the name of the redactor set in r, or "" when none or several are set.
func (r *RedactorConfig) name() string {
	var names []string
	if r.FieldMask != nil {
		names = append(names, nameFieldMask)
	}
	if r.RegexMask != nil {
		names = append(names, nameRegexMask)
	}
	if r.URLCredentials != nil {
		names = append(names, nameURLCredentials)
	}
	if r.FieldBlocker != nil {
		names = append(names, nameFieldBlocker)
	}
	if r.StringTruncate != nil {
		names = append(names, nameStringTruncate)
	}
	if r.ValuePatterns != nil {
		names = append(names, nameValuePatterns)
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}

// Validate checks every value and names the offending key in each error. A config that validates compiles.
func (cfg *Config) Validate() error {
	var errs []error
	addf := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for i, p := range cfg.Presets {
		if _, ok := lookupPreset(p); !ok {
			addf("presets[%d]: unknown preset %q (known: %s)", i, p, strings.Join(presetNames(), ", "))
		}
	}
	if len(cfg.Presets) > 0 && cfg.PresetMask == "" {
		addf("preset_mask: must not be empty when presets are set")
	}
	if cfg.MaxDepth < 1 {
		addf("max_depth: must be at least 1 (got %d)", cfg.MaxDepth)
	}
	if cfg.MaxKeysScanned < 1 {
		addf("max_keys_scanned: must be at least 1 (got %d)", cfg.MaxKeysScanned)
	}
	switch cfg.OnGuardrailExceeded {
	case GuardrailReplaceSubtree, GuardrailDrop, GuardrailWarn:
	default:
		addf("on_guardrail_exceeded: must be one of replace_subtree, drop, warn (got %q)", cfg.OnGuardrailExceeded)
	}
	switch cfg.FailMode {
	case FailModeWarn, FailModeOpen, FailModeClosed:
	default:
		addf("fail_mode: must be one of warn, open, closed (got %q)", cfg.FailMode)
	}

	fieldMasks, regexMasks := 0, 0
	if len(cfg.Presets) > 0 {
		regexMasks++
	}
	for i := range cfg.Redactors {
		r := &cfg.Redactors[i]
		name := r.name()
		if name == "" {
			addf("redactors[%d]: exactly one of %s must be set", i, strings.Join(redactorNames, ", "))
			continue
		}
		key := fmt.Sprintf("redactors[%d].%s", i, name)
		switch name {
		case nameFieldMask:
			fieldMasks++
			errs = append(errs, validateFieldMask(key, r.FieldMask)...)
		case nameRegexMask:
			regexMasks++
			errs = append(errs, validateRegexMask(key, r.RegexMask)...)
		case nameURLCredentials:
			if r.URLCredentials.MaxStringLength < 0 {
				addf("%s.max_string_length: must be 0 (no limit) or more (got %d)", key, r.URLCredentials.MaxStringLength)
			}
		case nameFieldBlocker:
			errs = append(errs, validateFieldBlocker(key, r.FieldBlocker)...)
		case nameStringTruncate:
			if r.StringTruncate.MaxStringLength < 1 {
				addf("%s.max_string_length: must be at least 1 (got %d)", key, r.StringTruncate.MaxStringLength)
			}
		case nameValuePatterns:
			errs = append(errs, validateValuePatterns(key, r.ValuePatterns)...)
		}
	}
	if fieldMasks > maxMaskEntries {
		addf("redactors: at most %d field_mask entries (got %d); merge their fields", maxMaskEntries, fieldMasks)
	}
	if regexMasks > maxMaskEntries {
		addf("redactors: at most %d regex_mask entries (got %d); merge their patterns", maxMaskEntries, regexMasks)
	}
	return errors.Join(errs...)
}

func validateFieldMask(key string, c *FieldMaskConfig) []error {
	var errs []error
	if len(c.Fields) == 0 {
		errs = append(errs, fmt.Errorf("%s.fields: must list at least one path", key))
	}
	for j, f := range c.Fields {
		if _, err := parsePath(f); err != nil {
			errs = append(errs, fmt.Errorf("%s.fields[%d]: invalid path %q: %w", key, j, f, err))
		}
	}
	if c.Mask == "" {
		errs = append(errs, fmt.Errorf("%s.mask: must not be empty", key))
	}
	return errs
}

func validateRegexMask(key string, c *RegexMaskConfig) []error {
	var errs []error
	if len(c.Patterns) == 0 {
		errs = append(errs, fmt.Errorf("%s.patterns: must list at least one regex", key))
	}
	for j, p := range c.Patterns {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("%s.patterns[%d]: invalid regex %q: %w", key, j, p, err))
		}
	}
	if c.Mask == "" {
		errs = append(errs, fmt.Errorf("%s.mask: must not be empty", key))
	}
	return errs
}

func validateFieldBlocker(key string, c *FieldBlockerConfig) []error {
	var errs []error
	if len(c.BlockedFields) == 0 {
		errs = append(errs, fmt.Errorf("%s.blocked_fields: must list at least one field name", key))
	}
	for j, f := range c.BlockedFields {
		if f == "" {
			errs = append(errs, fmt.Errorf("%s.blocked_fields[%d]: must not be empty", key, j))
		}
	}
	for j, f := range c.AllowedFields {
		if f == "" {
			errs = append(errs, fmt.Errorf("%s.allowed_fields[%d]: must not be empty", key, j))
		}
	}
	return errs
}

func validateValuePatterns(key string, c *ValuePatternsConfig) []error {
	var errs []error
	if len(c.Detect) == 0 {
		errs = append(errs, fmt.Errorf("%s.detect: must list at least one of %s", key, strings.Join(valueKinds, ", ")))
	}
	for j, d := range c.Detect {
		if kindIndex(d) < 0 {
			errs = append(errs, fmt.Errorf("%s.detect[%d]: unknown detector %q (known: %s)", key, j, d,
				strings.Join(valueKinds, ", ")))
		}
	}
	switch c.Action {
	case actionMask:
		if c.Mask == "" {
			errs = append(errs, fmt.Errorf("%s.mask: must not be empty", key))
		}
	case actionHash:
		if n := len(c.HashKey); n < minHashKeyBytes {
			errs = append(errs, fmt.Errorf("%s.hash_key: must be at least %d bytes when action is hash (got %d)",
				key, minHashKeyBytes, n))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.action: must be one of mask, hash (got %q)", key, c.Action))
	}
	if c.HashLength < 8 || c.HashLength > 64 {
		errs = append(errs, fmt.Errorf("%s.hash_length: must be between 8 and 64 hex characters (got %d)",
			key, c.HashLength))
	}
	return errs
}

func kindIndex(kind string) int {
	for i, k := range valueKinds {
		if k == kind {
			return i
		}
	}
	return -1
}
