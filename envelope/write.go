package envelope

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Bytes returns the envelope file exactly as the reference writes it
// (pydantic model_dump_json(indent=2), FACTS §2.5): fields in declaration
// order then unknown fields, two-space indent, raw UTF-8, floats in
// pydantic's format (an integral float keeps ".0"), no trailing newline.
// Reloading the bytes, here or in the reference, gives the same canonical
// JSON. It fails if the envelope is invalid or holds a non-finite float.
func (e *Envelope) Bytes() ([]byte, error) {
	n, err := e.normalized()
	if err != nil {
		return nil, err
	}
	if _, err := n.canonical(); err != nil { // rejects NaN and ±Inf everywhere
		return nil, err
	}
	return appendPretty(make([]byte, 0, 8192), n.toValue(true), 0), nil
}

// MarshalJSON implements json.Marshaler with [Envelope.Bytes].
func (e *Envelope) MarshalJSON() ([]byte, error) { return e.Bytes() }

// UnmarshalJSON implements json.Unmarshaler with [Parse].
func (e *Envelope) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*e = *p
	return nil
}

func appendPretty(b []byte, v Value, depth int) []byte {
	newline := func(b []byte, depth int) []byte {
		b = append(b, '\n')
		for range depth {
			b = append(b, ' ', ' ')
		}
		return b
	}
	switch v.kind {
	case KindNull:
		return append(b, "null"...)
	case KindBool:
		if v.b {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case KindInt:
		return append(b, v.s...)
	case KindFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return append(b, "null"...) // unreachable: Bytes rejects these first
		}
		return appendPydanticFloat(b, v.f)
	case KindString:
		return appendRawString(b, v.s)
	case KindArray:
		if len(v.arr) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, depth+1)
			b = appendPretty(b, e, depth+1)
		}
		b = newline(b, depth)
		return append(b, ']')
	case KindObject:
		if v.obj.Len() == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i, m := range v.obj.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, depth+1)
			b = appendRawString(b, m.Key)
			b = append(b, ':', ' ')
			b = appendPretty(b, m.Value, depth+1)
		}
		b = newline(b, depth)
		return append(b, '}')
	}
	return b
}

// appendRawString writes s as pydantic does: raw UTF-8, escaping only '"',
// '\\' and control characters below 0x20. A lone surrogate (only possible in
// untyped fields) is written as a \udxxx escape so the file stays UTF-8.
func appendRawString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := decodeWTF8(s[i:])
			if 0xD800 <= r && r <= 0xDFFF {
				b = appendU4(b, r)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = appendU4(b, rune(c))
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// ErrExists is wrapped by Write's error when the target file already exists
// with different content.
var ErrExists = errors.New("a different file already exists there")

// FileName returns the name the reference gives an envelope file:
// "<prefix>-<hash[:12]>.json", or "<hash[:12]>.json" for an empty prefix.
func FileName(prefix, contentHash string) string {
	h := contentHash
	if len(h) > 12 {
		h = h[:12]
	}
	if prefix == "" {
		return h + ".json"
	}
	return prefix + "-" + h + ".json"
}

// Write writes e to dir (created if needed) as [FileName](prefix, hash) and
// returns the path. The write is atomic: a temporary file in dir is synced
// and renamed into place, so a reader never sees a partial envelope. If the
// file exists with the same bytes Write succeeds without touching it; if it
// exists with different bytes Write fails with an error wrapping ErrExists
// and leaves it alone.
func Write(dir, prefix string, e *Envelope) (string, error) {
	data, err := e.Bytes()
	if err != nil {
		return "", err
	}
	h, err := e.ContentHash()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName(prefix, h))
	if err := WriteFileAtomic(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename. An existing file with identical content is left as
// it is; one with different content is never replaced (ErrExists).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if same, err := fileHolds(path, data); err == nil {
		if same {
			return nil
		}
		return fmt.Errorf("write %s: %w; remove it or choose another output directory", path, ErrExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	cleanup := func() { _ = os.Remove(tmp.Name()) }
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Link instead of rename so that a file created meanwhile is never replaced.
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		cleanup()
		return nil
	case errors.Is(err, os.ErrExist):
		cleanup()
		if same, rerr := fileHolds(path, data); rerr == nil && same {
			return nil
		}
		return fmt.Errorf("write %s: %w; remove it or choose another output directory", path, ErrExists)
	}
	// A filesystem without hard links: rename (the existence check above stands).
	if err := os.Rename(tmp.Name(), path); err != nil {
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
