package loadgen

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// chunkView is chunkFields with the raw values as strings, for comparison.
type chunkView struct {
	Choices, Content      bool
	FinishReason          string
	Usage, Error          string
	HasUsage, HasErrorVal bool
}

func viewOf(f chunkFields) chunkView {
	return chunkView{
		Choices: f.choices, Content: f.content, FinishReason: f.finishReason,
		Usage: string(f.usage), Error: string(f.errorValue),
		HasUsage: f.usage != nil, HasErrorVal: f.errorValue != nil,
	}
}

// engineChunks are events real engines send (vLLM, SGLang, TensorRT-LLM,
// llama.cpp, MLX, OpenAI), each with what the client must read from it.
var engineChunks = []struct {
	name string
	data string
	want chunkView
}{
	{"vllm chat role", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
		chunkView{Choices: true}},
	{"vllm chat content", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok0 "},"logprobs":null,"finish_reason":null}]}`,
		chunkView{Choices: true, Content: true}},
	{"vllm chat last", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok9 "},"logprobs":null,"finish_reason":"length","stop_reason":null}]}`,
		chunkView{Choices: true, Content: true, FinishReason: "length"}},
	{"vllm usage", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":140,"completion_tokens":128}}`,
		chunkView{Usage: `{"prompt_tokens":12,"total_tokens":140,"completion_tokens":128}`, HasUsage: true}},
	{"vllm continuous usage", `{"id":"c","choices":[{"index":0,"delta":{"content":" the"},"finish_reason":null}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
		chunkView{Choices: true, Content: true, Usage: `{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}`, HasUsage: true}},
	{"vllm completion", `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" world","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`,
		chunkView{Choices: true, Content: true, Usage: "null", HasUsage: true}},
	{"completion empty text wins over delta", `{"choices":[{"text":"","delta":{"content":"x"}}]}`,
		chunkView{Choices: true}},
	{"null text leaves delta", `{"choices":[{"text":null,"delta":{"content":"x"}}]}`,
		chunkView{Choices: true, Content: true}},
	{"sglang", `{"id":"1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":"Hi","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":"stop","matched_stop":128009}],"usage":null}`,
		chunkView{Choices: true, Content: true, FinishReason: "stop", Usage: "null", HasUsage: true}},
	{"llama.cpp", `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":" is"}}],"created":1,"id":"chatcmpl-x","model":"gpt-3.5-turbo","system_fingerprint":"b1-x","object":"chat.completion.chunk","timings":{"prompt_n":1,"predicted_per_second":51.2}}`,
		chunkView{Choices: true, Content: true}},
	{"openai logprobs", `{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.1,"bytes":[97],"top_logprobs":[]}],"refusal":null},"finish_reason":null}],"system_fingerprint":"fp"}`,
		chunkView{Choices: true, Content: true}},
	{"tool call delta", `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\": 1}"}}]},"finish_reason":null}]}`,
		chunkView{Choices: true}},
	{"unicode content", `{"choices":[{"delta":{"content":"\u00e9t\u00e9 \ud83d\ude00 été"}}]}`,
		chunkView{Choices: true, Content: true}},
	{"escaped content", `{"choices":[{"delta":{"content":"\n"}}]}`,
		chunkView{Choices: true, Content: true}},
	{"error object", `{"error":{"message":"boom","type":"InternalServerError","code":500}}`,
		chunkView{Error: `{"message":"boom","type":"InternalServerError","code":500}`, HasErrorVal: true}},
	{"null error", `{"error":null,"choices":[{"delta":{"content":"x"}}]}`,
		chunkView{Choices: true, Content: true, Error: "null", HasErrorVal: true}},
	{"null choice", `{"choices":[null]}`, chunkView{Choices: true}},
	{"second choice ignored", `{"choices":[{"delta":{}},{"delta":{"content":"x"},"finish_reason":"st\u006fp"}]}`,
		chunkView{Choices: true}},
	{"whitespace", " \t\r\n{ \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } , \"finish_reason\" : \"stop\" } ] } \n",
		chunkView{Choices: true, Content: true, FinishReason: "stop"}},
}

