package fapilogfile

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/confunits"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
)

// Special values of path.
const (
	PathStdout = "stdout"
	PathStderr = "stderr"
)

// Output formats.
const (
	FormatJSON   = "json"
	FormatText   = "text"
	FormatPretty = "pretty"
)

// Colour modes of the pretty format.
const (
	ColorsAuto   = "auto"
	ColorsAlways = "always"
	ColorsNever  = "never"
)

// Write modes.
const (
	WriteModeBuffered = "buffered"
	WriteModeMmap     = "mmap"
)

// Config is the fapilogfile exporter's configuration.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// Path is the active file, or stdout / stderr. Mutually exclusive with Directory. Path, Directory and
	// FilenamePrefix may hold {resource.attribute} placeholders: each record goes to the file its resource names.
	Path string `mapstructure:"path"`
	// Directory and FilenamePrefix are fapilog's way to name the file: <directory>/<prefix>.jsonl (.log for text).
	Directory      string `mapstructure:"directory"`
	FilenamePrefix string `mapstructure:"filename_prefix"`

	// Destinations caps the files placeholders can name (max_destinations) and sets what stands in for a
	// missing attribute (placeholder_default).
	Destinations destination.Config `mapstructure:",squash"`
	// MaxOpenFiles bounds the files open at once; the least recently used one is closed and opened again
	// (appending) when written to.
	MaxOpenFiles int `mapstructure:"max_open_files"`

	// Format is json (fapilog's JSON lines), text (key=value) or pretty (human console lines).
	Format string `mapstructure:"format"`
	// Colors applies to the pretty format: auto (when the output is a terminal and NO_COLOR is unset), always, never.
	Colors string `mapstructure:"colors"`

	// MaxBytes rotates the file before a record would take it past this size; 0 disables size rotation.
	MaxBytes confunits.ByteSize `mapstructure:"max_bytes"`
	// Interval rotates the file at each boundary of this period (hourly, daily, weekly, midnight or a duration).
	Interval confunits.Interval `mapstructure:"interval"`
	// LocalTime aligns interval boundaries to local time instead of UTC.
	LocalTime bool `mapstructure:"localtime"`

	// MaxFiles keeps at most this many rotated files; 0 keeps all.
	MaxFiles int `mapstructure:"max_files"`
	// MaxTotalBytes keeps the rotated files' total size under this; 0 disables.
	MaxTotalBytes confunits.ByteSize `mapstructure:"max_total_bytes"`
	// MaxAge deletes rotated files older than this; 0 disables.
	MaxAge time.Duration `mapstructure:"max_age"`

	// CompressRotated gzips rotated files in the background.
	CompressRotated bool `mapstructure:"compress_rotated"`
	// CompressionLevel is the gzip level, 1 (fastest) to 9 (smallest).
	CompressionLevel int `mapstructure:"compression_level"`

	// FlushInterval is how often the exporter looks after its files between batches (rotation of an idle file
	// at interval boundaries, reopening a file another process moved or truncated); 0 means the default. Records
	// never wait for it: every batch reaches the kernel before it is acknowledged.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Fsync syncs the file to disk after every batch, before the batch is acknowledged (and before rotating it).
	Fsync bool `mapstructure:"fsync"`
	// WriteMode is buffered (a write buffer in front of the file) or mmap (pkg/mmap).
	WriteMode string `mapstructure:"write_mode"`

	// The seed's rotating_file() factory parameters, accepted as aliases.
	Rotation    *confunits.ByteSize `mapstructure:"rotation"`    // alias of max_bytes
	Retention   *int                `mapstructure:"retention"`   // alias of max_files
	Compression *bool               `mapstructure:"compression"` // alias of compress_rotated
	Mode        *string             `mapstructure:"mode"`        // alias of format (json or text)

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Unmarshal reads the user's configuration. An alias given without its key (the seed's rotating_file() names:
// rotation, retention, compression, mode) sets that key, so that it replaces the key's default: otherwise
// `rotation: 5 MB` alone would differ from max_bytes' default of 10 MB. Both given with different values stay
// as they are, and Validate refuses them.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	if cfg.Rotation != nil && !conf.IsSet("max_bytes") {
		cfg.MaxBytes = *cfg.Rotation
	}
	if cfg.Retention != nil && !conf.IsSet("max_files") {
		cfg.MaxFiles = *cfg.Retention
	}
	if cfg.Compression != nil && !conf.IsSet("compress_rotated") {
		cfg.CompressRotated = *cfg.Compression
	}
	if cfg.Mode != nil && !conf.IsSet("format") {
		cfg.Format = *cfg.Mode
	}
	return nil
}

