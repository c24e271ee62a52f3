package fapilogfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

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
	telemetry component.TelemetrySettings
	encoder   *encoder
	sink      sink
	rotator   *rotator
	archiver  *archiver
	fs        fileSystem
}

func newFileExporter(cfg *Config, set component.TelemetrySettings) *fileExporter {
	return &fileExporter{cfg: cfg, telemetry: set, fs: osFileSystem}
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
		}, fe.telemetry.Logger)
		fe.rotator = newRotator(rotatorSettings{
			path: path, writeMode: cfg.WriteMode, maxBytes: cfg.maxBytes(), interval: cfg.Interval, location: loc,
			flushInterval: cfg.FlushInterval, fsync: cfg.Fsync,
		}, fe.archiver, fe.telemetry.Logger)
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

func (fe *fileExporter) pushLogs(_ context.Context, ld plog.Logs) error {
	batch := fe.encoder.encode(ld, time.Now())
	defer fe.encoder.release(batch)
	written, err := fe.sink.write(batch.buf, batch.ends)
	return retryUnwritten(err, ld, written)
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
	return err
}
