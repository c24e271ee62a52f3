package fapilogloki

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
	"github.com/fapilog/fapilog-otelcol/internal/lokilabel"
)

// Encoding is the body format of push requests.
type Encoding string

const (
	// EncodingProtobuf is a snappy-compressed logproto.PushRequest (application/x-protobuf), Loki's preferred format.
	EncodingProtobuf Encoding = "protobuf"
	// EncodingJSON is Loki's JSON push format (application/json).
	EncodingJSON Encoding = "json"
)

// pushPath is Loki's push API, appended to the endpoint unless it already ends with it.
const pushPath = "/loki/api/v1/push"

// Config is the fapilogloki exporter's configuration.
type Config struct {
	// ClientConfig holds endpoint, headers, timeout, tls, proxy_url and the other HTTP client settings.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	// CircuitBreaker holds circuit_breaker_enabled, circuit_breaker_threshold and circuit_breaker_recovery.
	CircuitBreaker breaker.Config `mapstructure:",squash"`

	// TenantID is sent as X-Scope-OrgID (Loki multi-tenancy). Empty: no header. With {attribute} placeholders
	// ({service.name}, {k8s.namespace.name}) it is resolved per ResourceLogs, each value sanitised by Loki's tenant
	// ID rules, and a push sends one request per tenant.
	TenantID string `mapstructure:"tenant_id"`
	// Destinations holds max_destinations (distinct tenants since start; records of further ones go to the
	// default tenant) and placeholder_default (the value of a placeholder whose attribute is missing). Used only
	// when tenant_id has placeholders.
	Destinations destination.Config `mapstructure:",squash"`
	// AuthUsername and AuthPassword are HTTP basic authentication; the password is never logged.
	AuthUsername string              `mapstructure:"auth_username"`
	AuthPassword configopaque.String `mapstructure:"auth_password"`
	// AuthToken is sent as "Authorization: Bearer <token>"; never logged. Not together with basic authentication.
	AuthToken configopaque.String `mapstructure:"auth_token"`

	// Labels are the static labels of every stream (default {service: fapilog}). Setting labels replaces the
	// default set; values are sanitised like dynamic ones.
	Labels StaticLabels `mapstructure:"labels"`
	// LabelKeys are envelope fields whose values become labels (default [level]): top-level keys or dotted paths
	// such as diagnostics.service or data.region. The label name is the path with dots as underscores.
	LabelKeys []string `mapstructure:"label_keys"`
	// StructuredMetadataKeys are envelope fields sent as Loki 3 structured metadata of each entry, named like
	// label keys; their values are not sanitised.
	StructuredMetadataKeys []string `mapstructure:"structured_metadata_keys"`
	// Encoding is protobuf (default) or json.
	Encoding Encoding `mapstructure:"encoding"`
	// MaxStreamsPerRequest splits a batch holding more streams than this into several requests (0: no limit).
	MaxStreamsPerRequest int `mapstructure:"max_streams_per_request"`
	// MaxLabelValues caps the distinct values each label_keys label may take since start; later new values are
	// sent as _other_ (0: no cap).
	MaxLabelValues int `mapstructure:"max_label_values"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// StaticLabels is a label set given in the configuration. Unlike a plain map, a configured value replaces the
// default set instead of being merged into it, so `labels: {app: api}` does not keep service: fapilog.
type StaticLabels map[string]string

var _ confmap.Unmarshaler = (*StaticLabels)(nil)

// Unmarshal replaces the labels with the configured ones; scalar values (numbers, booleans) are taken as text.
func (l *StaticLabels) Unmarshal(conf *confmap.Conf) error {
	raw := map[string]any{}
	if err := conf.Unmarshal(&raw); err != nil {
		return err
	}
	out := make(StaticLabels, len(raw))
	for name, v := range raw {
		switch v := v.(type) {
		case string:
			out[name] = v
		case bool:
			out[name] = strconv.FormatBool(v)
		case int, int64, uint64, float64:
			out[name] = fmt.Sprint(v)
		case nil:
			out[name] = ""
		default:
			return fmt.Errorf("labels: value of %q must be a string, not %T", name, v)
		}
	}
	*l = out
	return nil
}

// Validate rejects bad values naming their key. The nested client, queue, retry and breaker sections are
// validated by the collector on their own.
func (c *Config) Validate() error {
	var errs []error
	if _, err := pushURL(c.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.ClientConfig.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	switch c.Encoding {
	case EncodingProtobuf:
		if c.ClientConfig.Compression.IsCompressed() {
			errs = append(errs, fmt.Errorf("compression: must be empty with encoding: protobuf, whose body is already snappy-compressed (got %q; use encoding: json to gzip the body)", c.ClientConfig.Compression))
		}
	case EncodingJSON:
	default:
		errs = append(errs, fmt.Errorf("encoding: must be one of protobuf, json (got %q)", c.Encoding))
	}
	errs = append(errs, c.validateAuth()...)
	errs = append(errs, c.validateLabels()...)
	if err := validatePaths("structured_metadata_keys", c.StructuredMetadataKeys, false); err != nil {
		errs = append(errs, err)
	}
	if c.MaxStreamsPerRequest < 0 {
		errs = append(errs, errors.New("max_streams_per_request: must not be negative (0: no limit)"))
	}
	if c.MaxLabelValues < 0 {
		errs = append(errs, errors.New("max_label_values: must not be negative (0: no limit)"))
	}
	return errors.Join(errs...)
}

func (c *Config) validateAuth() []error {
	var errs []error
	basic := c.AuthUsername != "" || c.AuthPassword != ""
	switch {
	case c.AuthToken != "" && basic:
		errs = append(errs, errors.New("auth_token: cannot be combined with auth_username/auth_password: choose bearer or basic authentication"))
	case c.AuthUsername != "" && c.AuthPassword == "":
		errs = append(errs, errors.New("auth_password: must be set together with auth_username"))
	case c.AuthUsername == "" && c.AuthPassword != "":
		errs = append(errs, errors.New("auth_username: must be set together with auth_password"))
	}
	if strings.Contains(c.AuthUsername, ":") {
		errs = append(errs, errors.New("auth_username: must not contain ':' (basic authentication separates user and password with it)"))
	}
	// Configured headers are applied after ours and would silently replace them.
	for name := range c.ClientConfig.Headers.Iter {
		switch {
		case strings.EqualFold(name, "Authorization") && (basic || c.AuthToken != ""):
			errs = append(errs, errors.New("headers: Authorization conflicts with auth_username/auth_password/auth_token: set one or the other"))
		case strings.EqualFold(name, "X-Scope-OrgID") && c.TenantID != "":
			errs = append(errs, errors.New("headers: X-Scope-OrgID conflicts with tenant_id: set one or the other"))
		case (strings.EqualFold(name, "AccountID") || strings.EqualFold(name, "ProjectID")) && hasPlaceholders(c.TenantID):
			// VictoriaLogs reads its own headers before X-Scope-OrgID: every tenant would land in that account.
			errs = append(errs, fmt.Errorf("headers: %s would override the tenant of every request in VictoriaLogs: with placeholders in tenant_id, leave it out", name))
		}
	}
	return append(errs, c.validateTenant()...)
}

// validateTenant checks tenant_id: a fixed value is the user's own (a VictoriaLogs "AccountID:ProjectID"
// included) and only has to be a header value; a template must give valid Loki tenant IDs whatever the records
// hold.
func (c *Config) validateTenant() []error {
	if !hasPlaceholders(c.TenantID) {
		if strings.ContainsFunc(c.TenantID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return []error{errors.New("tenant_id: must not contain control characters")}
		}
		return nil
	}
	// max_destinations and placeholder_default themselves are validated by destination.Config, which the
	// collector validates as a nested section.
	var errs []error
	def := c.Destinations.PlaceholderDefault
	if kept := destination.LokiTenantID.Sanitize(def); kept != def {
		errs = append(errs, fmt.Errorf("placeholder_default: %q is not a valid Loki tenant ID (it would be sent as %q)", def, kept))
	} else if _, err := destination.Parse(c.TenantID, destination.LokiTenantID, def); err != nil {
		errs = append(errs, fmt.Errorf("tenant_id: %w", err))
	}
	return errs
}

// hasPlaceholders tells a tenant_id template from a fixed tenant.
func hasPlaceholders(tenantID string) bool { return strings.ContainsAny(tenantID, "{}") }

func (c *Config) validateLabels() []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Labels)) {
		switch {
		case !lokilabel.ValidName(name):
			errs = append(errs, fmt.Errorf("labels: %q is not a valid label name (want [a-zA-Z_][a-zA-Z0-9_]*)", name))
		case lokilabel.ReservedName(name):
			errs = append(errs, fmt.Errorf("labels: %q is reserved (names starting with __ are internal to Loki)", name))
		case c.Labels[name] == "":
			errs = append(errs, fmt.Errorf("labels: value of %q is empty (Loki ignores empty labels)", name))
		}
	}
	if err := validatePaths("label_keys", c.LabelKeys, true); err != nil {
		errs = append(errs, err)
	}
	alwaysLabelled := len(c.Labels) > 0
	for _, path := range c.LabelKeys {
		name := lokilabel.NameFromPath(path)
		if _, clash := c.Labels[name]; clash {
			errs = append(errs, fmt.Errorf("label_keys: %q gives label %q, which labels already sets", path, name))
		}
		if lokilabel.ReservedName(name) {
			errs = append(errs, fmt.Errorf("label_keys: %q gives label %q, which is reserved", path, name))
		}
		if alwaysPresent(path) {
			alwaysLabelled = true
		}
	}
	if !alwaysLabelled {
		errs = append(errs, errors.New("labels: must not be empty unless label_keys includes level, logger or diagnostics.origin (Loki rejects a stream without labels)"))
	}
	return errs
}

// validatePaths checks that every path names an envelope field and that no two give the same label name.
// forLabels also rejects the fields that differ for every record: as labels they would make one stream each.
func validatePaths(key string, paths []string, forLabels bool) error {
	var errs []error
	byName := map[string]string{}
	for _, path := range paths {
		if err := envelope.ValidFieldPath(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		if forLabels && uniquePerRecord(path) {
			errs = append(errs, fmt.Errorf("%s: %q differs for every record and would create one stream per record; use structured_metadata_keys", key, path))
		}
		name := lokilabel.NameFromPath(path)
		if other, dup := byName[name]; dup {
			errs = append(errs, fmt.Errorf("%s: %q and %q both give the name %q", key, other, path, name))
		}
		byName[name] = path
	}
	return errors.Join(errs...)
}

func uniquePerRecord(path string) bool {
	switch path {
	case "timestamp", "message", "context.message_id":
		return true
	}
	return false
}

func alwaysPresent(path string) bool {
	switch path {
	case "level", "logger", "diagnostics.origin":
		return true
	}
	return false
}

// pushURL is the URL requests go to: the endpoint with /loki/api/v1/push appended to its path unless it already
// ends with it; the query string is kept.
func pushURL(endpoint string) (string, error) {
	if endpoint == "" {
		return "", errors.New("endpoint: must be set (e.g. http://localhost:3100)")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint: must be an http:// or https:// URL (got %q)", httpsend.RedactedURL(endpoint))
	}
	// Work on the escaped form so that an escaped "/" in a gateway's path (%2F) stays escaped.
	escaped := strings.TrimSuffix(u.EscapedPath(), "/")
	if !strings.HasSuffix(escaped, pushPath) {
		escaped += pushPath
	}
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return "", fmt.Errorf("endpoint: bad path in %q: %w", httpsend.RedactedURL(endpoint), err)
	}
	u.Path, u.RawPath = path, escaped
	return u.String(), nil
}
