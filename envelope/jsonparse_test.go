package envelope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readVector(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/dev-key-vector.signed.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestParseRejectsDuplicateKeys: a repeated key, at any depth, is an error
// naming the key and the byte offset of its second occurrence.
func TestParseRejectsDuplicateKeys(t *testing.T) {
	raw := readVector(t)
	for _, tc := range []struct {
		name     string
		old, new string
		second   string // the second occurrence, as it appears in the input
		key      string
	}{
		// A first-wins reader shows 999999.0; the signature covers 1842.1.
		{"a metric shown twice", `"throughput_tok_per_s": 1842.1`,
			`"throughput_tok_per_s": 999999.0, "throughput_tok_per_s": 1842.1`, `"throughput_tok_per_s": 1842.1`, "throughput_tok_per_s"},
		{"top level", `"seed": 42,`, `"seed": 42, "seed": 43,`, `"seed": 43`, "seed"},
		{"in a sub-model", `"id": "meta-llama/Llama-4-Maverick",`, `"id": "x", "id": "meta-llama/Llama-4-Maverick",`, `"id": "meta-llama/Llama-4-Maverick"`, "id"},
		{"in an object inside an array", `"serial": "1234567890",`, `"serial": "1", "serial": "1234567890",`, `"serial": "1234567890"`, "serial"},
		{"in an untyped value", `"driver_options": {}`, `"driver_options": {"a": {"b": [{"c": 1, "c": 1}]}}`, `"c": 1}`, "c"},
		{"in the signature block", `"rekor_log_index": -1,`, `"rekor_log_index": -1, "rekor_log_index": 7,`, `"rekor_log_index": 7`, "rekor_log_index"},
		{"the same key spelled with an escape", `"seed": 42,`, `"seed": 42, "s\u0065ed": 42,`, `"s\u0065ed"`, "seed"},
		{"an unknown field with equal values", `"seed": 42,`, `"x": 1, "x": 1, "seed": 42,`, `"x": 1, "seed"`, "x"},
		{"a key with a control character", `"seed": 42,`, `"a\u001b[8m": 1, "a\u001b[8m": 2, "seed": 42,`, `"a\u001b[8m": 2`, "a\x1b[8m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(raw, tc.old, tc.new, 1)
			if in == raw {
				t.Fatalf("mutation %q not applied", tc.old)
			}
			_, err := Parse([]byte(in))
			var de *DuplicateKeyError
			if !errors.As(err, &de) {
				t.Fatalf("Parse error = %v; want a *DuplicateKeyError", err)
			}
			want := &DuplicateKeyError{Key: tc.key, Offset: strings.Index(in, tc.second)}
			if diff := cmp.Diff(want, de); diff != "" {
				t.Errorf("DuplicateKeyError (-want +got):\n%s", diff)
			}
			wantMsg := fmt.Sprintf("duplicate key %q at byte %d: an envelope must not repeat a key, readers disagree on which one counts", tc.key, want.Offset)
			if diff := cmp.Diff(wantMsg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("message holds a raw ESC: %q", err)
			}
		})
	}
}

// TestDuplicateMetricNeverVerifies: before duplicate keys were rejected, a
// file repeating a metric verified as trusted while showing a first-wins
// reader a figure the signature does not cover.
func TestDuplicateMetricNeverVerifies(t *testing.T) {
	raw := readVector(t)
	in := strings.Replace(raw, `"throughput_tok_per_s": 1842.1`, `"throughput_tok_per_s": 999999.0, "throughput_tok_per_s": 1842.1`, 1)
	e, err := Parse([]byte(in))
	if err == nil {
		r, verr := Verify(context.Background(), e, WithTrustedPublicKeys(mustPub(t, e)))
		t.Fatalf("Parse accepted a repeated metric; Verify = %+v, %v", r, verr)
	}
}

