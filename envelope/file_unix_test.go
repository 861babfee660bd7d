//go:build linux || darwin

package envelope

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// within fails the test if f does not return within a generous bound: the
// checks below are about not blocking forever, not about speed.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("blocked: still waiting after 30 s")
		return nil
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// TestLoadRefusesSpecialFiles: a FIFO with no writer is refused without
// blocking, /dev/zero without reading it.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "fifo.json"))
	for _, tc := range []struct {
		name, path, want string
	}{
		{"a FIFO", fifo, "envelope " + fifo + ": not a regular file (a named pipe); pass the path of an envelope .json file"},
		{"/dev/zero", "/dev/zero", "envelope /dev/zero: not a regular file (a device); pass the path of an envelope .json file"},
		{"/dev/null", "/dev/null", "envelope /dev/null: not a regular file (a device); pass the path of an envelope .json file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := within(t, func() error { _, err := Load(tc.path); return err })
			if !errors.Is(err, ErrNotRegularFile) {
				t.Fatalf("Load = %v; want ErrNotRegularFile", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeyFilesRefuseSpecialFiles: key and output paths that are FIFOs
// neither block nor get read (package keyless tests its trusted-root and
// signing-config files).
func TestKeyFilesRefuseSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "cosign.key"))
	keyDir := filepath.Join(dir, "keys")
	if err := os.Mkdir(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pubFIFO := mkfifo(t, filepath.Join(keyDir, "a.pub"))
	e := loadEnvelope(t, vectorPath)
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"dev key", func() error { _, err := LoadDevSigner(fifo); return err }},
		{"pinned key file", func() error { _, err := Verify(t.Context(), e, WithTrustedKeys(pubFIFO)); return err }},
		{"pinned key directory", func() error { _, err := Verify(t.Context(), e, WithTrustedKeys(keyDir)); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := within(t, tc.run); !errors.Is(err, ErrNotRegularFile) {
				t.Fatalf("error = %v; want ErrNotRegularFile", err)
			}
		})
	}
	t.Run("write over a FIFO", func(t *testing.T) {
		out := mkfifo(t, filepath.Join(dir, "out.json"))
		err := within(t, func() error { return WriteFileAtomic(out, []byte("one"), 0o644) })
		if !errors.Is(err, ErrExists) {
			t.Fatalf("WriteFileAtomic over a FIFO = %v; want ErrExists", err)
		}
	})
}
