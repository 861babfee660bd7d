//go:build linux || darwin

package keyless

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/benchprof/benchprof/envelope"
)

// TestSigstoreFilesRefuseSpecialFiles: trusted-root and signing-config
// paths that are FIFOs or devices neither block nor get read.
func TestSigstoreFilesRefuseSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"trusted root", func() error { _, err := loadTrustedRootFile(fifo); return err }},
		{"signing config", func() error { _, err := loadSigningConfigFile("/dev/zero"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.run() }()
			select {
			case err := <-done:
				if !errors.Is(err, envelope.ErrNotRegularFile) {
					t.Fatalf("error = %v; want envelope.ErrNotRegularFile", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("blocked: still waiting after 30 s")
			}
		})
	}
}
