//go:build unix

package mmap

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"
)

// File is an append-only file mapped into memory with room to spare at the
// end, so an append is a bounds check and a copy into the page cache, with
// no system call until the room runs out. It is safe for concurrent use.
//
// While a File is open its on-disk size is the mapped size, not the logical
// size; the gap is NUL bytes that Close trims. A path must have a single
// writer: two Files on it would append at the same offsets. Another process
// shrinking the file (copytruncate) destroys what was appended; touching a
// mapped page past the new end raises SIGBUS, which every store into the
// mapping catches (runtime/debug.SetPanicOnFault) and reports as ErrTruncated
// instead of letting it kill the program. HealthCheck notices the shrink
// without a store; close and reopen the File then.
type File struct {
	mu      sync.Mutex
	path    string
	opts    Options
	file    *os.File
	data    []byte // the whole mapping; data[:size] is the logical content
	size    int64
	flushed int64 // offset up to which a flush was last requested
	closed  bool

	appends, syncs, flushes, grows uint64
}

var pageSize = int64(os.Getpagesize())

// Open opens path for appending, creating it with mode 0640 if it does not
// exist; parent directories are not created. Unlike fapilog, an existing file
// is kept and appended to.
//
// The existing content is taken to end at the last non-NUL byte: a file left
// behind by a crash is still mapped-size long with a NUL tail, and that tail
// must not end up in the middle of the log. The flip side is that trailing
// NUL bytes a previous writer appended on purpose are overwritten, so this
// type suits text and other formats that never end in NUL.
func Open(path string, opts Options) (*File, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()

	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	f, err := mapFile(fd, path, opts)
	if err != nil {
		fd.Close()
		return nil, err
	}
	return f, nil
}

func mapFile(fd *os.File, path string, opts Options) (*File, error) {
	fi, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("mmap: %s is not a regular file", path)
	}
	onDisk := fi.Size()
	size, err := contentLength(fd, onDisk)
	if err != nil {
		return nil, fmt.Errorf("mmap: scan %s: %w", path, err)
	}
	mapped := max(onDisk, opts.InitialSize)
	if err := reserve(fd, size, mapped); err != nil {
		// Leave the file as we found it rather than padded with NULs.
		fd.Truncate(onDisk)
		return nil, fmt.Errorf("mmap: reserve %d bytes for %s: %w", mapped, path, err)
	}
	data, err := mapRegion(fd, mapped)
	if err != nil {
		fd.Truncate(onDisk)
		return nil, fmt.Errorf("mmap: map %s: %w", path, err)
	}
	return &File{path: path, opts: opts, file: fd, data: data, size: size, flushed: size}, nil
}

