//go:build linux

package mmap

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// reserve extends fd to end bytes and allocates disk blocks for [off, end).
// Allocating up front matters for a mapping: a store to a page the
// filesystem cannot back (disk full) raises SIGBUS and kills the process,
// whereas fallocate reports ENOSPC as an ordinary error from Append.
func reserve(fd *os.File, off, end int64) error {
	if end <= off {
		return nil
	}
	err := unix.Fallocate(int(fd.Fd()), 0, off, end-off)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return fd.Truncate(end)
	}
	return err
}

// checkWritable catches a filesystem remounted read-only (ext4
// errors=remount-ro): mapped writes would keep succeeding in memory while
// write-back silently fails.
func checkWritable(fd *os.File) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(fd.Fd()), &st); err != nil {
		return err
	}
	if uint64(st.Flags)&unix.ST_RDONLY != 0 {
		return errors.New("filesystem is mounted read-only")
	}
	return nil
}