// TestScanChunkEngines: the fast path reads what engines send, as
// encoding/json does.
func TestScanChunkEngines(t *testing.T) {
	for _, tt := range engineChunks {
		t.Run(tt.name, func(t *testing.T) {
			var fast, slow chunkFields
			if !scanChunk([]byte(tt.data), &fast) {
				t.Fatalf("the fast path gave up on %s", tt.data)
			}
			if err := decodeChunkJSON([]byte(tt.data), &slow); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, viewOf(fast)); diff != "" {
				t.Errorf("fast path (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, viewOf(slow)); diff != "" {
				t.Errorf("encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// unusualChunks are events the fast path leaves to encoding/json.
var unusualChunks = []string{
	`{"Choices":[{"delta":{"content":"x"}}]}`,              // another spelling
	`{"choices":[{"Delta":{"content":"x"}}]}`,              //
	`{"choices":[{"delta":{"CONTENT":"x"}}]}`,              //
	`{"choices":[{"finish_Reason":"stop"}]}`,               //
	`{"choices":[{"finishreason":"stop"}]}`,                // a decoder that ignores '_'
	"{\"choice\u017f\":[{\"delta\":{\"content\":\"x\"}}]}", // ſ folds to s
	`{"\u0063hoices":[{"delta":{"content":"x"}}]}`,         // an escaped key
	`{"choices":[],"choices":[{"delta":{"content":"x"}}]}`, // twice
	`{"choices":[{"delta":{"content":"x"},"delta":null}]}`, //
	`{"choices":[{"delta":{"content":"x","content":""}}]}`, //
	`{"usage":null,"usage":{"completion_tokens":1}}`,       //
	`{"choices":[{"finish_reason":"st\u006fp"}]}`,          // needs decoding
	`{"choices":[{"finish_reason":"fin\u00e9"}]}`,          //
	"{\"choices\":[{\"finish_reason\":\"fin\xc3\xa9\"}]}",  //
	`{"choices":[{"delta":{"content":5}}]}`,                // wrong types
	`{"choices":{"delta":{}}}`,                             //
	`{"choices":[{"delta":"x"}]}`,                          //
	`{"choices":[{"text":true}]}`,                          //
	`{"choices":[{"finish_reason":1}]}`,                    //
	`{"choices":[{},{"delta":{"content":[]}}]}`,            //
	`{"choices":[1]}`,                                      //
	`null`,                                                 //
	`[]`,                                                   //
	`{"choices":[{"delta":{"content":"x"}}]`,               // malformed
	`{"choices":[{"delta":{"content":"x"}}]}}`,             //
	`{"choices":[{"delta":{"content":"x\u12"}}]}`,          //
	"{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",   //
	`{"choices":[{"delta":{"content":"x"}}],}`,             //
	`{"a":01}`,    //
	`{"a":1.}`,    //
	`{"a":-}`,     //
	`{"a":1e}`,    //
	`{"a":nul}`,   //
	`{"a":[1,]}`,  //
	`{"a":{"b"}}`, //
	`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, // deep
	``,
}

// TestScanChunkUnusual: the fast path refuses what it must leave to
// encoding/json, and parseChunk then gives encoding/json's answer.
func TestScanChunkUnusual(t *testing.T) {
	for _, data := range unusualChunks {
		var f chunkFields
		if scanChunk([]byte(data), &f) {
			t.Errorf("the fast path read %q; it must leave it to encoding/json", data)
		}
		checkChunkAgainstJSON(t, []byte(data))
	}
}

// checkChunkAgainstJSON checks that parseChunk agrees with encoding/json
// on data, and that whatever the fast path accepts, encoding/json reads
// the same.
func checkChunkAgainstJSON(t *testing.T, data []byte) {
	t.Helper()
	var want chunkFields
	wantErr := decodeChunkJSON(data, &want)
	var fast chunkFields
	if scanChunk(data, &fast) {
		if wantErr != nil {
			t.Fatalf("the fast path read %q, which encoding/json rejects: %v", data, wantErr)
		}
		if diff := cmp.Diff(viewOf(want), viewOf(fast)); diff != "" {
			t.Fatalf("fast path on %q (-encoding/json +fast):\n%s", data, diff)
		}
	}
	var got chunkFields
	gotErr := parseChunk(data, &got)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("parseChunk(%q) error %v; encoding/json %v", data, gotErr, wantErr)
	}
	if wantErr == nil {
		if diff := cmp.Diff(viewOf(want), viewOf(got)); diff != "" {
			t.Fatalf("parseChunk on %q (-encoding/json +got):\n%s", data, diff)
		}
	}
	checkUsageAgainstJSON(t, data)
	if wantErr == nil && want.usage != nil {
		checkUsageAgainstJSON(t, want.usage)
	}
}

// checkUsageAgainstJSON checks parseUsage against encoding/json on raw.
func checkUsageAgainstJSON(t *testing.T, raw []byte) {
	t.Helper()
	var want usageCounts
	wantErr := json.Unmarshal(raw, &want)
	var fast usageCounts
	if scanUsage(raw, &fast) {
		if wantErr != nil {
			t.Fatalf("the usage fast path read %q, which encoding/json rejects: %v", raw, wantErr)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Fatalf("usage fast path on %q (-encoding/json +fast):\n%s", raw, diff)
		}
	}
	var got usageCounts
	gotErr := parseUsage(raw, &got)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("parseUsage(%q) error %v; encoding/json %v", raw, gotErr, wantErr)
	}
	if diff := cmp.Diff(want, got); wantErr == nil && diff != "" {
		t.Fatalf("parseUsage on %q (-encoding/json +got):\n%s", raw, diff)
	}
}

// TestScanUsage: the usage fast path reads engines' usage objects and
// leaves the unusual ones to encoding/json.
func TestScanUsage(t *testing.T) {
	for _, raw := range []string{
		`{"prompt_tokens":12,"total_tokens":140,"completion_tokens":128}`,
		`{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_tokens_details":null}`,
		`{"completion_tokens":1e400,"prompt_tokens":-5}`,
		`{"completion_tokens":"7","prompt_tokens":null}`,
		`{}`,
	} {
		var u usageCounts
		if !scanUsage([]byte(raw), &u) {
			t.Errorf("the usage fast path gave up on %s", raw)
		}
		checkUsageAgainstJSON(t, []byte(raw))
	}
	for _, raw := range []string{
		`{"Completion_Tokens":3}`, `{"completiontokens":3}`, `{"completion_tokens":1,"completion_tokens":2}`,
		`{"\u0070rompt_tokens":1}`, `[]`, `null`, `{"completion_tokens":}`, `{"a":1}x`,
	} {
		var u usageCounts
		if scanUsage([]byte(raw), &u) {
			t.Errorf("the usage fast path read %s; it must leave it to encoding/json", raw)
		}
		checkUsageAgainstJSON(t, []byte(raw))
	}
}

// FuzzChunkScanner checks the fast path against encoding/json: whatever it
// reads, encoding/json reads alike (same choices, content, finish_reason,
// raw usage and error values), and it never accepts what encoding/json
// rejects. Seeds: testdata/fuzz/FuzzChunkScanner and the chunks above.
//
//	go test -run '^$' -fuzz FuzzChunkScanner -fuzztime 2m ./loadgen
func FuzzChunkScanner(f *testing.F) {
	for _, tt := range engineChunks {
		f.Add([]byte(tt.data))
	}
	for _, data := range unusualChunks {
		f.Add([]byte(data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkChunkAgainstJSON(t, data)
	})
}

// TestScanChunkAllocations: the fast path allocates nothing for a content
// chunk.
func TestScanChunkAllocations(t *testing.T) {
	data := []byte(engineChunks[1].data)
	var f chunkFields
	if n := testing.AllocsPerRun(100, func() { _ = parseChunk(data, &f) }); n != 0 {
		t.Errorf("%v allocations per content chunk; want 0", n)
	}
}

// BenchmarkParseChunk compares the fast path with encoding/json on a vLLM
// content chunk.
func BenchmarkParseChunk(b *testing.B) {
	data := []byte(engineChunks[1].data)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var f chunkFields
		for b.Loop() {
			if err := parseChunk(data, &f); err != nil || !f.content {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var f chunkFields
		for b.Loop() {
			f = chunkFields{}
			if err := decodeChunkJSON(data, &f); err != nil || !f.content {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadStream measures the client's per-chunk work apart from the
// network: a vLLM-style stream of 128 one-token chunks, usage and [DONE],
// one event per read as an engine flushes them, through readStream (SSE
// framing, the read-time clock, the chunk scanner, recording).
func BenchmarkReadStream(b *testing.B) {
	c, err := NewClient("http://127.0.0.1:1", "m")
	if err != nil {
		b.Fatal(err)
	}
	const n = 128
	var events []string
	events = append(events, "data: "+engineChunks[0].data+"\n\n")
	for range n {
		events = append(events, "data: "+engineChunks[1].data+"\n\n")
	}
	events = append(events, "data: "+engineChunks[3].data+"\n\n", "data: [DONE]\n\n")
	clock := Clock{Start: time.Now(), Now: time.Now}
	b.ReportAllocs()
	for b.Loop() {
		body := pieces(slices.Clone(events))
		var r Result
		if outcome, err := c.readStream(clock, &body, &r, 11, nil); outcome != OutcomeOK || len(r.Chunks) != n {
			b.Fatalf("%s %v, %d chunks", outcome, err, len(r.Chunks))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/chunk")
}
