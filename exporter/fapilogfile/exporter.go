package fapilogfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

type fileExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	id        component.ID // on every metric series as the exporter attribute
	telemetry *metadata.TelemetryBuilder
	fs        fileSystem
	encoder   *encoder

	// Exactly one of console and files is set after start.
	console *consoleSink
	files   *fileSet
	// staticPath is the only file when the path has no placeholders; router resolves it per resource otherwise.
	staticPath string
	router     *destination.Router
	routes     sync.Pool // *routedBatch
}

// newFileExporter builds the exporter; id, its component ID, is on every metric series as the exporter attribute.
func newFileExporter(cfg *Config, set component.TelemetrySettings, id component.ID) (*fileExporter, error) {
	tel, err := metadata.NewTelemetryBuilder(set, metadata.WithComponentID(id))
	if err != nil {
		return nil, err
	}
	fe := &fileExporter{cfg: cfg, settings: set, id: id, telemetry: tel, fs: osFileSystem}
	fe.routes.New = func() any { return &routedBatch{byPath: map[string]int{}} }
	return fe, nil
}

func (fe *fileExporter) start(context.Context, component.Host) error {
	cfg := fe.cfg
	pretty := envelope.PrettyOptions{Location: time.Local}
	fe.encoder = newEncoder(cfg.Format, pretty)
	if cfg.isConsole() {
		out := os.Stdout
		if cfg.Path == PathStderr {
			out = os.Stderr
		}
		fe.encoder.pretty.Colors = useColors(cfg.Colors, out)
		fe.console = newConsoleSink(out, cfg.Timeout)
		return nil
	}
	fe.encoder.pretty.Colors = useColors(cfg.Colors, nil)
	tmpl, err := cfg.pathTemplate()
	if err != nil {
		return err
	}
	loc := time.UTC
	if cfg.LocalTime {
		loc = time.Local
	}
	arch := newArchiver(archiverSettings{
		compress: cfg.CompressRotated, compressionLevel: cfg.CompressionLevel,
		maxFiles: cfg.MaxFiles, maxTotalBytes: int64(cfg.MaxTotalBytes), maxAge: cfg.MaxAge,
	}, fe.telemetry, fe.settings.Logger)
	root := rootOf(tmpl)
	fe.files = newFileSet(rotatorSettings{
		writeMode: cfg.WriteMode, maxBytes: int64(cfg.MaxBytes), interval: cfg.Interval, location: loc,
		flushInterval: cfg.FlushInterval, fsync: cfg.Fsync, waitTimeout: cfg.Timeout,
	}, root, cfg.MaxOpenFiles, arch, fe.telemetry, fe.settings.Logger, fe.fs)
	// Fail before any goroutine starts: a directory that cannot be created is a start error, not a retried
	// write error.
	if path, static := tmpl.Static(); static {
		fe.staticPath = path
		f, err := fe.files.acquire(path)
		if err != nil {
			return err
		}
		fe.files.release(f)
	} else {
		if err := os.MkdirAll(root, directoryMode); err != nil {
			return fmt.Errorf("creating directory %s: %w", root, err)
		}
		if fe.router, err = destination.NewRouter(tmpl, cfg.Destinations.MaxDestinations, fe.settings, metadata.ScopeName,
			destination.WithComponentID(fe.id)); err != nil {
			return err
		}
	}
	return fe.files.start()
}

func (fe *fileExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if fe.router != nil {
		return fe.pushRouted(ctx, ld)
	}
	batch := fe.encoder.encode(ld, time.Now())
	defer fe.encoder.release(batch)
	var written int
	var err error
	if fe.console != nil {
		written, err = fe.console.write(ctx, batch.buf, batch.ends)
	} else {
		written, err = fe.files.write(ctx, fe.staticPath, batch.buf, batch.ends)
	}
	fe.countWritten(ctx, batch.ends[:written], err)
	if err == nil || written == 0 {
		return err // nothing written: exporterhelper retries the batch it has
	}
	return consumererror.NewLogs(err, plogsubset.Select(ld, func(i int) bool { return i >= written }))
}

// routedBatch is a batch split by destination; one is pooled per concurrent push.
type routedBatch struct {
	byPath  map[string]int // path -> index in groups
	groups  []routeGroup
	failed  []bool // per record of the batch, set only after a failure
	records []int  // index of each ResourceLogs' first record in the batch
}

type routeGroup struct {
	path      string
	resources []int
	// overflowed says, parallel to resources, which went to this (the default) file because max_destinations was
	// reached; refused is the first destination so refused, "" when none was.
	overflowed []bool
	refused    string
}

