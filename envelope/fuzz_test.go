package envelope

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks, for any input, that Parse never panics and that what it
// accepts canonicalizes to ASCII JSON that is a fixed point: the written
// file and the canonical bytes both reparse to the same canonical bytes.
// Seeds: the reference vectors (when ../shared is present) and testdata.
func FuzzParse(f *testing.F) {
	if vs, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "vectors", "canonical.jsonl")); err == nil {
		for _, line := range splitLines(vs) {
			var v vector
			if json.Unmarshal(line, &v) == nil {
				f.Add([]byte(v.Input))
			}
		}
	}
	paths, _ := filepath.Glob("testdata/envelopes/*.json")
	paths = append(paths, "testdata/dev-key-vector.signed.json")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		canon, err := e.CanonicalJSON()
		if err != nil {
			t.Fatalf("Parse accepted an envelope that CanonicalJSON rejects: %v", err)
		}
		for i, c := range canon {
			if c >= utf8.RuneSelf {
				t.Fatalf("canonical JSON has a non-ASCII byte at %d", i)
			}
		}
		if !json.Valid(canon) {
			t.Fatalf("canonical JSON is not valid JSON: %s", canon)
		}
		file, err := e.Bytes()
		if err != nil {
			t.Fatalf("Bytes: %v", err)
		}
		for name, b := range map[string][]byte{"file": file, "canonical": canon} {
			back, err := Parse(b)
			if err != nil {
				t.Fatalf("the %s form does not reparse: %v\n%s", name, err, b)
			}
			again, err := back.CanonicalJSON()
			if err != nil || string(again) != string(canon) {
				t.Fatalf("the %s form reparses to different canonical JSON (%v):\n got %s\nwant %s", name, err, again, canon)
			}
		}
	})
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	data := benchEnvelope(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContentHash(b *testing.B) {
	e, err := Parse(benchEnvelope(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.ContentHash(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCanonicalHash is the verify path: parse a real envelope,
// canonicalize it and hash it.
func BenchmarkParseCanonicalHash(b *testing.B) {
	data := benchEnvelope(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.ContentHash(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEnvelope(b *testing.B) []byte {
	data, err := os.ReadFile("testdata/envelopes/2026-05-18-multi-vendor-marathon_marathon_all_010e9504589b.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}
