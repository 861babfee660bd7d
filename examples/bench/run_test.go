package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	marathon = "../../envelope/testdata/envelopes/2026-05-18-multi-vendor-marathon_marathon_all_010e9504589b.json"
	llmC16   = "../../envelope/testdata/envelopes/2026-06-13-llm-h100_c16-b91875fdf860.json"
	pubKey   = "../../envelope/testdata/cosign-2026-05-18-marathon.pub"
)

// TestCLI runs whole commands and compares their output and exit status
// with golden files (go test -update rewrites them).
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	tampered := filepath.Join(dir, "tampered.json")
	raw, err := os.ReadFile(marathon)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tampered, bytes.Replace(raw, []byte(`"ok_rate": 1.0`), []byte(`"ok_rate": 0.99`), 1), 0o644)
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte(`{"suite_id": `), 0o644)

	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"verify-trusted", []string{"verify", marathon, "--key", pubKey}, 0},
		{"verify-no-policy", []string{"verify", llmC16}, 0},
		{"verify-untrusted", []string{"verify", "--key", pubKey, llmC16}, 1},
		{"verify-tampered", []string{"verify", tampered}, 1},
		{"verify-missing", []string{"verify", filepath.Join(dir, "none.json")}, 2},
		{"verify-not-json", []string{"verify", notJSON}, 2},
		{"verify-no-args", []string{"verify"}, 2},
		{"verify-identity-alone", []string{"verify", marathon, "--identity", ".*"}, 2},
		{"verify-missing-key", []string{"verify", marathon, "--key", filepath.Join(dir, "none.pub")}, 2},
		{"unknown-command", []string{"frobnicate"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			code := 0
			if err != nil {
				code = exitCode(err)
				if ee, ok := err.(*exitError); !ok || !ee.silent {
					stderr.WriteString("bench: " + err.Error() + "\n")
				}
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d; want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			got := "$ bench " + strings.Join(tt.args, " ") + "\n--- stdout\n" + stdout.String() + "--- stderr\n" + stderr.String()
			got = strings.ReplaceAll(got, dir, "$TMP")
			golden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "cosign.key")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keygen", key}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "cosign.pub")) {
		t.Errorf("keygen output does not name the public key: %s", out.String())
	}
	err := run(context.Background(), []string{"keygen", key}, &out, &out)
	if code := exitCode(err); err == nil || code != 1 {
		t.Fatalf("second keygen: err = %v (exit %d); want exit 1", err, code)
	}
	if !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second keygen error %q does not explain itself", err)
	}
}
