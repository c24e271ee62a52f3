//go:build !linux

package fapilogfile

import (
	"errors"
	"os"
	"syscall"
)

// reserveBlocks is Linux's fallocate(FALLOC_FL_KEEP_SIZE); elsewhere files grow as they are written.
func reserveBlocks(syscall.RawConn, int64, int64) error {
	return errors.ErrUnsupported
}

func allocatedEnd(os.FileInfo) int64 { return 0 }

func hasReservedBlocks(os.FileInfo) bool { return false }
