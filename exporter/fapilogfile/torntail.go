package fapilogfile

import (
	"fmt"
	"io"
	"os"
)

// tornTail is what cutTornTail found at the end of a file.
type tornTail struct {
	fragment int64 // bytes of a record cut short, now removed
	padding  int64 // NUL bytes after the content (a file the mmap mode left behind), now removed
	noLine   bool  // the file held no newline at all: it was only ended with one
}

// cutTornTail makes the file at path end with a whole line before anything is appended to it. A collector killed
// (kill -9, an OOM kill) in the middle of a write(2), or of a copy into the mmap mode's mapping, leaves the first
// part of a batch in the file: whole records, then one cut short. That batch was never acknowledged. Appended to as
// is, the fragment and the next record, which will be acknowledged, would form one line no reader can parse. The
// fragment is cut off, with any NUL padding after it. A file that holds no newline at all was not written by this
// exporter: it is only ended with one, and nothing is removed.
func cutTornTail(path string) (tornTail, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		// No file yet, or one that cannot be opened: then opening it for appending says why, under its own name.
		return tornTail{}, nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return tornTail{}, err // a device (/dev/full) or a pipe has no tail to repair
	}
	size := info.Size()
	contentEnd, lineEnd, err := scanTail(f, size)
	if err != nil {
		return tornTail{}, err
	}
	switch {
	case lineEnd == size && hasReservedBlocks(info):
		// A collector killed with the file open left blocks reserved past its end: released here, since a file of
		// a past interval is rotated at start without ever being opened for writing (whose close releases them).
		return tornTail{}, f.Truncate(size)
	case lineEnd == size:
		return tornTail{}, nil
	case lineEnd < 0 && contentEnd <= 0: // empty, or NUL bytes only
		return tornTail{padding: size}, f.Truncate(0)
	case lineEnd < 0:
		if err := f.Truncate(contentEnd); err != nil {
			return tornTail{}, err
		}
		_, err := f.WriteAt([]byte{'\n'}, contentEnd)
		return tornTail{padding: size - contentEnd, noLine: true}, err
	default:
		return tornTail{fragment: contentEnd - lineEnd, padding: size - contentEnd}, f.Truncate(lineEnd)
	}
}

// scanTail reads f backwards from size and returns the offset just past its last non-NUL byte (0 when there is
// none) and just past its last newline (-1 when there is none).
func scanTail(f io.ReaderAt, size int64) (contentEnd, lineEnd int64, err error) {
	buf := make([]byte, 64<<10)
	contentEnd = -1
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, 0, fmt.Errorf("reading the end of the file: %w", err)
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if contentEnd < 0 {
				if chunk[i] == 0 {
					continue
				}
				contentEnd = start + int64(i) + 1
			}
			if chunk[i] == '\n' {
				return contentEnd, start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return max(contentEnd, 0), -1, nil
}