// contentLength returns the offset just past the last non-NUL byte of the
// first n bytes of fd.
func contentLength(fd *os.File, n int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := n; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := fd.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

func mapRegion(fd *os.File, length int64) ([]byte, error) {
	if length > math.MaxInt {
		return nil, fmt.Errorf("mapping of %d bytes exceeds the address space", length)
	}
	return unix.Mmap(int(fd.Fd()), 0, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// Append writes p at the end of the file. Either all of p is written or,
// on error, none of it.
func (f *File) Append(p []byte) (int, error) {
	return f.append(p, false)
}

// AppendLine writes p followed by '\n' as a single append, so a concurrent
// writer or a MaxSize failure can never leave a line without its newline.
// The count includes the newline.
func (f *File) AppendLine(p []byte) (int, error) {
	return f.append(p, true)
}

func (f *File) append(p []byte, newline bool) (int, error) {
	n := len(p)
	if newline {
		n++
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, fmt.Errorf("mmap: append to %s: %w", f.path, ErrClosed)
	}
	if n == 0 {
		return 0, nil
	}
	end := f.size + int64(n)
	if f.opts.MaxSize > 0 && end > f.opts.MaxSize {
		return 0, fmt.Errorf("mmap: append %d bytes to %s at %d: %w", n, f.path, f.size, ErrMaxSize)
	}
	if end > int64(len(f.data)) {
		if err := f.grow(end); err != nil {
			return 0, err
		}
	}
	if err := store(f.data[f.size:end], p, newline); err != nil {
		// Another process shrank the file to inside the mapping: the head of p went into pages the file still
		// has. Zeroed again, so that a failed append leaves none of p (the zeroing stops at the next fault too).
		if info, statErr := f.file.Stat(); statErr == nil && info.Size() > f.size {
			_ = store(f.data[f.size:min(end, info.Size())], nil, false)
		}
		return 0, fmt.Errorf("mmap: append to %s at %d: %w", f.path, f.size, err)
	}
	f.size = end
	f.appends++
	if f.opts.PeriodicFlushBytes > 0 && f.size-f.flushed >= f.opts.PeriodicFlushBytes {
		f.flushAsync()
	}
	return n, nil
}

// flushAsync starts write-back of the bytes appended since the last flush.
// A failure is not reported: MS_ASYNC only schedules work the kernel does on
// its own anyway, and Sync surfaces real write-back errors.
func (f *File) flushAsync() {
	start := f.flushed &^ (pageSize - 1) // msync needs a page-aligned address
	if unix.Msync(f.data[start:f.size], unix.MS_ASYNC) == nil {
		f.flushes++
	}
	f.flushed = f.size
}

// grow enlarges the file and the mapping to hold at least need bytes. The new
// mapping is created before the old one is removed, so a failure leaves the
// File fully usable at its old size; the file may then be longer than the
// mapping, which is harmless because only the NUL tail is affected.
func (f *File) grow(need int64) error {
	cur := int64(len(f.data))
	// Growing a file another process shrank would refill the gap with NULs
	// and append after it: a hole in the middle of the log.
	if err := f.checkNotShrunk(); err != nil {
		return fmt.Errorf("mmap: grow %s: %w", f.path, err)
	}
	// Whole chunks past the current size, without overflow: a GrowthChunk near MaxInt64 grows to MaxSize at once.
	chunk := f.opts.GrowthChunk
	target := need
	if rem := (need - cur) % chunk; rem != 0 {
		target += min(chunk-rem, math.MaxInt64-need)
	}
	if f.opts.MaxSize > 0 && target > f.opts.MaxSize {
		target = f.opts.MaxSize
	}
	if err := reserve(f.file, cur, target); err != nil {
		return fmt.Errorf("mmap: grow %s to %d bytes: %w", f.path, target, err)
	}
	data, err := mapRegion(f.file, target)
	if err != nil {
		return fmt.Errorf("mmap: remap %s at %d bytes: %w", f.path, target, err)
	}
	old := f.data
	f.data = data
	f.grows++
	if err := unix.Munmap(old); err != nil {
		return fmt.Errorf("mmap: unmap previous mapping of %s: %w", f.path, err)
	}
	return nil
}

// Sync makes every byte appended before the call durable: once it returns
// nil, a crash of the process or the machine cannot lose them. Appends wait
// while it runs, because a concurrent grow would unmap the region being
// synced. It fails with ErrTruncated when another process shrank the file:
// what was appended is not on disk, whatever msync says.
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("mmap: sync %s: %w", f.path, ErrClosed)
	}
	if err := f.checkNotShrunk(); err != nil {
		return fmt.Errorf("mmap: sync %s: %w", f.path, err)
	}
	if err := f.syncLocked(); err != nil {
		return fmt.Errorf("mmap: sync %s: %w", f.path, err)
	}
	f.syncs++
	f.flushed = f.size
	return nil
}

// syncLocked pairs msync with fsync because msync only covers the data pages,
// while the file size set by ftruncate/fallocate is metadata only fsync
// persists.
func (f *File) syncLocked() error {
	if f.size > 0 {
		if err := unix.Msync(f.data[:f.size], unix.MS_SYNC); err != nil {
			return err
		}
	}
	return f.file.Sync()
}

// Truncate cuts the logical content back to size bytes, for a writer that must take back what it appended
// after a later step of the same batch failed. The dropped bytes are zeroed in the mapping, so neither a
// later Close nor a crash brings them back (reopening treats the NUL tail as free space). A size beyond
// the current length is an error: Truncate never extends the file.
func (f *File) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("mmap: truncate %s: %w", f.path, ErrClosed)
	}
	if size < 0 || size > f.size {
		return fmt.Errorf("mmap: truncate %s to %d bytes: outside the content (%d bytes)", f.path, size, f.size)
	}
	if err := store(f.data[size:f.size], nil, false); err != nil {
		return fmt.Errorf("mmap: truncate %s: %w", f.path, err)
	}
	f.size = size
	f.flushed = min(f.flushed, size)
	return nil
}

