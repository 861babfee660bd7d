package envelope

import (
	"bytes"
	"fmt"
	"io"

	"github.com/benchprof/benchprof/envelope/internal/boundedfile"
)

// File size limits. Every file this package reads is checked to be a
// regular file and measured before it is read (a FIFO, a device or a
// directory is refused without blocking), then read through a limit of one
// byte more, so that a file that grows while it is read is caught too.
const (
	// DefaultMaxFileSize is the largest envelope file [Load] and [ReadFile]
	// read unless [WithMaxFileSize] says otherwise: 1 MiB, about 125 times
	// the largest envelope of the reference corpus (8.3 KB). Parsing needs
	// roughly a hundred times a file's size in memory.
	DefaultMaxFileSize = 1 << 20
	// MaxKeyFileSize is the largest key file read: a dev signing key
	// ([LoadDevSigner]) or a pinned public key ([WithTrustedKeys]), 64 KiB.
	MaxKeyFileSize = 64 << 10
)

// ErrNotRegularFile is wrapped by the error for a path that names a
// directory, a device, a named pipe, a socket or another file that is not a
// regular file; it is refused without being read.
var ErrNotRegularFile = boundedfile.ErrNotRegularFile

// ErrFileTooLarge is wrapped by the error for a file above its size limit
// ([DefaultMaxFileSize], [MaxKeyFileSize], and keyless.MaxFileSize for the
// Sigstore files that package envelope/keyless reads); it is refused before
// it is read, or as soon as it grows past the limit.
var ErrFileTooLarge = boundedfile.ErrFileTooLarge

// LoadOption configures [Load] and [ReadFile].
type LoadOption interface {
	applyLoad(*loadConfig)
}

type loadOptionFunc func(*loadConfig)

func (f loadOptionFunc) applyLoad(c *loadConfig) { f(c) }

type loadConfig struct {
	maxSize int64
}

// WithMaxFileSize sets the largest envelope file, in bytes, that [Load] and
// [ReadFile] read; a larger one is refused before it is read, with an error
// wrapping [ErrFileTooLarge]. By default, if this option is not used, the
// limit is [DefaultMaxFileSize] (1 MiB). n must be positive. A later use
// replaces an earlier one.
func WithMaxFileSize(n int64) LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.maxSize = n })
}

func newLoadConfig(opts []LoadOption) (*loadConfig, error) {
	c := &loadConfig{maxSize: DefaultMaxFileSize}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("envelope: load option %d is nil", i+1)
		}
		o.applyLoad(c)
	}
	if c.maxSize <= 0 {
		return nil, fmt.Errorf("envelope.WithMaxFileSize: the limit must be positive, got %d", c.maxSize)
	}
	return c, nil
}

// envelopeFile describes envelope files for readBounded's messages.
var envelopeFile = fileKind{
	What:   "an envelope",
	Hint:   "pass the path of an envelope .json file",
	Option: "envelope.WithMaxFileSize",
}

// ReadFile reads the envelope file at path as [Load] does, with the same
// checks (a regular file, at most [DefaultMaxFileSize] bytes or the limit of
// [WithMaxFileSize]) and error messages, and returns its bytes unparsed. Use
// it with [Parse] and [IsCanonicalFile] to verify and judge the very bytes
// that were read.
func ReadFile(path string, opts ...LoadOption) ([]byte, error) {
	c, err := newLoadConfig(opts)
	if err != nil {
		return nil, err
	}
	data, err := readBounded(path, c.maxSize, envelopeFile)
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %w", path, err)
	}
	return data, nil
}

// Load reads and parses the envelope file at path (see [Parse]). It refuses
// anything that is not a regular file, and files above
// [DefaultMaxFileSize] (1 MiB) or the limit of [WithMaxFileSize], before
// reading them. Errors name the file.
func Load(path string, opts ...LoadOption) (*Envelope, error) {
	data, err := ReadFile(path, opts...)
	if err != nil {
		return nil, err
	}
	e, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %w", path, err)
	}
	return e, nil
}

// IsCanonicalFile reports whether data is byte for byte the file that
// [Write] makes of e ([Envelope.Bytes]). For data that Parse turned into e,
// false means the file differs from its canonical rendering — in
// whitespace, key order, escapes or values the reference coerces (a padded
// string, a boolean metric, a numeric string seed) — although it may verify:
// a signature covers the canonical form, not the file's bytes. It is false
// when e cannot be rendered.
func IsCanonicalFile(data []byte, e *Envelope) bool {
	b, err := e.Bytes()
	return err == nil && bytes.Equal(data, b)
}

// fileKind describes a kind of file for readBounded's messages.
type fileKind = boundedfile.Kind

// readBounded reads the regular file at path, of at most limit bytes (see
// boundedfile.Read). Its errors do not name the path: callers do.
func readBounded(path string, limit int64, k fileKind) ([]byte, error) {
	return boundedfile.Read(path, limit, k)
}

// fileHolds reports whether path is a regular file holding exactly data. It
// reads no more than len(data)+1 bytes and never blocks on a FIFO. A missing
// file is an error wrapping fs.ErrNotExist.
func fileHolds(path string, data []byte) (bool, error) {
	f, err := boundedfile.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return false, nil
	}
	old, err := io.ReadAll(io.LimitReader(f, int64(len(data))+1))
	if err != nil {
		return false, err
	}
	return bytes.Equal(old, data), nil
}
