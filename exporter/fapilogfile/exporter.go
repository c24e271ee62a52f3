package fapilogfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogfile/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/plogsubset"
)

// sink receives encoded batches; ends[i] is the offset just past record i. It returns how many of the first
// records it wrote, all of them unless it also returns an error.
type sink interface {
	write(records []byte, ends []int) (int, error)
}

type fileExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	telemetry *metadata.TelemetryBuilder
	encoder   *encoder
	sink      sink
	rotator   *rotator
	archiver  *archiver
	fs        fileSystem
}

func newFileExporter(cfg *Config, set component.TelemetrySettings) (*fileExporter, error) {
	tel, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &fileExporter{cfg: cfg, settings: set, telemetry: tel, fs: osFileSystem}, nil
}

func (fe *fileExporter) start(context.Context, component.Host) error {
	cfg := fe.cfg
	pretty := envelope.PrettyOptions{Location: time.Local}
	switch cfg.Path {
	case PathStdout, PathStderr:
		out := os.Stdout
		if cfg.Path == PathStderr {
			out = os.Stderr
		}
		pretty.Colors = useColors(cfg.Colors, out)
		fe.sink = &consoleSink{out: out}
	default:
		pretty.Colors = useColors(cfg.Colors, nil)
		path := cfg.filePath()
		dir, name := filepath.Split(path)
		ext := filepath.Ext(name)
		loc := time.UTC
		if cfg.LocalTime {
			loc = time.Local
		}
		fe.archiver = newArchiver(archiverSettings{
			dir: filepath.Clean(dir), base: strings.TrimSuffix(name, ext), ext: ext,
			compress: cfg.compressRotated(), compressionLevel: cfg.CompressionLevel,
			maxFiles: cfg.maxFiles(), maxTotalBytes: int64(cfg.MaxTotalBytes), maxAge: cfg.MaxAge,
		}, fe.telemetry, fe.settings.Logger)
		fe.rotator = newRotator(rotatorSettings{
			path: path, writeMode: cfg.WriteMode, maxBytes: cfg.maxBytes(), interval: cfg.Interval, location: loc,
			flushInterval: cfg.FlushInterval, fsync: cfg.Fsync,
		}, fe.archiver, fe.telemetry, fe.settings.Logger)
		fe.rotator.fs = fe.fs
		if err := fe.rotator.start(); err != nil {
			return err
		}
		fe.archiver.start()
		fe.sink = fe.rotator
	}
	fe.encoder = newEncoder(cfg.format(), pretty)
	return nil
}

func (fe *fileExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	batch := fe.encoder.encode(ld, time.Now())
	defer fe.encoder.release(batch)
	written, err := fe.sink.write(batch.buf, batch.ends)
	fe.countWritten(ctx, batch.ends[:written], err)
	return retryUnwritten(err, ld, written)
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

// retryUnwritten turns a failed write into the error that makes exporterhelper retry only the records after
// the first written ones: a whole-batch retry would write those twice.
func retryUnwritten(err error, ld plog.Logs, written int) error {
	if err == nil || written == 0 {
		return err
	}
	return consumererror.NewLogs(err, plogsubset.Select(ld, func(i int) bool { return i >= written }))
}

func (fe *fileExporter) shutdown(ctx context.Context) error {
	var err error
	if fe.rotator != nil {
		err = fe.rotator.shutdown()
	}
	if fe.archiver != nil {
		fe.archiver.shutdown(ctx)
	}
	fe.telemetry.Shutdown()
	return err
}
