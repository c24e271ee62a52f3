package fapilogfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutFile lets the first cut bytes of a write reach the file and then fails, as a disk that fills up does.
type cutFile struct {
	osFile
	cut int
}

func (cf *cutFile) Write(p []byte) (int, error) {
	if cf.cut < 0 || cf.cut >= len(p) {
		return cf.osFile.Write(p)
	}
	n, _ := cf.osFile.Write(p[:cf.cut])
	cf.cut = -1
	return n, errInjected
}

func TestWrite_ShortWriteEndingOnARecordBoundaryKeepsEveryWholeRecord(t *testing.T) {
	f := startFamily(t, rotatorSettings{}, archiverSettings{})
	r := f.rotator
	r.lock.wait()
	r.abandon()
	r.fs = fileSystem{
		openFile: func(path string) (osFile, error) {
			file, err := osFileSystem.openFile(path)
			if err != nil {
				return nil, err
			}
			return &cutFile{osFile: file, cut: 200}, nil
		},
		rename: os.Rename,
	}
	r.lock.release()

	buf, ends := lines("r", 4, 100)
	written, err := r.write(context.Background(), buf, ends)
	require.True(t, errors.Is(err, errInjected), "%v", err)
	assert.Equal(t, 2, written, "the two records that reached the file whole are written; only the others are retried")
	data, err := os.ReadFile(filepath.Join(f.dir, "app.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, string(buf[:200]), string(data), "the whole records stay in the file")
}