// Validate checks every key and names the one at fault.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case cfg.Path != "" && cfg.Directory != "":
		add("path: set either path or directory, not both")
	case cfg.Path == "" && cfg.Directory == "":
		add("path: must be set (a file path, stdout or stderr), or use directory")
	}
	if strings.HasSuffix(cfg.Path, gzipSuffix) {
		// The active file is plain text, and a rotated app-<time>.gz could not be told from a compressed one.
		add("path: must not end in %s: the active file is plain text (compress_rotated gzips the rotated files)", gzipSuffix)
	}
	if strings.ContainsAny(cfg.FilenamePrefix, `/\`) {
		add("filename_prefix: must not contain a path separator")
	}
	if !cfg.isConsole() {
		errs = append(errs, cfg.validateTemplates())
	}
	if cfg.MaxOpenFiles < 1 {
		add("max_open_files: must be at least 1")
	}
	if cfg.Mode != nil {
		if *cfg.Mode != FormatJSON && *cfg.Mode != FormatText {
			add("mode: must be one of json, text")
		} else if cfg.Format != *cfg.Mode {
			add("mode: conflicts with format %q (mode is an alias of format)", cfg.Format)
		}
	}
	if f := cfg.Format; f != FormatJSON && f != FormatText && f != FormatPretty {
		add("format: must be one of json, text, pretty")
	}
	if cfg.Colors != ColorsAuto && cfg.Colors != ColorsAlways && cfg.Colors != ColorsNever {
		add("colors: must be one of auto, always, never")
	}
	if cfg.WriteMode != WriteModeBuffered && cfg.WriteMode != WriteModeMmap {
		add("write_mode: must be one of buffered, mmap")
	}
	if cfg.isConsole() {
		if cfg.WriteMode == WriteModeMmap {
			add("write_mode: mmap needs a file, not %s", cfg.Path)
		}
		// max_bytes has a default, so it is ignored on the console rather than rejected.
		if cfg.Interval.Enabled() || cfg.CompressRotated || cfg.MaxFiles > 0 || cfg.MaxTotalBytes > 0 || cfg.MaxAge > 0 {
			add("path: %s cannot be rotated; remove interval, compress_rotated and the retention keys", cfg.Path)
		}
	}
	if cfg.Rotation != nil && *cfg.Rotation != cfg.MaxBytes {
		add("rotation: conflicts with max_bytes (rotation is an alias of max_bytes)")
	}
	if cfg.Retention != nil && *cfg.Retention != cfg.MaxFiles {
		add("retention: conflicts with max_files (retention is an alias of max_files)")
	}
	if cfg.Compression != nil && *cfg.Compression != cfg.CompressRotated {
		add("compression: conflicts with compress_rotated (compression is an alias of compress_rotated)")
	}
	if cfg.MaxFiles < 0 {
		add("max_files: must not be negative")
	}
	if cfg.MaxAge < 0 {
		add("max_age: must not be negative")
	}
	if cfg.CompressionLevel < 1 || cfg.CompressionLevel > 9 {
		add("compression_level: must be between 1 and 9")
	}
	if cfg.FlushInterval < 0 {
		add("flush_interval: must not be negative")
	}
	if cfg.Interval.Enabled() && cfg.Interval.Period < time.Second {
		add("interval: must be at least 1s")
	}
	return errors.Join(errs...)
}

func (cfg *Config) isConsole() bool { return cfg.Path == PathStdout || cfg.Path == PathStderr }

// validateTemplates checks the placeholders of the keys that name the file, each under its own name.
func (cfg *Config) validateTemplates() error {
	if err := cfg.Destinations.Validate(); err != nil {
		return err
	}
	if def := cfg.Destinations.PlaceholderDefault; destination.PathSegment.Sanitize(def) != def {
		return fmt.Errorf("placeholder_default: %q is not a valid file name part (letters, digits, '-', '_', '.', no leading '.')", def)
	}
	var errs []error
	for key, value := range map[string]string{"path": cfg.Path, "directory": cfg.Directory, "filename_prefix": cfg.FilenamePrefix} {
		if value == "" {
			continue
		}
		if _, err := destination.Parse(value, destination.PathSegment, cfg.Destinations.PlaceholderDefault); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// pathTemplate is the active file's path with its placeholders.
func (cfg *Config) pathTemplate() (*destination.Template, error) {
	return destination.Parse(cfg.filePath(), destination.PathSegment, cfg.Destinations.PlaceholderDefault)
}

// rootOf is the directory no file of t may leave: the one its text before the first placeholder ends in.
func rootOf(t *destination.Template) string {
	if path, static := t.Static(); static {
		return filepath.Dir(path)
	}
	return filepath.Dir(t.LiteralPrefix() + "x") // x: the first placeholder's value, never a separator
}

// filePath is the active file's path.
func (cfg *Config) filePath() string {
	if cfg.Path != "" {
		return cfg.Path
	}
	prefix := cfg.FilenamePrefix
	if prefix == "" {
		prefix = defaultFilenamePrefix
	}
	ext := ".jsonl"
	if cfg.Format != FormatJSON {
		ext = ".log"
	}
	return filepath.Join(cfg.Directory, prefix+ext)
}