// pushRouted writes each resource's records to the file its attributes name: the name is resolved once per
// ResourceLogs, the records of one destination are encoded together and written with one call. A destination
// that fails does not stop the others; only its unwritten records are handed back for retry.
func (fe *fileExporter) pushRouted(ctx context.Context, ld plog.Logs) error {
	rb := fe.routes.Get().(*routedBatch)
	defer fe.routes.Put(rb)
	rls := ld.ResourceLogs()
	rb.records, rb.groups, rb.failed = rb.records[:0], rb.groups[:0], rb.failed[:0]
	clear(rb.byPath)
	total := 0
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		n := 0
		for _, sl := range rl.ScopeLogs().All() {
			n += sl.LogRecords().Len()
		}
		rb.records = append(rb.records, total)
		total += n
		if n == 0 { // nothing to write: never admit a file (one of max_destinations) for it, nor create one
			continue
		}
		// Overflow is counted once the records are written: a retry of the unwritten ones routes them again.
		path, refused := fe.router.Resolve(rl.Resource())
		path = notLikeRotated(path)
		g, ok := rb.byPath[path]
		if !ok {
			g = len(rb.groups)
			rb.byPath[path] = g
			if g < cap(rb.groups) {
				rb.groups = rb.groups[:g+1]
				group := &rb.groups[g]
				group.path, group.resources, group.overflowed, group.refused = path, group.resources[:0], group.overflowed[:0], ""
			} else {
				rb.groups = append(rb.groups, routeGroup{path: path})
			}
		}
		group := &rb.groups[g]
		group.resources, group.overflowed = append(group.resources, i), append(group.overflowed, refused != "")
		if refused != "" && group.refused == "" {
			group.refused = refused
		}
	}

	now := time.Now()
	var errs []error
	anyWritten := false
	for gi := range rb.groups {
		g := &rb.groups[gi]
		indexes := g.resources
		if len(rb.groups) == 1 {
			indexes = nil // the common case: the whole batch, in order
		}
		batch := fe.encoder.encodeResources(ld, indexes, now)
		written, err := fe.files.write(ctx, g.path, batch.buf, batch.ends)
		fe.countWritten(ctx, batch.ends[:written], err)
		fe.router.CountOverflow(ctx, g.refused, rb.overflowWritten(total, g, written))
		fe.encoder.release(batch)
		anyWritten = anyWritten || written > 0
		if err != nil {
			errs = append(errs, err)
			rb.markFailed(total, g.resources, written)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if !anyWritten {
		return err
	}
	return consumererror.NewLogs(err, plogsubset.Select(ld, func(i int) bool { return rb.failed[i] }))
}

// markFailed marks the records of a destination's resources from its written-th record on as not written.
func (rb *routedBatch) markFailed(total int, resources []int, written int) {
	if len(rb.failed) == 0 { // the push's first failure
		rb.failed = slices.Grow(rb.failed, total)[:total]
		clear(rb.failed)
	}
	seen := 0
	rb.recordsOf(total, resources, func(_, record int) {
		if seen >= written {
			rb.failed[record] = true
		}
		seen++
	})
}

// overflowWritten is how many of the first written records of g went to it because max_destinations was reached.
func (rb *routedBatch) overflowWritten(total int, g *routeGroup, written int) int {
	if g.refused == "" {
		return 0
	}
	n, seen := 0, 0
	rb.recordsOf(total, g.resources, func(k, _ int) {
		if seen < written && g.overflowed[k] {
			n++
		}
		seen++
	})
	return n
}

// recordsOf calls fn for each record of resources (indexes of the batch's ResourceLogs), in order, with the
// position of its resource in resources.
func (rb *routedBatch) recordsOf(total int, resources []int, fn func(k, record int)) {
	for k, r := range resources {
		end := total
		if r+1 < len(rb.records) {
			end = rb.records[r+1]
		}
		for record := rb.records[r]; record < end; record++ {
			fn(k, record)
		}
	}
}

// countWritten records the written records of a batch (ends are theirs) and the failure that stopped it.
func (fe *fileExporter) countWritten(ctx context.Context, ends []int, err error) {
	if len(ends) > 0 {
		fe.telemetry.FapilogExporterFileRecordsWritten.Add(ctx, int64(len(ends)))
		fe.telemetry.FapilogExporterFileBytesWritten.Add(ctx, int64(ends[len(ends)-1]))
	}
	if err != nil {
		op := opWrite // the console's only step
		var fileErr *fileError
		if errors.As(err, &fileErr) {
			op = fileErr.op
		}
		fe.telemetry.FapilogExporterFileWriteErrors.Add(ctx, 1, operationAttribute(op))
	}
}

func (fe *fileExporter) shutdown(ctx context.Context) error {
	var err error
	if fe.files != nil {
		err = fe.files.shutdown(ctx)
	}
	if fe.router != nil {
		fe.router.Shutdown()
	}
	fe.telemetry.Shutdown()
	return err
}