// Stats returns a snapshot of the File's counters. It works after Close.
func (f *File) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{
		Path:       f.path,
		Size:       f.size,
		MappedSize: int64(len(f.data)),
		Appends:    f.appends,
		Syncs:      f.syncs,
		Flushes:    f.flushes,
		Grows:      f.grows,
		Closed:     f.closed,
	}
}

// HealthCheck returns nil if the File is open, its path still names the file
// being written (else an error wrapping ErrReplaced), the file has not been
// shrunk behind our back (else ErrTruncated) and its filesystem is still
// writable.
func (f *File) HealthCheck() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("mmap: health check %s: %w", f.path, ErrClosed)
	}
	open, err := f.file.Stat()
	if err != nil {
		return fmt.Errorf("mmap: health check: %w", err)
	}
	named, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("mmap: health check: %s was removed: %w", f.path, ErrReplaced)
	}
	if err != nil {
		return fmt.Errorf("mmap: health check: %w", err)
	}
	if !os.SameFile(open, named) {
		return fmt.Errorf("mmap: health check: %s now names a different file: %w", f.path, ErrReplaced)
	}
	// Only shrinking matters: the next write to a mapped page past the new
	// end raises SIGBUS. A longer file is merely a grow that failed midway.
	if open.Size() < int64(len(f.data)) {
		return fmt.Errorf("mmap: health check: %s is %d bytes, mapped %d: %w", f.path, open.Size(), len(f.data), ErrTruncated)
	}
	if err := checkWritable(f.file); err != nil {
		return fmt.Errorf("mmap: health check %s: %w", f.path, err)
	}
	return nil
}

// checkNotShrunk reports ErrTruncated when the file is shorter than the
// mapping: it is never, unless another process truncated it.
func (f *File) checkNotShrunk() error {
	fi, err := f.file.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < int64(len(f.data)) {
		return fmt.Errorf("%d bytes on disk, %d mapped: %w", fi.Size(), len(f.data), ErrTruncated)
	}
	return nil
}

// store copies p (and a newline) into dst, or zeroes dst when p is nil and
// newline is false. A page of dst past the end of a file another process
// shrank raises SIGBUS; the store then stops with ErrTruncated instead of
// killing the program.
func store(dst, p []byte, newline bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = ErrTruncated
		}
	}()
	if p == nil && !newline {
		clear(dst)
		return nil
	}
	copy(dst, p)
	if newline {
		dst[len(dst)-1] = '\n'
	}
	return nil
}

// Close flushes (unless Options.NoFlushOnClose), unmaps, truncates the file
// to its logical size and closes it. Closing an already closed File returns
// nil. On error the File is still closed: retrying cannot help. When another
// process shrank the file, Close leaves it at the length it has now (never
// refilling it with NULs up to what was appended before) and returns an error
// wrapping ErrTruncated.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	shrunk := f.checkNotShrunk()
	flush := !f.opts.NoFlushOnClose
	var errs []error
	if flush && f.size > 0 && shrunk == nil {
		errs = append(errs, unix.Msync(f.data[:f.size], unix.MS_SYNC))
	}
	errs = append(errs, unix.Munmap(f.data))
	f.data = nil
	if shrunk == nil {
		errs = append(errs, f.file.Truncate(f.size))
	} else {
		errs = append(errs, shrunk)
	}
	if flush {
		// Persists the truncation; the data pages were written by msync.
		errs = append(errs, f.file.Sync())
	}
	errs = append(errs, f.file.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mmap: close %s: %w", f.path, err)
	}
	return nil
}
