package loadgen

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJSONLRoundTrip(t *testing.T) {
	in := []Result{
		{Index: 0, Warmup: true, Worker: 1, Outcome: OutcomeOK, StatusCode: 200, FinishReason: "length", Scheduled: 5, Sent: 5, FirstByte: 7 * time.Millisecond,
			FirstToken: 40 * time.Millisecond, End: 80 * time.Millisecond, Chunks: []Chunk{{At: 40 * time.Millisecond, Tokens: 1}, {At: 45 * time.Millisecond, Tokens: 2}},
			PromptTokens: 9, OutputTokens: 3, TokenSource: TokenSourceUsage},
		{Index: 1, Worker: -1, Outcome: OutcomeHTTPStatus, StatusCode: 503, Error: "HTTP 503: busy", End: time.Second},
		{Index: 2, Worker: -1, Outcome: OutcomeOK, OutputTokens: 2, TokenSource: TokenSourceChunks, UsageRejected: "completion_tokens 1e400 exceeds max_tokens 128"},
	}
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	for i := range in {
		if err := w.Write(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 3 {
		t.Fatalf("%d lines; want 3", n)
	}
	if n := bytes.Count(buf.Bytes(), []byte(`"usage_rejected":"completion_tokens 1e400`)); n != 1 {
		t.Fatalf("usage_rejected written %d times; want once, only where set", n)
	}
	var out []Result
	if err := ReadJSONL(&buf, func(r Result) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// encodeJSON is the reference: what encoding/json's Encoder writes for r.
func encodeJSON(t *testing.T, r *Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAppendResultJSON: the hand-written encoder writes exactly what
// encoding/json writes.
func TestAppendResultJSON(t *testing.T) {
	for _, r := range []Result{
		{},
		{Index: 0, Warmup: true, Worker: 1, Outcome: OutcomeOK, StatusCode: 200, FinishReason: "length", Scheduled: 5, Sent: 5, FirstByte: 7 * time.Millisecond,
			FirstToken: 40 * time.Millisecond, End: 80 * time.Millisecond, Chunks: []Chunk{{At: 40 * time.Millisecond, Tokens: 1}, {At: 45 * time.Millisecond, Tokens: 2}},
			PromptTokens: 9, OutputTokens: 3, TokenSource: TokenSourceUsage},
		{Index: -7, Worker: -1, Prompt: math.MaxInt, Outcome: OutcomeHTTPStatus, StatusCode: -1, Error: `HTTP 503: <busy> & "tired" \ ` + "\x00\x1f\x7f\u2028\u2029é\xff\xc3", End: -time.Second},
		{Index: math.MinInt, Outcome: "", Chunks: []Chunk{}, Scheduled: math.MinInt64, TokenSource: TokenSourceChunks, UsageRejected: "completion_tokens 1e400 exceeds max_tokens 128"},
		{Index: 3, Outcome: OutcomeOK, GPUJoules: ptr(12.345678)},
		{Index: 4, Outcome: OutcomeOK, GPUJoules: ptr(0)},
		{Index: 5, Outcome: OutcomeOK, GPUJoules: ptr(1e-9)},
		{Index: 6, Outcome: OutcomeOK, GPUJoules: ptr(3e22)},
	} {
		want := encodeJSON(t, &r)
		if got := appendResultJSON(nil, &r); !bytes.Equal(got, want) {
			t.Errorf("appendResultJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func ptr(f float64) *float64 { return &f }

// FuzzAppendResultJSON holds the hand-written encoder to encoding/json's
// bytes for any field values.
func FuzzAppendResultJSON(f *testing.F) {
	f.Add(1, -1, true, "ok", "HTTP 500: <x>", "stop", int64(40e6), int64(-1), 3, "usage", "é\xff\u2028", 1.5)
	f.Fuzz(func(t *testing.T, index, worker int, warmup bool, outcome, errText, finish string, at, sent int64, chunks int, source, rejected string, joules float64) {
		r := Result{Index: index, Worker: worker, Prompt: index ^ worker, Warmup: warmup, Outcome: Outcome(outcome), StatusCode: worker,
			Error: errText, FinishReason: finish, Scheduled: time.Duration(sent), Sent: time.Duration(sent), FirstByte: time.Duration(at / 2),
			FirstToken: time.Duration(at), End: time.Duration(at + sent), PromptTokens: chunks, OutputTokens: -chunks,
			TokenSource: TokenSource(source), UsageRejected: rejected}
		if !math.IsNaN(joules) && !math.IsInf(joules, 0) && index%2 == 0 {
			r.GPUJoules = &joules
		}
		for i := range min(max(chunks, 0), 50) {
			r.Chunks = append(r.Chunks, Chunk{At: time.Duration(at + int64(i)), Tokens: i - 1})
		}
		if got, want := appendResultJSON(nil, &r), encodeJSON(t, &r); !bytes.Equal(got, want) {
			t.Fatalf("appendResultJSON:\n got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkJSONLWrite compares the hand-written encoder with
// encoding/json's on a result of 64 chunks.
func BenchmarkJSONLWrite(b *testing.B) {
	r := Result{Index: 1234, Worker: 17, Prompt: 34, Outcome: OutcomeOK, StatusCode: 200, FinishReason: "stop",
		Scheduled: 123456789, Sent: 123456789, FirstByte: 124456789, FirstToken: 163456789, End: 480000000,
		PromptTokens: 80, OutputTokens: 64, TokenSource: TokenSourceUsage}
	for i := range 64 {
		r.Chunks = append(r.Chunks, Chunk{At: time.Duration(163456789 + i*5000000), Tokens: 1})
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendResultJSON(buf[:0], &r)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
