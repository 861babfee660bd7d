package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vectorPath = "testdata/dev-key-vector.signed.json"

// sparseFile makes a file of size bytes without writing them.
func sparseFile(t *testing.T, path string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadRefusesBeforeReading: Load measures and checks the file before
// reading it, and its errors are one line naming the file and the fix.
func TestLoadRefusesBeforeReading(t *testing.T) {
	dir := t.TempDir()
	big := sparseFile(t, filepath.Join(dir, "big.json"), 200<<20)
	justOver := sparseFile(t, filepath.Join(dir, "over.json"), DefaultMaxFileSize+1)
	missing := filepath.Join(dir, "none.json")
	_, openErr := os.Open(missing)
	var pe *os.PathError
	if !errors.As(openErr, &pe) {
		t.Fatalf("opening a missing file: %v", openErr)
	}
	fi, err := os.Stat(vectorPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		opts    []LoadOption
		want    string
		wantErr error
	}{
		{"200 MB", big, nil, "envelope " + big + ": 209715200 bytes is above the 1 MiB limit for an envelope (envelope.WithMaxFileSize)", ErrFileTooLarge},
		{"one byte over", justOver, nil, "envelope " + justOver + ": 1048577 bytes is above the 1 MiB limit for an envelope (envelope.WithMaxFileSize)", ErrFileTooLarge},
		{"a lower limit", vectorPath, []LoadOption{WithMaxFileSize(1000)}, fmt.Sprintf("envelope %s: %d bytes is above the 1000-byte limit for an envelope (envelope.WithMaxFileSize)", vectorPath, fi.Size()), ErrFileTooLarge},
		{"a directory", dir, nil, "envelope " + dir + ": not a regular file (a directory); pass the path of an envelope .json file", ErrNotRegularFile},
		{"a missing file", missing, nil, "envelope " + missing + ": open: " + pe.Err.Error(), os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, load := range map[string]func() error{
				"Load":     func() error { _, err := Load(tc.path, tc.opts...); return err },
				"ReadFile": func() error { _, err := ReadFile(tc.path, tc.opts...); return err },
			} {
				err := load()
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("%s error = %v; want one wrapping %v", name, err, tc.wantErr)
				}
				if err != nil {
					if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
						t.Errorf("%s message (-want +got):\n%s", name, diff)
					}
				}
			}
		})
	}
}

