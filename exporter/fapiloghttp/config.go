package fapiloghttp

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// Mode selects plain HTTP delivery or a webhook (signed requests).
type Mode string

const (
	// ModeHTTP is fapilog's http sink.
	ModeHTTP Mode = "http"
	// ModeWebhook is fapilog's webhook sink: requests are signed when a secret is set.
	ModeWebhook Mode = "webhook"
)

// BatchFormat is the shape of a request body.
type BatchFormat string

const (
	// FormatArray is a JSON list of envelopes, even of one (application/json).
	FormatArray BatchFormat = "array"
	// FormatNDJSON is one envelope per line, each line ending in a newline (application/x-ndjson).
	FormatNDJSON BatchFormat = "ndjson"
	// FormatWrapped is {"<batch_wrapper_key>":[...]} (application/json).
	FormatWrapped BatchFormat = "wrapped"
)

// SignatureMode says how webhook requests prove they come from the exporter.
type SignatureMode string

const (
	// SignatureHMAC sends X-Fapilog-Timestamp and X-Fapilog-Signature-256 (HMAC-SHA256 over "<ts>.<body>").
	SignatureHMAC SignatureMode = "hmac"
	// SignatureHeader sends the secret itself in X-Webhook-Secret (fapilog's legacy mode, deprecated).
	SignatureHeader SignatureMode = "header"
)

// Config is the fapiloghttp exporter's configuration.
type Config struct {
	// ClientConfig holds endpoint, headers, timeout, tls, compression, proxy_url and the other HTTP client settings.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	// CircuitBreaker holds circuit_breaker_enabled, circuit_breaker_threshold and circuit_breaker_recovery.
	CircuitBreaker breaker.Config `mapstructure:",squash"`

	// Mode is http (default) or webhook.
	Mode Mode `mapstructure:"mode"`
	// BatchFormat is array (default), ndjson or wrapped.
	BatchFormat BatchFormat `mapstructure:"batch_format"`
	// BatchWrapperKey names the list in the wrapped format (default logs).
	BatchWrapperKey string `mapstructure:"batch_wrapper_key"`
	// Secret signs webhook requests; never logged.
	Secret configopaque.String `mapstructure:"secret"`
	// SignatureMode is hmac (default) or header (legacy).
	SignatureMode SignatureMode `mapstructure:"signature_mode"`
	// MaxRequestBytes splits a batch into requests of at most this many body bytes ("1 MB" or bytes; 0: no limit). A record that
	// cannot fit alone is dropped and counted; the rest of the batch still goes.
	MaxRequestBytes confunits.ByteSize `mapstructure:"max_request_bytes"`
	// RetryMaxAttempts is fapilog's retry_max_attempts: when positive it replaces retry_on_failure.max_elapsed_time
	// with a time budget that allows at least that many attempts (see retryConfig).
	RetryMaxAttempts int `mapstructure:"retry_max_attempts"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Unmarshal reads the user's YAML. In webhook mode a batch defaults to one record, as in fapilog (its webhook sink
// sends each record alone, and receivers written for it expect one envelope object per request); batching stays
// available by setting sending_queue.batch.min_size / max_size explicitly.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(c); err != nil {
		return err
	}
	if c.Mode != ModeWebhook || !c.QueueConfig.HasValue() || !c.QueueConfig.Get().Batch.HasValue() {
		return nil
	}
	batch := c.QueueConfig.Get().Batch.Get()
	if !conf.IsSet("sending_queue::batch::min_size") {
		batch.MinSize = webhookBatchSize
	}
	if !conf.IsSet("sending_queue::batch::max_size") {
		batch.MaxSize = max(webhookBatchSize, batch.MinSize)
	}
	return nil
}

// webhookBatchSize is fapilog's webhook batch: one record per request.
const webhookBatchSize = 1

// Validate rejects bad values naming their key. The nested client, queue, retry and breaker sections are
// validated by the collector on their own.
func (c *Config) Validate() error {
	var errs []error
	if err := validateEndpoint(c.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.ClientConfig.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	switch c.Mode {
	case ModeHTTP, ModeWebhook:
	default:
		errs = append(errs, fmt.Errorf("mode: must be one of http, webhook (got %q)", c.Mode))
	}
	switch c.BatchFormat {
	case FormatArray, FormatNDJSON:
	case FormatWrapped:
		if c.BatchWrapperKey == "" {
			errs = append(errs, errors.New("batch_wrapper_key: must not be empty when batch_format is wrapped"))
		}
	default:
		errs = append(errs, fmt.Errorf("batch_format: must be one of array, ndjson, wrapped (got %q)", c.BatchFormat))
	}
	switch c.SignatureMode {
	case SignatureHMAC:
	case SignatureHeader:
		if c.Mode == ModeWebhook && c.Secret == "" {
			errs = append(errs, errors.New("secret: required when signature_mode is header"))
		}
	default:
		errs = append(errs, fmt.Errorf("signature_mode: must be one of hmac, header (got %q)", c.SignatureMode))
	}
	if c.Secret != "" && c.Mode != ModeWebhook {
		errs = append(errs, errors.New("secret: only used with mode: webhook"))
	}
	if c.RetryMaxAttempts < 0 {
		errs = append(errs, errors.New("retry_max_attempts: must not be negative (0 keeps retry_on_failure.max_elapsed_time)"))
	}
	return errors.Join(errs...)
}

func validateEndpoint(endpoint string) error {
	if endpoint == "" {
		return errors.New("endpoint: must be set (e.g. https://logs.example.com/ingest)")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint: must be an http:// or https:// URL (got %q)", httpsend.RedactedURL(endpoint))
	}
	return nil
}

// retryConfig is the retry policy the exporter helper runs. retry_max_attempts, fapilog's count of attempts, has no
// direct equivalent in the collector, whose retries are bounded by time: it becomes the max_elapsed_time in which
// that many attempts fit even at worst, each attempt taking the full timeout and each back-off drawn at the top of
// its randomization range. So at least that many attempts are always made; when failures come back fast
// (connection refused, 503) more attempts fit in the same budget and are made too. A Retry-After or an open
// circuit breaker that asks for a longer wait than what is left of the budget ends the retries.
func (c *Config) retryConfig() configretry.BackOffConfig {
	r := c.RetryConfig
	if c.RetryMaxAttempts <= 0 || !r.Enabled {
		return r
	}
	if c.RetryMaxAttempts == 1 {
		r.Enabled = false
		return r
	}
	var budget time.Duration
	interval := r.InitialInterval
	for range c.RetryMaxAttempts - 1 {
		budget += c.ClientConfig.Timeout + time.Duration(float64(interval)*(1+r.RandomizationFactor))
		interval = time.Duration(float64(interval) * r.Multiplier)
		if r.MaxInterval > 0 {
			interval = min(interval, r.MaxInterval)
		}
	}
	r.MaxElapsedTime = budget
	return r
}
