package mmap

import "errors"

const (
	defaultInitialSize = 1 << 20
	defaultGrowthChunk = 1 << 20
)

var (
	// ErrMaxSize is wrapped by the error Append and AppendLine return when the
	// write would take the file past Options.MaxSize; nothing is written then.
	ErrMaxSize = errors.New("mmap: write would exceed MaxSize")

	// ErrClosed is wrapped by the error every method except Close and Stats
	// returns once the File has been closed.
	ErrClosed = errors.New("mmap: file already closed")

	// ErrTruncated is wrapped by the error a method returns when another
	// process shrank the file under the mapping (logrotate's copytruncate,
	// `> file`): what was appended is gone, and the next append would land
	// past the new end, leaving a hole. Close the File and open it again to
	// append at the file's new end.
	ErrTruncated = errors.New("mmap: file shrunk by another process")

	// ErrReplaced is wrapped by the error HealthCheck returns when the path no
	// longer names the file being written: it was renamed, deleted or replaced.
	// Opening the path again writes to whatever it names now.
	ErrReplaced = errors.New("mmap: path no longer names the file being written")
)

// Options configures Open. The zero value is valid and gives the documented
// defaults, so callers only set the fields they care about.
type Options struct {
	// InitialSize is the minimum length mapped (and reserved on disk) at
	// Open; an existing file that is already larger is mapped whole.
	// 0 means 1 MiB. It is capped by MaxSize.
	InitialSize int64

	// GrowthChunk is the granularity by which the mapping grows when an append
	// does not fit: the mapping grows by the smallest multiple of it that fits
	// the append (capped by MaxSize). 0 means 1 MiB.
	GrowthChunk int64

	// MaxSize caps the logical file size, pre-existing content included.
	// 0 means unlimited. An append that would exceed it fails with an error
	// wrapping ErrMaxSize and writes nothing.
	MaxSize int64

	// NoFlushOnClose skips the msync(MS_SYNC)+fsync that Close otherwise does.
	// It is a negative flag so that the zero value keeps the safe default
	// (flush on close), matching fapilog's flush_on_close=True.
	NoFlushOnClose bool

	// PeriodicFlushBytes, when > 0, makes an append issue an asynchronous
	// msync(MS_ASYNC) once this many bytes have been appended since the last
	// flush or Sync. It is a write-back hint, not a durability guarantee:
	// use Sync for that. 0 disables it.
	PeriodicFlushBytes int64
}

// Stats is a point-in-time snapshot of a File.
type Stats struct {
	Path string
	// Size is the logical length of the file: pre-existing content plus
	// everything appended since Open. Close truncates the file to it.
	Size int64
	// MappedSize is the current length of the mapping (and of the file on
	// disk while open); 0 after Close.
	MappedSize int64
	Appends    uint64 // successful Append/AppendLine calls
	Syncs      uint64 // successful Sync calls
	Flushes    uint64 // asynchronous flushes triggered by PeriodicFlushBytes
	Grows      uint64 // times the mapping was enlarged after Open
	Closed     bool
}

func (o Options) validate() error {
	if o.InitialSize < 0 || o.GrowthChunk < 0 || o.MaxSize < 0 || o.PeriodicFlushBytes < 0 {
		return errors.New("mmap: Options sizes must not be negative")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.InitialSize == 0 {
		o.InitialSize = defaultInitialSize
	}
	if o.GrowthChunk == 0 {
		o.GrowthChunk = defaultGrowthChunk
	}
	if o.MaxSize > 0 && o.InitialSize > o.MaxSize {
		o.InitialSize = o.MaxSize
	}
	return o
}
