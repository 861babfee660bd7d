package keyless

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/envelope"
)

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

// TestSigstoreFilesBounded: trusted roots and signing configs get the same
// checks as every file package envelope reads, with its sentinel errors.
func TestSigstoreFilesBounded(t *testing.T) {
	dir := t.TempDir()
	bigRoot := sparseFile(t, filepath.Join(dir, "trusted_root.json"), MaxFileSize+1)
	for _, tc := range []struct {
		name    string
		run     func() error
		want    string
		wantErr error
	}{
		{"trusted root too large", func() error { _, err := loadTrustedRootFile(bigRoot); return err },
			"sigstore trusted root " + bigRoot + ": 16777217 bytes is above the 16 MiB limit for a trusted root", envelope.ErrFileTooLarge},
		{"trusted root is a directory", func() error { _, err := loadTrustedRootFile(dir); return err },
			"sigstore trusted root " + dir + ": not a regular file (a directory); pass the path of a trusted_root.json file", envelope.ErrNotRegularFile},
		{"signing config too large", func() error { _, err := loadSigningConfigFile(bigRoot); return err },
			"sigstore signing config " + bigRoot + ": 16777217 bytes is above the 16 MiB limit for a signing config", envelope.ErrFileTooLarge},
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
