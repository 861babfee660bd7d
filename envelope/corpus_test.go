package envelope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusRoundTrip parses every reference envelope, checks that its
// content hash matches its file name, and that Bytes reproduces the file
// byte for byte (FACTS §2.6: every file equals model_dump_json(indent=2)).
func TestCorpusRoundTrip(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "envelopes")
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no envelopes in %s: %v", dir, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			h, err := e.ContentHash()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(filepath.Base(path), "_"+h[:12]+".json") && !strings.HasSuffix(filepath.Base(path), "-"+h[:12]+".json") {
				t.Errorf("content hash %s does not match the file name", h)
			}
			got, err := e.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(raw) {
				t.Errorf("Bytes differs from the file at byte %d:\n got: %q\nwant: %q", firstDiff(string(got), string(raw)), excerpt(string(got), string(raw)), excerpt(string(raw), string(got)))
			}
		})
	}
}
