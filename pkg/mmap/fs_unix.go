//go:build unix && !linux

package mmap

import "os"

// reserve extends fd to end bytes. Without a portable fallocate the new range
// stays sparse, so a full disk surfaces as SIGBUS on write rather than as an
// error; Linux, the supported target, preallocates instead.
func reserve(fd *os.File, off, end int64) error {
	if end <= off {
		return nil
	}
	return fd.Truncate(end)
}

func checkWritable(*os.File) error { return nil }
