package destination

import (
	"errors"
	"strings"
)

// DefaultMaxDestinations is the cap when an exporter's configuration does not set max_destinations.
const DefaultMaxDestinations = 100

// Config is the routing settings every exporter with placeholders in a destination name accepts, squashed into
// its own configuration (`mapstructure:",squash"`) so that the keys read the same everywhere.
type Config struct {
	// MaxDestinations caps the distinct destinations; records that would open one more go to the default
	// destination (every placeholder replaced by PlaceholderDefault) and are counted.
	MaxDestinations int `mapstructure:"max_destinations"`
	// PlaceholderDefault replaces a placeholder whose resource attribute is missing or empty.
	PlaceholderDefault string `mapstructure:"placeholder_default"`
}

// NewDefaultConfig returns the defaults: 100 destinations, "unknown" for a missing attribute.
func NewDefaultConfig() Config {
	return Config{MaxDestinations: DefaultMaxDestinations, PlaceholderDefault: DefaultPlaceholderValue}
}

// Validate checks the keys themselves; Parse checks placeholder_default against the destination's kind.
func (c Config) Validate() error {
	var errs []error
	if c.MaxDestinations < 1 {
		errs = append(errs, errors.New("max_destinations: must be at least 1"))
	}
	if strings.TrimSpace(c.PlaceholderDefault) == "" {
		errs = append(errs, errors.New("placeholder_default: must not be empty"))
	}
	return errors.Join(errs...)
}