func mustPub(t *testing.T, e *Envelope) any {
	t.Helper()
	k, err := ParsePublicKey([]byte(e.Signature.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestParseRejectsKeysCollidingOnceStripped: the reference strips dict keys,
// so " x " and "x" would be one key, the last value winning.
func TestParseRejectsKeysCollidingOnceStripped(t *testing.T) {
	raw := readVector(t)
	for _, tc := range []struct {
		name, old, new string
		want           FieldError
	}{
		{"metrics", `"ttft_p50_ms": 142.0,`, `"ttft_p50_ms": 142.0, " ttft_p50_ms ": 1.0,`,
			FieldError{`metrics[" ttft_p50_ms "]`, `repeats the key "ttft_p50_ms" once surrounding whitespace is stripped: an envelope must not repeat a key, readers disagree on which one counts`}},
		{"distributions", `"distributions": {}`, `"distributions": {"a": "x", "a\t": "y"}`,
			FieldError{`distributions["a\t"]`, `repeats the key "a" once surrounding whitespace is stripped: an envelope must not repeat a key, readers disagree on which one counts`}},
		{"driver_options", `"driver_options": {}`, `"driver_options": {" c": 1, "c": 2}`,
			FieldError{`driver_options.c`, `repeats the key "c" once surrounding whitespace is stripped: an envelope must not repeat a key, readers disagree on which one counts`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(raw, tc.old, tc.new, 1)
			if in == raw {
				t.Fatalf("mutation %q not applied", tc.old)
			}
			_, err := Parse([]byte(in))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v; want a *ValidationError", err)
			}
			if diff := cmp.Diff([]FieldError{tc.want}, ve.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseManyKeysStaysLinear: the duplicate check is a map lookup once an
// object has more than a few members (a scan per key would make a 50 000-key
// object cost over a billion comparisons).
func TestParseManyKeysStaysLinear(t *testing.T) {
	const n = 50_000
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	data := strings.TrimSuffix(b.String(), ",") + "}"
	v, err := parseJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := v.AsObject()
	if obj.Len() != n || len(obj.idx) != n {
		t.Fatalf("object has %d members and an index of %d; want %d of each", obj.Len(), len(obj.idx), n)
	}
	dup := strings.TrimSuffix(data, "}") + `,"k0":0}`
	var de *DuplicateKeyError
	if _, err := parseJSON([]byte(dup)); !errors.As(err, &de) || de.Key != "k0" || de.Offset != len(data) {
		t.Fatalf("duplicate after %d keys: %v; want k0 at byte %d", n, err, len(data))
	}
}

func BenchmarkParseManyKeys(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 10_000 {
		fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
	}
	data := []byte(strings.TrimSuffix(sb.String(), ",") + "}")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFieldPathsQuoteKeys: a key from the file that is not a plain name is
// quoted in error paths, so its control characters never reach a terminal.
func TestFieldPathsQuoteKeys(t *testing.T) {
	raw := readVector(t)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"escape sequence in a metric key", `"ttft_p50_ms": 142.0`, `"ttft\u001b[8m": [1]`, `metrics["ttft\x1b[8m"]: must be a number, a string or null, got array`},
		{"newline in a metric key", `"ttft_p50_ms": 142.0`, `"a\n  trust: trusted": {}`, `metrics["a\n  trust: trusted"]: must be a number, a string or null, got object`},
		{"dotted metric key", `"ttft_p50_ms": 142.0`, `"a.b": []`, `metrics["a.b"]: must be a number, a string or null, got array`},
		{"bidi override in a distribution key", `"distributions": {}`, `"distributions": {"\u202eab": 1}`, `distributions["\u202eab"]: must be a string, got int`},
		{"plain key", `"ttft_p50_ms": 142.0`, `"ttft_p50_ms": []`, `metrics.ttft_p50_ms: must be a number, a string or null, got array`},
		{"control character in a value", `"method": "dev-key"`, `"method": "dev-key\u001b[8m"`, `signature.method: must be "sigstore-cosign" or "dev-key", got "dev-key\u001b[8m"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(raw, tc.old, tc.new, 1)
			if in == raw {
				t.Fatalf("mutation %q not applied", tc.old)
			}
			_, err := Parse([]byte(in))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v; want a *ValidationError", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNonFiniteErrorQuotesKeys: the canonical encoder's error path quotes
// a key that is not a plain name.
func TestNonFiniteErrorQuotesKeys(t *testing.T) {
	e := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	e.Signature = nil
	e.Metrics.Set("bad\x1b]0;x\x07", Float(posInf()))
	_, err := e.CanonicalJSON()
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("CanonicalJSON = %v; want ErrNonFinite", err)
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07") || !strings.Contains(err.Error(), `["bad\x1b]0;x\a"]`) {
		t.Errorf("error %q does not quote the key", err)
	}
}
