// Package mmap is a low-level, memory-mapped, append-only file writer for building zero-copy file sinks;
// it is the Go counterpart of fapilog's Python MemoryMappedPersistence, not a collector component.
package mmap
