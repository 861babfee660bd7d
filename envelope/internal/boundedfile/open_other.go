//go:build !unix

package boundedfile

import "os"

// Open opens path for reading. Outside unix, opening a file does not
// wait for a writer; the caller checks the open descriptor and reads only
// regular files.
func Open(path string) (*os.File, error) {
	return os.Open(path)
}
