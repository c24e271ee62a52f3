package fapilogcloudwatch

import (
	"context"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
)

const (
	// defaultLogStreamName is fapilog's default, {hostname}-{timestamp}: the collector's host name and the unix
	// seconds at which the exporter started, so each collector process writes its own stream.
	defaultLogStreamName = "{" + placeholderHostname + "}-{" + placeholderTimestamp + "}"

	placeholderHostname  = "hostname"
	placeholderTimestamp = "timestamp"
)

// routes names the log group and the log stream of each resource's records, from log_group_name and
// log_stream_name: literal text, {hostname} and {timestamp} (the collector's host and the exporter's start, fixed
// at creation), and {attribute} for the value of a resource attribute, sanitised by CloudWatch's rules for the
// name (internal/destination). The distinct groups are capped at max_destinations by the shared router; stream
// names are not capped (one group's streams cost no more than one stream each).
type routes struct {
	group  string              // log_group_name without placeholders
	router *destination.Router // nil with a fixed group
	stream *destination.Template
	// fixed is the one destination of every record when neither name has placeholders.
	fixed *dest
}

func newRoutes(cfg *Config, set exporter.Settings, hostname string, start time.Time) (*routes, error) {
	fixed := map[string]string{placeholderHostname: hostname, placeholderTimestamp: strconv.FormatInt(start.Unix(), 10)}
	groups, err := parse(cfg.LogGroupName, destination.CloudWatchLogGroup, cfg.Destinations.PlaceholderDefault)
	if err != nil {
		return nil, err
	}
	streams, err := parse(cfg.streamTemplate(), destination.CloudWatchLogStream, cfg.Destinations.PlaceholderDefault)
	if err != nil {
		return nil, err
	}
	r := &routes{stream: streams.Bind(fixed)}
	groups = groups.Bind(fixed)
	if name, ok := groups.Static(); ok {
		r.group = name
		if stream, ok := r.stream.Static(); ok {
			r.fixed = &dest{group: name, stream: stream}
		}
		return r, nil
	}
	r.router, err = destination.NewRouter(groups, cfg.Destinations.MaxDestinations, set.TelemetrySettings, metadata.ScopeName,
		destination.WithComponentID(set.ID))
	return r, err
}

// parse parses a name template; the placeholder default applies only to one that has placeholders (Validate
// checked it against the kind).
func parse(template string, kind destination.Kind, placeholderDefault string) (*destination.Template, error) {
	if !hasPlaceholders(template) {
		placeholderDefault = ""
	}
	return destination.Parse(template, kind, placeholderDefault)
}

// collectorHostname is {hostname}: the host the collector runs on.
func collectorHostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return destination.DefaultPlaceholderValue
}

// routed reports whether records go to log groups of their own.
func (r *routes) routed() bool { return r.router != nil }

// groupOf returns the log group of a resource's records and, when they go to the default group because
// max_destinations is reached, the group they were refused (else ""). They are counted as overflow once they are
// handled for good (countOverflow), not here: a request refused by a full queue and sent again by its client is
// converted again.
func (r *routes) groupOf(resource pcommon.Resource) (group, refused string) {
	if r.router == nil {
		return r.group, ""
	}
	return r.router.Resolve(resource)
}

// countOverflow counts records delivered to the default group, or refused there for good, because
// max_destinations was reached; refused names a group they were refused, for the log line.
func (r *routes) countOverflow(ctx context.Context, refused string, records int) {
	if r.router != nil {
		r.router.CountOverflow(ctx, refused, records)
	}
}

// describe is what the start-up log line says about the destinations.
func (r *routes) describe() (group, stream string) {
	group = r.group
	if r.routed() {
		group = "per resource, default " + r.router.Default()
	}
	stream, ok := r.stream.Static()
	if !ok {
		stream = "per resource, default " + r.stream.DefaultName()
	}
	return group, stream
}

func (r *routes) shutdown() {
	if r.router != nil {
		r.router.Shutdown()
	}
}
