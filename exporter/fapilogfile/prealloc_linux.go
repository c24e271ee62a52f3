package fapilogfile

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// reserveBlocks allocates the file's disk blocks for [off, off+n) without changing its size (fallocate with
// FALLOC_FL_KEEP_SIZE): readers still see only what was written.
func reserveBlocks(conn syscall.RawConn, off, n int64) error {
	var err error
	if ctrlErr := conn.Control(func(fd uintptr) {
		err = unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, off, n)
	}); ctrlErr != nil {
		return ctrlErr
	}
	return err
}

// allocatedEnd is how far the file's allocated blocks reach: beyond its size when blocks were reserved.
func allocatedEnd(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512 // st_blocks counts 512-byte units whatever the filesystem's block size
	}
	return 0
}

// hasReservedBlocks says whether the file has blocks allocated past the block that holds its end: reserved by a
// writer that was killed before it released them, not the unused part of a last block.
func hasReservedBlocks(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Blksize <= 0 {
		return false
	}
	block := int64(st.Blksize)
	return allocatedEnd(info) > (info.Size()+block-1)/block*block
}
