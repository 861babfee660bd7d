//go:build unix

package boundedfile

import (
	"os"
	"syscall"
)

// Open opens path for reading with O_NONBLOCK, so that opening a
// FIFO returns at once instead of waiting for a writer; the caller then
// checks the open descriptor and reads only regular files, on which
// O_NONBLOCK has no effect.
func Open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