func TestWithMaxFileSize(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	raw := readVector(t)
	// A valid envelope above the default limit: padded with whitespace.
	padded := raw[:len(raw)-1] + strings.Repeat(" ", DefaultMaxFileSize) + "}"
	if err := os.WriteFile(big, []byte(padded), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("Load at the default limit = %v; want ErrFileTooLarge", err)
	}
	if _, err := Load(big, WithMaxFileSize(2<<20)); err != nil {
		t.Fatalf("Load with WithMaxFileSize(2 MiB): %v", err)
	}
	fi, err := os.Stat(vectorPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(vectorPath, WithMaxFileSize(fi.Size())); err != nil {
		t.Fatalf("Load of a file exactly at the limit: %v", err)
	}
	for _, n := range []int64{0, -1} {
		_, err := Load(vectorPath, WithMaxFileSize(n))
		if err == nil || !strings.HasPrefix(err.Error(), "envelope.WithMaxFileSize: the limit must be positive") {
			t.Errorf("WithMaxFileSize(%d): error = %v; want a rejection naming the option", n, err)
		}
	}
}

// TestReadBoundedCatchesGrowth: a file whose size at open is below the
// limit but that holds more (a procfs file reports size 0) is still refused.
func TestReadBoundedCatchesGrowth(t *testing.T) {
	const proc = "/proc/self/status"
	fi, err := os.Stat(proc)
	if err != nil || fi.Size() != 0 || !fi.Mode().IsRegular() {
		t.Skipf("needs %s as a regular file that reports size 0 (Linux)", proc)
	}
	_, err = readBounded(proc, 16, envelopeFile)
	want := "the file grew past the 16-byte limit for an envelope while it was read (envelope.WithMaxFileSize)"
	if !errors.Is(err, ErrFileTooLarge) || err.Error() != want {
		t.Fatalf("readBounded = %v; want %q wrapping ErrFileTooLarge", err, want)
	}
}

// TestKeyFilesBounded: key files get the same checks as envelope files
// (package keyless tests its Sigstore files).
func TestKeyFilesBounded(t *testing.T) {
	dir := t.TempDir()
	bigKey := sparseFile(t, filepath.Join(dir, "big.key"), MaxKeyFileSize+1)
	keyDir := filepath.Join(dir, "keys")
	if err := os.MkdirAll(filepath.Join(keyDir, "sub.pub"), 0o755); err != nil { // a directory named like a key
		t.Fatal(err)
	}
	bigPubDir := filepath.Join(dir, "bigkeys")
	if err := os.Mkdir(bigPubDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bigPub := sparseFile(t, filepath.Join(bigPubDir, "a.pub"), MaxKeyFileSize+1)
	e := loadEnvelope(t, vectorPath)

	for _, tc := range []struct {
		name    string
		run     func() error
		want    string
		wantErr error
	}{
		{"dev key too large", func() error { _, err := LoadDevSigner(bigKey); return err },
			"dev signing key " + bigKey + ": 65537 bytes is above the 64 KiB limit for a key file", ErrFileTooLarge},
		{"dev key is a directory", func() error { _, err := LoadDevSigner(dir); return err },
			"dev signing key " + dir + ": not a regular file (a directory); pass the path of a PEM private key file", ErrNotRegularFile},
		{"pinned key too large", func() error { _, err := Verify(t.Context(), e, WithTrustedKeys(bigPubDir)); return err },
			"trusted key " + bigPub + ": 65537 bytes is above the 64 KiB limit for a key file", ErrFileTooLarge},
		{"a directory named *.pub in a key directory", func() error { _, err := Verify(t.Context(), e, WithTrustedKeys(keyDir)); return err },
			"trusted key " + filepath.Join(keyDir, "sub.pub") + ": not a regular file (a directory); pass a PEM public key file or a directory of .pub files", ErrNotRegularFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v; want one wrapping %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIsCanonicalFile: the corpus and Write's output are canonical; the
// same envelope laid out or spelled differently is not, though it parses to
// the same content hash.
func TestIsCanonicalFile(t *testing.T) {
	raw := []byte(readVector(t))
	e, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantHash, _ := e.ContentHash()
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"as written", raw, true},
		{"a trailing newline", append(bytes.Clone(raw), '\n'), false},
		{"compact layout", compact.Bytes(), false},
		{"a padded string", bytes.Replace(raw, []byte(`"vllm-local"`), []byte(`" vllm-local "`), 1), false},
		{"an escaped character", bytes.Replace(raw, []byte(`"vllm-local"`), []byte(`"vllm\u002dlocal"`), 1), false},
		{"a numeric string seed", bytes.Replace(raw, []byte(`"seed": 42`), []byte(`"seed": "42"`), 1), false},
		{"an integral float as 1e0 form", bytes.Replace(raw, []byte(`142.0`), []byte(`1.42e2`), 1), false},
		{"field order", bytes.Replace(raw, []byte("\"suite_id\": \"llm.inference\",\n  \"suite_version\": \"1.0.0\","), []byte("\"suite_version\": \"1.0.0\",\n  \"suite_id\": \"llm.inference\","), 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "as written" && bytes.Equal(tc.data, raw) {
				t.Fatal("mutation not applied")
			}
			pe, err := Parse(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := pe.ContentHash(); h != wantHash {
				t.Fatalf("content hash changed to %s; the mutation should only change the form", h)
			}
			if got := IsCanonicalFile(tc.data, pe); got != tc.want {
				t.Errorf("IsCanonicalFile = %v; want %v", got, tc.want)
			}
		})
	}

	path, err := Write(t.TempDir(), "x", e)
	if err != nil {
		t.Fatal(err)
	}
	written, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !IsCanonicalFile(written, e) {
		t.Error("Write's own output is not canonical")
	}
	invalid := e.Clone()
	invalid.Model.ID = ""
	if IsCanonicalFile(written, invalid) {
		t.Error("IsCanonicalFile is true for an envelope that cannot be rendered")
	}
}

// TestCorpusIsCanonical: every corpus envelope is byte for byte its
// canonical rendering (FACTS §2.6).
func TestCorpusIsCanonical(t *testing.T) {
	paths, _ := filepath.Glob("testdata/envelopes/*.json")
	if len(paths) == 0 {
		t.Fatal("no corpus envelopes in testdata/envelopes")
	}
	for _, p := range paths {
		data, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if !IsCanonicalFile(data, e) {
			t.Errorf("%s is not canonical", p)
		}
	}
}

func TestWriteFileAtomicExistingLarger(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	sparseFile(t, path, 200<<20) // compared without being read whole
	if err := WriteFileAtomic(path, []byte("one"), 0o644); !errors.Is(err, ErrExists) {
		t.Fatalf("WriteFileAtomic over a 200 MB file = %v; want ErrExists", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	sub := filepath.Join(dir, "b.json")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(sub, []byte("one"), 0o644); !errors.Is(err, ErrExists) {
		t.Fatalf("WriteFileAtomic over a directory = %v; want ErrExists", err)
	}
}
