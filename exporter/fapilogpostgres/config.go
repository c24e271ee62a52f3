package fapilogpostgres

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/fapilog/fapilog-otelcol/internal/breaker"
)

// GIN operator classes accepted by gin_opclass.
const (
	GinOpclassDefault  = ""
	GinOpclassJSONBOps = "jsonb_ops"
	GinOpclassPathOps  = "jsonb_path_ops"
)

// maxIdentifierBytes is PostgreSQL's NAMEDATALEN-1: longer names are silently truncated by the server.
const maxIdentifierBytes = 63

// applicationName is reported to PostgreSQL (pg_stat_activity) unless the DSN sets its own.
const applicationName = "fapilog-otelcol"

// Config is the fapilogpostgres exporter configuration: fapilog's postgres sink options plus the collector's
// timeout, sending_queue (batching) and retry_on_failure blocks.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	breaker.Config               `mapstructure:",squash"`

	// DSN is a full connection string (URL or key=value form). It overrides host, port, database and user;
	// password fills in only when the DSN carries none.
	DSN configopaque.String `mapstructure:"dsn"`
	// Host, Port, Database, User and Password are used when DSN is empty.
	Host     string              `mapstructure:"host"`
	Port     int                 `mapstructure:"port"`
	Database string              `mapstructure:"database"`
	User     string              `mapstructure:"user"`
	Password configopaque.String `mapstructure:"password"`

	// TableName and SchemaName name the target table; both are quoted, so any characters are safe.
	TableName  string `mapstructure:"table_name"`
	SchemaName string `mapstructure:"schema_name"`
	// CreateTable creates the schema, the seed's table, its indexes and any missing extracted columns at start.
	CreateTable bool `mapstructure:"create_table"`

	// MinPoolSize and MaxPoolSize bound the connection pool; PoolAcquireTimeout bounds the wait for a connection
	// (and a new connection's establishment).
	MinPoolSize        int           `mapstructure:"min_pool_size"`
	MaxPoolSize        int           `mapstructure:"max_pool_size"`
	PoolAcquireTimeout time.Duration `mapstructure:"pool_acquire_timeout"`

	// UseJSONB makes the event column JSONB (and creates its GIN index) rather than JSON.
	UseJSONB bool `mapstructure:"use_jsonb"`
	// IncludeRawJSON stores the whole envelope in event; when false, event holds only the extracted fields.
	IncludeRawJSON bool `mapstructure:"include_raw_json"`
	// ExtractFields are copied from the envelope into columns of the same name.
	ExtractFields []string `mapstructure:"extract_fields"`
	// GinOpclass is the operator class of the GIN index: jsonb_ops (PostgreSQL's default) or jsonb_path_ops.
	GinOpclass string `mapstructure:"gin_opclass"`
	// Deduplicate stores context.message_id in a message_id column with a unique index so that a batch retried
	// after an ambiguous failure does not create duplicate rows.
	Deduplicate bool `mapstructure:"deduplicate"`
	// Partitioning, when set, makes the table natively partitioned by timestamp, with partitions made ahead of
	// time and dropped after retention.
	Partitioning configoptional.Optional[PartitioningConfig] `mapstructure:"partitioning"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate rejects bad values, naming the key. The circuit breaker keys are validated by breaker.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		if strings.TrimSpace(c.Host) == "" {
			errs = append(errs, errors.New("host: must not be empty when dsn is not set"))
		}
		if c.Port < 1 || c.Port > 65535 {
			errs = append(errs, fmt.Errorf("port: must be between 1 and 65535, got %d", c.Port))
		}
		if c.Database == "" {
			errs = append(errs, errors.New("database: must not be empty when dsn is not set"))
		}
		if c.User == "" {
			errs = append(errs, errors.New("user: must not be empty when dsn is not set"))
		}
	}
	errs = append(errs, validateIdentifier("table_name", c.TableName), validateIdentifier("schema_name", c.SchemaName))
	if c.MinPoolSize < 0 || c.MinPoolSize > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("min_pool_size: must be between 0 and %d, got %d", math.MaxInt32, c.MinPoolSize))
	}
	if c.MaxPoolSize < 1 || c.MaxPoolSize > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("max_pool_size: must be between 1 and %d, got %d", math.MaxInt32, c.MaxPoolSize))
	} else if c.MinPoolSize > c.MaxPoolSize {
		errs = append(errs, fmt.Errorf("min_pool_size: must not exceed max_pool_size (%d), got %d", c.MaxPoolSize, c.MinPoolSize))
	}
	if c.PoolAcquireTimeout < time.Millisecond {
		// fapilog takes seconds as a float; a bare number here would be nanoseconds.
		errs = append(errs, fmt.Errorf("pool_acquire_timeout: must be a duration of at least 1ms such as 10s, got %s", c.PoolAcquireTimeout))
	}
	seen := make(map[string]bool, len(c.ExtractFields))
	for _, name := range c.ExtractFields {
		if _, ok := lookupExtractField(name); !ok {
			errs = append(errs, fmt.Errorf("extract_fields: unknown field %q; must be one of %s", name, extractFieldNames()))
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("extract_fields: %q is listed twice", name))
		}
		seen[name] = true
	}
	if p := c.Partitioning.Get(); p != nil {
		errs = append(errs, p.validate(c))
	}
	switch c.GinOpclass {
	case GinOpclassDefault, GinOpclassJSONBOps, GinOpclassPathOps:
		if c.GinOpclass != GinOpclassDefault && !c.UseJSONB {
			errs = append(errs, errors.New("gin_opclass: needs use_jsonb: true (a JSON column has no GIN index)"))
		}
	default:
		errs = append(errs, fmt.Errorf("gin_opclass: must be one of jsonb_ops, jsonb_path_ops, got %q", c.GinOpclass))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := c.poolConfig()
	return err
}

func validateIdentifier(key, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s: must not be empty", key)
	case len(name) > maxIdentifierBytes:
		return fmt.Errorf("%s: must be at most %d bytes (PostgreSQL truncates longer names), got %d", key, maxIdentifierBytes, len(name))
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%s: must not contain a NUL byte", key)
	}
	return nil
}

// poolConfig turns the connection options into a pgx pool configuration. Errors name the key and never contain
// the password.
func (c *Config) poolConfig() (*pgxpool.Config, error) {
	var (
		pc  *pgxpool.Config
		err error
	)
	if c.DSN != "" {
		pc, err = pgxpool.ParseConfig(string(c.DSN))
		if err != nil {
			return nil, fmt.Errorf("dsn: cannot parse the connection string: %s", describeParseError(err))
		}
		if pc.ConnConfig.Password == "" && c.Password != "" {
			pc.ConnConfig.Password = string(c.Password)
		}
	} else {
		pc, err = pgxpool.ParseConfig(c.keywordConnString())
		if err != nil {
			return nil, fmt.Errorf("host: cannot build a connection from host, port, database and user: %s", describeParseError(err))
		}
	}
	pc.MinConns = int32(c.MinPoolSize) //nolint:gosec // bounded by Validate
	pc.MaxConns = int32(c.MaxPoolSize) //nolint:gosec // bounded by Validate
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = c.PoolAcquireTimeout
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	return pc, nil
}

// keywordConnString builds a key=value connection string from the individual options, quoting every value.
func (c *Config) keywordConnString() string {
	var b strings.Builder
	kv := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("='")
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
		b.WriteByte('\'')
	}
	kv("host", c.Host)
	kv("port", strconv.Itoa(c.Port))
	kv("dbname", c.Database)
	kv("user", c.User)
	if c.Password != "" {
		kv("password", string(c.Password))
	}
	return b.String()
}

// quotedPiece is a double-quoted piece of a pgx parse error's reason.
var quotedPiece = regexp.MustCompile(`"[^"]*"`)

// describeParseError keeps the reason of a connection string parse error and drops the connection string itself,
// which pgx echoes with a best-effort redaction only.
func describeParseError(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	var parseErr *pgconn.ParseConfigError
	if errors.As(err, &parseErr) {
		msg := parseErr.Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			// The reason may quote a piece of the string ("missing \"=\" after \"<word>\""), which can be a word of
			// an unquoted passphrase: quoted pieces are left out.
			return quotedPiece.ReplaceAllString(msg[i+len("`: "):], `"…"`)
		}
	}
	return "invalid connection string (expected postgres://user@host:5432/database or host=... dbname=... key=value pairs)"
}

// qualifiedTable is "schema"."table", both quoted.
func (c *Config) qualifiedTable() string {
	return quoteQualified(c.SchemaName, c.TableName)
}
