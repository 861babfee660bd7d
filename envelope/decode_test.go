package envelope

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestValidationMessages pins that errors name the field path and the rule.
func TestValidationMessages(t *testing.T) {
	raw, err := os.ReadFile("testdata/dev-key-vector.signed.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"bad dataset hash", `"hash": "1111111111111111111111111111111111111111111111111111111111111111"`, `"hash": "xyz"`, "dataset.hash: must be 64 lowercase hex characters"},
		{"uppercase hex", `"hash": "1111111111111111111111111111111111111111111111111111111111111111"`, `"hash": "AAAA111111111111111111111111111111111111111111111111111111111111"`, "dataset.hash: must be 64 lowercase hex characters"},
		{"short revision", `"revision": "abc1234"`, `"revision": "abc"`, "model.revision: must have at least 7 characters, got 3"},
		{"missing model id", `"id": "meta-llama/Llama-4-Maverick",`, ``, "model.id: field required"},
		{"empty suite id", `"suite_id": "llm.inference"`, `"suite_id": "   "`, "suite_id: must not be empty"},
		{"suite version", `"suite_version": "1.0.0"`, `"suite_version": "1.0"`, "suite_version: must match"},
		{"version v2", `"envelope_version": "v1"`, `"envelope_version": "v2"`, `envelope_version: must be "v1"`},
		{"padded literal", `"envelope_version": "v1"`, `"envelope_version": " v1"`, `envelope_version: must be "v1"`},
		{"seed fraction", `"seed": 42`, `"seed": 42.5`, "seed: must be an integer, got 42.5 with a fractional part"},
		{"seed type", `"seed": 42`, `"seed": [42]`, "seed: must be an integer, got array"},
		{"channels range", `"channels": 12`, `"channels": 17`, "hardware_fingerprint.memory.channels: must be between 1 and 16, got 17"},
		{"gpu serial", `"serial": "1234567890"`, `"serial": ""`, "hardware_fingerprint.gpus[0].serial: must not be empty"},
		{"fingerprint", `"model": "Intel(R) Xeon(R) 8480C"`, `"model": "other"`, "hardware_fingerprint.fingerprint_sha256: fingerprint_sha256 mismatch: stored=ca0a9fb8"},
		{"metric list", `"ttft_p50_ms": 142.0`, `"ttft_p50_ms": [1, 2]`, "metrics.ttft_p50_ms: must be a number, a string or null, got array"},
		{"metric object", `"metrics": {`, `"metrics": 3, "x": {`, "metrics: must be an object, got int"},
		{"naive timestamp", `"timestamp": "2026-05-15T10:30:00Z"`, `"timestamp": "2026-05-15T10:30:00"`, "timestamp: must be an RFC 3339 timestamp with a timezone: no timezone (naive datetime)"},
		{"signature method", `"method": "dev-key"`, `"method": "pgp"`, `signature.method: must be "sigstore-cosign" or "dev-key", got "pgp"`},
		{"str type", `"provider": "vllm-local"`, `"provider": 7`, "model.provider: must be a string, got int"},
		{"lone surrogate", `"provider": "vllm-local"`, `"provider": "a\ud800"`, "model.provider: must be valid Unicode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(string(raw), tt.old, tt.new, 1)
			if in == string(raw) {
				t.Fatalf("mutation %q not applied", tt.old)
			}
			_, err := Parse([]byte(in))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v; want a *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseSentinels(t *testing.T) {
	raw, _ := os.ReadFile("testdata/dev-key-vector.signed.json")
	noMetrics := strings.Replace(string(raw), `"ttft_p50_ms": 142.0,
    "throughput_tok_per_s": 1842.1`, ``, 1)
	if _, err := Parse([]byte(noMetrics)); !errors.Is(err, ErrNoMetrics) {
		t.Errorf("empty metrics: %v; want ErrNoMetrics", err)
	}
	mismatch := strings.Replace(string(raw), `"cuda": "12.6"`, `"cuda": "12.7"`, 1)
	if _, err := Parse([]byte(mismatch)); !errors.Is(err, ErrFingerprintMismatch) {
		t.Errorf("fingerprint: %v; want ErrFingerprintMismatch", err)
	}
	var se *SyntaxError
	if _, err := Parse([]byte(`{"a": NaN}`)); !errors.As(err, &se) {
		t.Errorf("NaN: %v; want a *SyntaxError", err)
	}
	if _, err := Load("testdata/no-such-file.json"); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/no-such-file.json") {
		t.Errorf("Load of a missing file: %v; want an error naming the file and wrapping os.ErrNotExist", err)
	}
}

// TestUnknownFieldsKept: unknown members survive at every level, in order,
// and are covered by the hash.
func TestUnknownFieldsKept(t *testing.T) {
	raw, _ := os.ReadFile("testdata/dev-key-vector.signed.json")
	in := strings.Replace(string(raw), `"revision": "abc1234",`, `"revision": "abc1234", "x_note": " kept as is ",`, 1)
	in = strings.Replace(in, `"seed": 42,`, `"seed": 42, "x_top": {"b": 1, "a": [1.0, null]},`, 1)
	e, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Model.Extra.Get("x_note"); v.GoString() != `" kept as is "` {
		t.Errorf("model.x_note = %#v", v)
	}
	if keys := e.Extra.Keys(); len(keys) != 1 || keys[0] != "x_top" {
		t.Errorf("top-level extras = %v; want [x_top]", keys)
	}
	canon, _ := e.CanonicalJSON()
	if !strings.Contains(string(canon), `"x_top":{"a":[1.0,null],"b":1}`) || !strings.Contains(string(canon), `"x_note":" kept as is "`) {
		t.Errorf("extras missing from the canonical JSON: %s", canon)
	}
	file, _ := e.Bytes()
	// pydantic writes extras after every declared field, signature included.
	if !strings.HasSuffix(string(file), "},\n  \"x_top\": {\n    \"b\": 1,\n    \"a\": [\n      1.0,\n      null\n    ]\n  }\n}") {
		t.Errorf("extras not written after the declared fields in input order:\n%s", file)
	}
}
