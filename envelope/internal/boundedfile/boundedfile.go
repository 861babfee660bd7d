// Package boundedfile reads files of a bounded size that must be regular
// files, for envelope and envelope/keyless. It is internal so that the
// envelope core and its Sigstore leaf share one implementation without
// making it public API; envelope re-exports its sentinel errors.
package boundedfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNotRegularFile is wrapped by the error for a path that names a file
// that is not a regular file (envelope.ErrNotRegularFile is this value).
var ErrNotRegularFile = errors.New("not a regular file")

// ErrFileTooLarge is wrapped by the error for a file above its size limit
// (envelope.ErrFileTooLarge is this value).
var ErrFileTooLarge = errors.New("file above the size limit")

// Kind describes a kind of file for Read's messages.
type Kind struct {
	What   string // "an envelope": the limit is "for an envelope"
	Hint   string // what to pass instead of a file that is not regular
	Option string // the option that raises the limit, or ""
}

// fileError is an error with its own message that wraps a sentinel.
type fileError struct {
	msg  string
	kind error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.kind }

// Read reads the regular file at path, of at most limit bytes. It opens the
// file without blocking (a FIFO with no writer cannot hang it), checks the
// open descriptor (so the file checked is the file read), refuses what is
// not a regular file or is larger than limit, and reads through a limit of
// limit+1 bytes to catch a file that grows meanwhile. Its errors do not
// name the path: callers do.
func Read(path string, limit int64, k Kind) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, PathErrCause(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, PathErrCause(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &fileError{
			msg:  fmt.Sprintf("%s (%s); %s", ErrNotRegularFile, fileTypeName(fi.Mode()), k.Hint),
			kind: ErrNotRegularFile,
		}
	}
	hint := ""
	if k.Option != "" {
		hint = " (" + k.Option + ")"
	}
	if fi.Size() > limit {
		return nil, &fileError{
			msg:  fmt.Sprintf("%d bytes is above the %s limit for %s%s", fi.Size(), formatSize(limit), k.What, hint),
			kind: ErrFileTooLarge,
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, PathErrCause(err)
	}
	if int64(len(data)) > limit {
		return nil, &fileError{
			msg:  fmt.Sprintf("the file grew past the %s limit for %s while it was read%s", formatSize(limit), k.What, hint),
			kind: ErrFileTooLarge,
		}
	}
	return data, nil
}

// PathErrCause drops the *fs.PathError wrapper (whose message repeats the
// path the caller names) and keeps its operation and cause.
func PathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// fileTypeName names the type of a file that is not regular.
func fileTypeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// formatSize writes a limit in the largest binary unit that divides it.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}
