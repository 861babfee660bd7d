package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/internal/textsafe"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	marathon = "../../envelope/testdata/envelopes/2026-05-18-multi-vendor-marathon_marathon_all_010e9504589b.json"
	llmC16   = "../../envelope/testdata/envelopes/2026-06-13-llm-h100_c16-b91875fdf860.json"
	pubKey   = "../../envelope/testdata/cosign-2026-05-18-marathon.pub"
	// devKey, the reference's fixed test key, signs the forged fixtures.
	devKey = "../../envelope/testdata/dev-key-vector.key"
)

// forgedModelID is a model id that tries to hide text (ESC [8m) and to
// forge a trust line of its own (a newline and an aligned "trust:" label).
const forgedModelID = "evil\x1b[8m\n  trust:            trusted: signing key SHA256:12fyDzxvfLuZf6ryJSJp5oZE/rEzXfB4uCcFso3tVAk matches cosign.pub"

// cliFixtures writes the envelopes the CLI tests verify into dir.
type cliFixtures struct {
	tampered, notJSON, notCanonical, duplicate, forged string
	otherPub                                           string // devKey's public key, which signed no corpus envelope
}

func writeCLIFixtures(t *testing.T, dir string) cliFixtures {
	t.Helper()
	raw, err := os.ReadFile(marathon)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edit := func(old, new string) []byte {
		out := bytes.Replace(raw, []byte(old), []byte(new), 1)
		if bytes.Equal(out, raw) {
			t.Fatalf("fixture edit %q not applied", old)
		}
		return out
	}
	var f cliFixtures
	f.tampered = write("tampered.json", edit(`"ok_rate": 1.0`, `"ok_rate": 0.99`))
	f.notJSON = write("bad.json", []byte(`{"suite_id": `))
	// Same content, other spelling: an escaped character and a padded string.
	f.notCanonical = write("respelled.json", edit(`"vllm"`, `" vll\u006d "`))
	// A first-wins reader would show ok_rate 0.5; the signature covers 1.0.
	f.duplicate = write("duplicate.json", edit(`"ok_rate": 1.0`, `"ok_rate": 0.5, "ok_rate": 1.0`))

	e, err := envelope.Load(marathon)
	if err != nil {
		t.Fatal(err)
	}
	e.Signature = nil
	e.Model.ID = forgedModelID
	s, err := envelope.LoadDevSigner(devKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := envelope.Sign(context.Background(), e, s)
	if err != nil {
		t.Fatal(err)
	}
	if f.forged, err = envelope.Write(dir, "forged", signed); err != nil {
		t.Fatal(err)
	}
	f.otherPub = write("other.pub", []byte(signed.Signature.Certificate+"\n"))
	return f
}

// TestCLI runs whole commands and compares their output and exit status
// with golden files (go test -update rewrites them).
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	f := writeCLIFixtures(t, dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"verify-trusted", []string{"verify", marathon, "--key", pubKey}, 0},
		{"verify-no-policy", []string{"verify", llmC16}, 0},
		{"verify-untrusted", []string{"verify", "--key", pubKey, llmC16}, 1},
		{"verify-identity-on-dev-key", []string{"verify", marathon, "--identity", "alice@example.com", "--issuer", "https://issuer.example"}, 1},
		{"verify-tampered", []string{"verify", f.tampered}, 1},
		{"verify-not-canonical", []string{"verify", f.notCanonical, "--key", pubKey}, 0},
		{"verify-not-canonical-untrusted", []string{"verify", f.notCanonical, "--key", f.otherPub}, 1},
		{"verify-duplicate-key", []string{"verify", f.duplicate, "--key", pubKey}, 2},
		{"verify-forged-model-id", []string{"verify", f.forged}, 0},
		{"verify-forged-model-id-pinned", []string{"verify", f.forged, "--key", pubKey}, 1},
		{"verify-missing", []string{"verify", filepath.Join(dir, "none.json")}, 2},
		{"verify-directory", []string{"verify", dir}, 2},
		{"verify-not-json", []string{"verify", f.notJSON}, 2},
		{"verify-no-args", []string{"verify"}, 2},
		{"verify-identity-alone", []string{"verify", marathon, "--identity", "alice@example.com"}, 2},
		{"verify-identity-regexp-alone", []string{"verify", marathon, "--identity-regexp", ".*"}, 2},
		{"verify-issuer-alone", []string{"verify", marathon, "--issuer", "https://issuer.example"}, 2},
		{"verify-identity-regexp-invalid", []string{"verify", marathon, "--identity-regexp", "(alice", "--issuer", "https://issuer.example"}, 2},
		{"verify-missing-key", []string{"verify", marathon, "--key", filepath.Join(dir, "none.pub")}, 2},
		{"unknown-command", []string{"frobnicate"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLIIn(t, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d; want %d (stderr: %s)", r.code, tt.wantCode, r.stderr)
			}
			got := "$ bench " + strings.Join(tt.args, " ") + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
			got = strings.ReplaceAll(got, dir, "$TMP")
			golden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// cliResult is what one command printed and its exit status.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLIIn runs the CLI in-process as main does, error line included.
func runCLIIn(t *testing.T, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := 0
	if err != nil {
		code = exitCode(err)
		if ee, ok := err.(*exitError); !ok || !ee.silent {
			stderr.WriteString("bench: " + textsafe.EscapeLines(err.Error()) + "\n")
		}
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// TestVerifyOneVerdict: every outcome prints one verdict, first, on one
// stream, and no text from the envelope reaches the terminal raw: a model id
// holding ESC and a forged "trust: trusted" line stays on one escaped line.
func TestVerifyOneVerdict(t *testing.T) {
	dir := t.TempDir()
	f := writeCLIFixtures(t, dir)
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // first line's prefix; "" = stdout must be empty
		wantStderr string // first line's prefix; "" = stderr must be empty
		wantTrust  string // the one trust line's prefix, "" = none
	}{
		{"trusted", []string{"verify", marathon, "--key", pubKey}, 0, "OK  ", "", "  trust:            trusted: "},
		{"no policy", []string{"verify", llmC16}, 0, "OK  " + llmC16 + "  (integrity only: signer UNTRUSTED, no key or identity pinned)", "", "  trust:            UNTRUSTED: "},
		{"untrusted", []string{"verify", llmC16, "--key", pubKey}, 1, "", "FAIL  " + llmC16, ""},
		{"tampered", []string{"verify", f.tampered, "--key", pubKey}, 1, "", "FAIL  " + f.tampered, ""},
		{"forged model id, no policy", []string{"verify", f.forged}, 0, "OK  ", "", "  trust:            UNTRUSTED: "},
		{"forged model id, pinned", []string{"verify", f.forged, "--key", pubKey}, 1, "", "FAIL  ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLIIn(t, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("exit code = %d; want %d", r.code, tc.wantCode)
			}
			for _, s := range []struct{ name, out, want string }{{"stdout", r.stdout, tc.wantStdout}, {"stderr", r.stderr, tc.wantStderr}} {
				switch {
				case s.want == "" && s.out != "":
					t.Errorf("%s = %q; want nothing", s.name, s.out)
				case s.want != "" && !strings.HasPrefix(s.out, s.want):
					t.Errorf("%s starts %q; want %q", s.name, firstLine(s.out), s.want)
				}
			}
			all := r.stdout + r.stderr
			if strings.ContainsAny(all, "\x1b\r") {
				t.Errorf("output holds a raw ESC or CR:\n%q", all)
			}
			var trust []string
			for _, l := range strings.Split(all, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "trust:") {
					trust = append(trust, l)
				}
			}
			var want []string
			if tc.wantTrust != "" {
				want = []string{tc.wantTrust}
			}
			var got []string
			for _, l := range trust {
				got = append(got, l[:min(len(l), len(tc.wantTrust))])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trust lines (-want +got):\n%s\nall: %q", diff, trust)
			}
		})
	}
	r := runCLIIn(t, "verify", f.forged)
	wantModel := "  model:            evil\\x1b[8m\\n  trust:            trusted: "
	if !strings.Contains(r.stdout, wantModel) {
		t.Errorf("the model line does not show the escaped id; stdout:\n%s", r.stdout)
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
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
