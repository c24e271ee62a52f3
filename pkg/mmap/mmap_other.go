//go:build !unix

package mmap

import (
	"errors"
	"fmt"
)

// File is unsupported on this platform; Open always fails. The type exists so
// that exporters importing this package still compile everywhere.
type File struct{}

// Open reports errors.ErrUnsupported: memory-mapped appends need Unix mmap.
func Open(path string, _ Options) (*File, error) {
	return nil, fmt.Errorf("mmap: open %s: %w", path, errors.ErrUnsupported)
}

func (*File) Append([]byte) (int, error)     { return 0, errors.ErrUnsupported }
func (*File) AppendLine([]byte) (int, error) { return 0, errors.ErrUnsupported }
func (*File) Sync() error                    { return errors.ErrUnsupported }
func (*File) Truncate(int64) error           { return errors.ErrUnsupported }
func (*File) Stats() Stats                   { return Stats{} }
func (*File) HealthCheck() error             { return errors.ErrUnsupported }
func (*File) Close() error                   { return nil }
