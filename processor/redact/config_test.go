package redact

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"

	"github.com/fapilog/fapilog-otelcol/processor/redact/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	// The collector validates with confmap.Validate, which calls Validate on the config.
	return cfg, confmap.Validate(cfg)
}

func TestConfig_StructIsWellFormed(t *testing.T) {
	assert.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestConfig_LoadsFromYAML(t *testing.T) {
	urlDefault := NewDefaultURLCredentialsConfig()
	fieldMask := FieldMaskConfig{
		Fields: []string{"data.password", "attributes.user.*.ssn", "body.cards[*].number"},
		Mask:   "###",
	}
	regexMask := RegexMaskConfig{Patterns: []string{"(?i).*secret.*"}, Mask: "***"}
	urlShort := URLCredentialsConfig{MaxStringLength: 100}
	blocker := NewDefaultFieldBlockerConfig()
	blocker.AllowedFields = []string{"payload"}
	truncate := StringTruncateConfig{MaxStringLength: 1000, Suffix: "[truncated]"}
	valuePatterns := ValuePatternsConfig{
		Detect:     []string{"card_number", "email"},
		Action:     "hash",
		Mask:       "[REDACTED:{kind}]",
		HashKey:    configopaque.String("0123456789abcdef0123456789abcdef"),
		HashLength: 16,
	}
	blockerDefault := NewDefaultFieldBlockerConfig()
	valueDefault := NewDefaultValuePatternsConfig()

	tests := []struct {
		name     string
		expected *Config
	}{
		{
			name: "",
			expected: &Config{
				PresetMask:          "***",
				Redactors:           []RedactorConfig{{URLCredentials: &urlDefault}},
				MaxDepth:            16,
				MaxKeysScanned:      1000,
				OnGuardrailExceeded: GuardrailReplaceSubtree,
				FailMode:            FailModeWarn,
			},
		},
		{
			name: "full",
			expected: &Config{
				Presets:    []string{"CREDENTIALS", "pci_dss"},
				PresetMask: "[MASKED]",
				Redactors: []RedactorConfig{
					{FieldMask: &fieldMask},
					{RegexMask: &regexMask},
					{URLCredentials: &urlDefault},
					{URLCredentials: &urlShort},
					{FieldBlocker: &blocker},
					{StringTruncate: &truncate},
					{ValuePatterns: &valuePatterns},
				},
				MaxDepth:            8,
				MaxKeysScanned:      500,
				OnGuardrailExceeded: GuardrailDrop,
				FailMode:            FailModeClosed,
			},
		},
		{
			name: "off",
			expected: &Config{
				PresetMask:          "***",
				Redactors:           []RedactorConfig{},
				MaxDepth:            16,
				MaxKeysScanned:      1000,
				OnGuardrailExceeded: GuardrailReplaceSubtree,
				FailMode:            FailModeWarn,
			},
		},
		{
			name: "null_entry_defaults",
			expected: &Config{
				PresetMask: "***",
				Redactors: []RedactorConfig{
					{URLCredentials: &urlDefault},
					{FieldBlocker: &blockerDefault},
					{ValuePatterns: &valueDefault},
				},
				MaxDepth:            16,
				MaxKeysScanned:      1000,
				OnGuardrailExceeded: GuardrailReplaceSubtree,
				FailMode:            FailModeWarn,
			},
		},
	}
	for _, tt := range tests {
		t.Run("redact/"+tt.name, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.name)
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
			_, err = compileRules(cfg)
			assert.NoError(t, err, "a config that validates must compile")
		})
	}
}

func TestConfig_BadValuesNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		errs []string
	}{
		{"bad_regex", []string{`redactors[0].regex_mask.patterns[1]: invalid regex "(": error parsing regexp: missing closing )`}},
		{"bad_path", []string{`redactors[0].field_mask.fields[0]: invalid path "a..b": empty segment`}},
		{"bad_enums", []string{
			`on_guardrail_exceeded: must be one of replace_subtree, drop, warn (got "explode")`,
			`fail_mode: must be one of warn, open, closed (got "sometimes")`,
			`max_depth: must be at least 1 (got 0)`,
			`max_keys_scanned: must be at least 1 (got -1)`,
		}},
		{"bad_preset", []string{`presets[1]: unknown preset "NOPE"`}},
		{"bad_truncate", []string{`redactors[0].string_truncate.max_string_length: must be at least 1 (got 0)`}},
		{"bad_value_patterns", []string{
			`redactors[0].value_patterns.detect[1]: unknown detector "ssn"`,
			`redactors[0].value_patterns.hash_key: must be at least 32 bytes when action is hash (got 5)`,
			`redactors[0].value_patterns.hash_length: must be between 8 and 64 hex characters (got 4)`,
		}},
		{"bad_action", []string{`redactors[0].value_patterns.action: must be one of mask, hash (got "encrypt")`}},
		{"bad_url_length", []string{`redactors[0].url_credentials.max_string_length: must be 0 (no limit) or more (got -1)`}},
		{"bad_blocker", []string{`redactors[0].field_blocker.blocked_fields: must list at least one field name`}},
		{"unknown_redactor", []string{`unknown redactor "shred"`}},
		{"two_keys", []string{`a redactor entry must have exactly one key`}},
		{"unknown_key", []string{`field_mask`, `mask_string`}},
		{"unknown_name", []string{`unknown redactor "shred"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestConfig_HashKeyIsNotPrinted(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	vp := NewDefaultValuePatternsConfig()
	vp.Action = "hash"
	vp.HashKey = "super-secret-but-too-short"
	cfg.Redactors = []RedactorConfig{{ValuePatterns: &vp}}
	err := cfg.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "super-secret")

	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	entries := conf.Get("redactors").([]any)
	vpConf := entries[0].(map[string]any)["value_patterns"].(map[string]any)
	assert.Equal(t, "[REDACTED]", vpConf["hash_key"])
}

func TestConfig_EntryWithNoRedactorIsRejected(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Redactors = []RedactorConfig{{}}
	assert.ErrorContains(t, cfg.Validate(), "redactors[0]: exactly one of field_mask, regex_mask, url_credentials, field_blocker, string_truncate, value_patterns must be set")
}

// TestConfig_READMEExampleLoads resolves the README's example (with ${env:...} expansion, as the collector
// does) and checks that it validates and compiles.
func TestConfig_READMEExampleLoads(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "## Example\n\n```yaml\n")
	require.True(t, ok, "README has an example")
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "otelcol.yaml")
	require.NoError(t, os.WriteFile(path, []byte(example), 0o600))

	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + path},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	require.NoError(t, err)
	conf, err := resolver.Resolve(context.Background())
	require.NoError(t, err)
	sub, err := conf.Sub("processors::redact")
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, 16, cfg.MaxDepth)
	assert.Equal(t, FailModeWarn, cfg.FailMode)
	assert.Len(t, cfg.Redactors, 6)
	_, err = compileRules(cfg)
	require.NoError(t, err)
}
