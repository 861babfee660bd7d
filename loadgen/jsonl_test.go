package loadgen

import (
	"bytes"
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
