package breaker

import (
	"errors"
	"time"
)

// Config is the circuit breaker part of an exporter's configuration, squashed into it so the keys read as in
// fapilog (circuit_breaker_enabled, circuit_breaker_threshold) plus the recovery time fapilog hard-codes.
type Config struct {
	// Enabled turns the breaker on (fapilog: circuit_breaker_enabled, default true).
	Enabled bool `mapstructure:"circuit_breaker_enabled"`
	// Threshold is the number of consecutive failures that opens the circuit (circuit_breaker_threshold, 5).
	Threshold int `mapstructure:"circuit_breaker_threshold"`
	// Recovery is how long the circuit stays open before one probe request is let through (30s).
	Recovery time.Duration `mapstructure:"circuit_breaker_recovery"`
}

// NewDefaultConfig returns fapilog's defaults: enabled, 5 consecutive failures, 30 s recovery.
func NewDefaultConfig() Config {
	return Config{Enabled: true, Threshold: 5, Recovery: 30 * time.Second}
}

// Validate reports a bad value naming its key.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.Threshold < 1 {
		errs = append(errs, errors.New("circuit_breaker_threshold: must be at least 1"))
	}
	if c.Recovery <= 0 {
		errs = append(errs, errors.New("circuit_breaker_recovery: must be a positive duration"))
	}
	return errors.Join(errs...)
}
