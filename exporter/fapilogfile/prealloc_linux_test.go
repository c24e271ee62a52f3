package fapilogfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allocatedBytes is the disk space the file's blocks take, which fallocate's reservation raises beyond its size.
func allocatedBytes(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Sys().(*syscall.Stat_t).Blocks * 512
}

// writeTenRecords opens a writer on a fresh file and writes ten 100-byte records through it.
func writeTenRecords(t *testing.T) (w fileWriter, path string, records []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "app.jsonl")
	w, err := openFileWriter(osFileSystem, path, WriteModeBuffered)
	require.NoError(t, err)
	records, _ = lines("r", 10, 100)
	_, err = w.Write(records)
	require.NoError(t, err)
	return w, path, records
}

// requireReservation fails, rather than skips, on a filesystem without fallocate: the tests must check what
// production relies on.
func requireReservation(t *testing.T, w fileWriter, path string) {
	t.Helper()
	require.False(t, w.(*directWriter).noReserve, "the filesystem under %s refused fallocate", path)
}

func TestWriter_ReservesBlocksAheadWithoutChangingWhatReadersSee(t *testing.T) {
	w, path, buf := writeTenRecords(t)
	requireReservation(t, w, path)

	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(buf), string(content), "the file holds exactly the written bytes")
	assert.GreaterOrEqual(t, allocatedBytes(t, path), int64(reserveStep), "blocks up to the next megabyte are reserved")

	require.NoError(t, w.Close())
	assert.Less(t, allocatedBytes(t, path), int64(64<<10), "closing releases the blocks beyond the file's end")
	content, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(buf), string(content), "closing changes no byte")
}

func TestWriter_ReservesAgainPastEachStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	w, err := openFileWriter(osFileSystem, path, WriteModeBuffered)
	require.NoError(t, err)
	defer w.Close()
	buf, _ := lines("r", 1000, 1000) // a megabyte per write: each write crosses a step
	for range 3 {
		_, err = w.Write(buf)
		require.NoError(t, err)
	}
	requireReservation(t, w, path)
	assert.Equal(t, int64(3*len(buf)), w.Size())
	assert.GreaterOrEqual(t, allocatedBytes(t, path), w.Size(), "every written byte lies in reserved blocks")
	assert.LessOrEqual(t, allocatedBytes(t, path), w.Size()+reserveStep+64<<10, "no more than a step ahead")
}

func TestRotate_RotatedFilesKeepNoReservedBlocks(t *testing.T) {
	f := startFamily(t, rotatorSettings{maxBytes: 10_000}, archiverSettings{})
	buf, ends := lines("r", 250, 100) // 25,000 bytes -> two full files and the active one
	require.NoError(t, writeErr(f.rotator.write(context.Background(), buf, ends)))
	f.stop()

	rotated, err := f.archiver.listRotated(f.family)
	require.NoError(t, err)
	require.Len(t, rotated, 2)
	for _, r := range rotated {
		assert.Less(t, allocatedBytes(t, r.path), int64(64<<10), "%s: rotated files take their size on disk", r.path)
	}
	assert.Equal(t, string(buf), f.allContent(t), "every record once, in order")
}

// logrotate's copytruncate empties the file under the writer: closing it afterwards must not cut it back to the
// length the writer remembers, which would fill it with zeros.
func TestWriter_CloseDoesNotRegrowAFileAnotherProcessTruncated(t *testing.T) {
	w, path, _ := writeTenRecords(t)
	require.NoError(t, os.Truncate(path, 0))
	require.NoError(t, w.Close())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, info.Size())
}

// refusingConnFile is a file whose descriptor cannot be reached, as fallocate cannot be on some filesystems.
type refusingConnFile struct{ osFile }

func (refusingConnFile) SyscallConn() (syscall.RawConn, error) { return nil, errors.ErrUnsupported }

func TestWriter_WritesWithoutReservingWhereTheFileCannotReserve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	fs := fileSystem{openFile: func(path string) (osFile, error) {
		f, err := osFileSystem.openFile(path)
		return refusingConnFile{f}, err
	}, rename: os.Rename}
	w, err := openFileWriter(fs, path, WriteModeBuffered)
	require.NoError(t, err)
	defer w.Close()
	buf, _ := lines("r", 10, 100)
	for range 2 {
		_, err = w.Write(buf)
		require.NoError(t, err)
	}
	assert.True(t, w.(*directWriter).noReserve, "refused once, not asked again for this file")
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(buf)+string(buf), string(content))
}

// fileAKilledCollectorLeft writes 10 records to path and reserves a step of blocks past them, as a collector
// killed with the file open leaves it; it returns the records.
func fileAKilledCollectorLeft(t *testing.T, path string) []byte {
	t.Helper()
	records, _ := lines("r", 10, 100)
	require.NoError(t, os.WriteFile(path, records, fileMode))
	killed, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	conn, err := killed.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, reserveBlocks(conn, 0, reserveStep))
	require.NoError(t, killed.Close()) // closing does not release them: only cutting the file does
	require.GreaterOrEqual(t, allocatedBytes(t, path), int64(reserveStep))
	return records
}

func TestWriter_ReleasesBlocksAKilledCollectorLeftReserved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	buf := fileAKilledCollectorLeft(t, path)

	w, err := openFileWriter(osFileSystem, path, WriteModeBuffered)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Less(t, allocatedBytes(t, path), int64(64<<10))
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(buf), string(content))
}

// The blocks a killed collector had reserved are released also when its file, being of a past interval, is
// rotated at start without ever being opened for writing.
func TestReserve_KilledCollectorsReservationIsReleasedWhenItsFileIsRotatedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	records := fileAKilledCollectorLeft(t, path)

	rotated := startOnYesterdaysFile(t, path)
	require.Len(t, rotated, 1)
	assert.Less(t, allocatedBytes(t, rotated[0].path), int64(64<<10), "the 1 MiB reservation is released")
	data, err := os.ReadFile(rotated[0].path)
	require.NoError(t, err)
	assert.Equal(t, string(records), string(data))
}
