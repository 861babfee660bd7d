package envelope

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out", "a.json")
	if err := WriteFileAtomic(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("one"), 0o644); err != nil {
		t.Fatalf("same content again: %v", err)
	}
	err := WriteFileAtomic(path, []byte("two"), 0o644)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("different content: err = %v; want ErrExists", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one" {
		t.Fatalf("existing file changed to %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestBytesRejectsNonFinite(t *testing.T) {
	e := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	e.Signature = nil
	e.Metrics.Set("bad", Float(posInf()))
	if _, err := e.Bytes(); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Bytes = %v; want ErrNonFinite", err)
	}
	if _, err := e.CanonicalJSON(); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("CanonicalJSON = %v; want ErrNonFinite", err)
	}
}

func posInf() float64 { var z float64; return 1 / z }
