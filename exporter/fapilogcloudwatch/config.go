package fapilogcloudwatch

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// OversizeAction says what happens to an event larger than max_event_size.
type OversizeAction string

const (
	// OversizeDrop drops the event, logged and counted (fapilog's behaviour).
	OversizeDrop OversizeAction = "drop"
	// OversizeTruncate cuts the message at a UTF-8 boundary and ends it with truncationMarker.
	OversizeTruncate OversizeAction = "truncate"
)

// CloudWatch Logs service limits for PutLogEvents (API reference, checked 2026): they are not configurable.
const (
	// maxEventsPerRequest is the maximum number of log events in one PutLogEvents request.
	maxEventsPerRequest = 10_000
	// maxRequestBytes is the maximum size of one request: the UTF-8 messages plus eventOverhead per event.
	maxRequestBytes = 1_048_576
	// eventOverhead is what CloudWatch adds to every message when it measures a request.
	eventOverhead = 26
	// maxEventSizeLimit is the largest event CloudWatch accepts since April 2025 (1 MB, up from 256 KB); an
	// event of that size fills a request on its own.
	maxEventSizeLimit = confunits.ByteSize(maxRequestBytes)
	// defaultMaxEventSize is fapilog's limit and CloudWatch's documented limit before 2025: 256 KB, the 26 bytes
	// of overhead included, which every CloudWatch-compatible endpoint accepts.
	defaultMaxEventSize = confunits.ByteSize(256 << 10)
	// minEventSize keeps room for a useful message after the overhead and the truncation marker.
	minEventSize = confunits.ByteSize(256)
)

// allowedRetentionDays are the values PutRetentionPolicy accepts.
var allowedRetentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Config is the fapilogcloudwatch exporter's configuration.
type Config struct {
	// TimeoutConfig's timeout bounds each CloudWatch API call (PutLogEvents, CreateLogStream, ...), not a whole
	// batch: a batch of 10,000 large records takes several requests.
	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	// CircuitBreaker holds circuit_breaker_enabled, circuit_breaker_threshold and circuit_breaker_recovery.
	CircuitBreaker breaker.Config `mapstructure:",squash"`

	// LogGroupName is the log group (default /fapilog/default), with optional {attribute} placeholders: records
	// then go to the group their resource names, each value sanitised by CloudWatch's group name rules.
	LogGroupName string `mapstructure:"log_group_name"`
	// LogStreamName is the log stream, with optional {attribute} placeholders plus {hostname} and {timestamp};
	// empty means {hostname}-{timestamp}.
	LogStreamName string `mapstructure:"log_stream_name"`
	// Destinations holds max_destinations (distinct log groups since start; records of further ones go to the
	// default group) and placeholder_default (the value of a placeholder whose attribute is missing or empty).
	Destinations destination.Config `mapstructure:",squash"`
	// Region is the AWS region; empty: AWS_REGION, then AWS_DEFAULT_REGION, then the shared config profile.
	Region string `mapstructure:"region"`
	// EndpointURL replaces the regional endpoint (LocalStack, kumo, a VPC endpoint).
	EndpointURL string `mapstructure:"endpoint_url"`
	// CreateLogGroup creates the log group when it does not exist (default true).
	CreateLogGroup bool `mapstructure:"create_log_group"`
	// CreateLogStream creates the log stream when it does not exist (default true).
	CreateLogStream bool `mapstructure:"create_log_stream"`
	// LogRetentionDays is set on the log group when the exporter creates it (0: never expire).
	LogRetentionDays int32 `mapstructure:"log_retention_days"`
	// MaxEventSize is the largest event sent, message plus 26 bytes of overhead ("256 KB"; at most "1 MB").
	MaxEventSize confunits.ByteSize `mapstructure:"max_event_size"`
	// Oversize is drop (default) or truncate.
	Oversize OversizeAction `mapstructure:"oversize"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate rejects bad values naming their key. The queue, retry and breaker sections are validated by the
// collector on their own.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.validateNames()...)
	if strings.ContainsAny(c.Region, " \t\n/") {
		errs = append(errs, fmt.Errorf("region: must be a region name such as us-east-1 (got %q)", c.Region))
	}
	if c.EndpointURL != "" {
		if u, err := url.Parse(c.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint_url: must be an http:// or https:// URL (got %q)", httpsend.RedactedURL(c.EndpointURL)))
		}
	}
	if c.LogRetentionDays != 0 {
		if !slices.Contains(allowedRetentionDays, c.LogRetentionDays) {
			errs = append(errs, fmt.Errorf("log_retention_days: must be 0 (never expire) or one of %s (got %d)", retentionList(), c.LogRetentionDays))
		} else if !c.CreateLogGroup {
			errs = append(errs, errors.New("log_retention_days: only applied when the exporter creates the log group: needs create_log_group: true"))
		}
	}
	if c.MaxEventSize < minEventSize || c.MaxEventSize > maxEventSizeLimit {
		errs = append(errs, fmt.Errorf("max_event_size: must be between %s and %s, 26 bytes of overhead included (got %s)", minEventSize, maxEventSizeLimit, c.MaxEventSize))
	}
	switch c.Oversize {
	case OversizeDrop, OversizeTruncate:
	default:
		errs = append(errs, fmt.Errorf("oversize: must be one of drop, truncate (got %q)", c.Oversize))
	}
	if c.TimeoutConfig.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	return errors.Join(errs...)
}

// validateNames checks log_group_name and log_stream_name: each must give a valid name whatever the records
// hold, and placeholder_default must be a valid value of each kind that has placeholders. max_destinations and
// placeholder_default themselves are validated by destination.Config, which the collector validates as a
// nested section.
func (c *Config) validateNames() []error {
	var errs []error
	def := c.Destinations.PlaceholderDefault
	for _, n := range []struct {
		key, template string
		kind          destination.Kind
	}{
		{"log_group_name", c.LogGroupName, destination.CloudWatchLogGroup},
		{"log_stream_name", c.streamTemplate(), destination.CloudWatchLogStream},
	} {
		fallback := ""
		if hasPlaceholders(n.template) {
			if kept := n.kind.Sanitize(def); kept != def {
				errs = append(errs, fmt.Errorf("placeholder_default: %q is not a valid value in a %s (it would be %q)", def, n.kind, kept))
				continue
			}
			fallback = def
		}
		if _, err := destination.Parse(n.template, n.kind, fallback); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.key, err))
		}
	}
	if strings.HasPrefix(c.LogGroupName, reservedGroupPrefix) {
		errs = append(errs, fmt.Errorf("log_group_name: must not start with %q, reserved for AWS services (got %q)", reservedGroupPrefix, c.LogGroupName))
	}
	return errs
}

// reservedGroupPrefix starts the log groups of AWS services; CreateLogGroup refuses it.
const reservedGroupPrefix = "aws/"

// streamTemplate is log_stream_name, its default when empty.
func (c *Config) streamTemplate() string {
	if c.LogStreamName == "" {
		return defaultLogStreamName
	}
	return c.LogStreamName
}

// hasPlaceholders tells a template from a fixed name (neither a group nor a stream name may hold '{' or '}').
func hasPlaceholders(name string) bool { return strings.ContainsAny(name, "{}") }

func retentionList() string {
	parts := make([]string, len(allowedRetentionDays))
	for i, d := range allowedRetentionDays {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, ", ")
}
