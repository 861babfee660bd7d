package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/envelope"
	"github.com/google/go-cmp/cmp"
)

// The dataset hashes the reference records for its builtin suites
// (FACTS §4.4, verified against the corpus).
const (
	builtinHash200  = "6f4b1f68fc3a813baa983cbe70cd9ef57f8c86e6b2e6ccc9aaa2a498e588d510"
	builtinHash1000 = "e6e02b2e7cd84474b14e3713525de678e9975b9c27b76e75074c040229dcdd8b"
)

func TestBuiltinPrompts(t *testing.T) {
	want := []string{
		"Explain the difference between TCP and UDP in two sentences.",
		"Write a Python function that returns the nth Fibonacci number iteratively.",
		"Summarise the plot of Hamlet in three sentences.",
		"What's the time complexity of merge sort? Explain why.",
		"Describe how a CPU cache hierarchy works at a high level.",
		"Compare Adam and AdamW optimisers \u2014 when would you pick each?",
		"Outline three causes of a sudden P99 latency spike in a steady RPS workload.",
		"What is bandwidth-delay product and why does it matter for TCP throughput?",
		"When would you use a circuit breaker vs a retry-with-backoff?",
		"Briefly: how does paged attention reduce KV cache fragmentation?",
	}
	got := BuiltinPrompts()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("BuiltinPrompts() (-want +got):\n%s", diff)
	}
	got[0] = "changed"
	if BuiltinPrompts()[0] != want[0] {
		t.Error("BuiltinPrompts returned shared storage")
	}
}

// TestEmbeddedExpectedHashes checks the hashes the embedded file itself
// documents, so the file and the code cannot drift apart.
func TestEmbeddedExpectedHashes(t *testing.T) {
	var f struct {
		Expected map[string]string `json:"expected_dataset_hash"`
	}
	if err := json.Unmarshal(builtinPromptsJSON, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Expected) == 0 {
		t.Fatal("no expected_dataset_hash in builtin-prompts.json")
	}
	for key, want := range f.Expected {
		var n int
		if _, err := fmt.Sscanf(key, "n=%d", &n); err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		if got := envelope.DatasetHash(SizePrompts(BuiltinPrompts(), n)); got != want {
			t.Errorf("%s: hash %s, want %s", key, got, want)
		}
	}
}

func TestLoadPromptsBuiltin(t *testing.T) {
	tests := []struct {
		uri      string
		n        int
		opts     []DatasetOption
		wantHash string
		wantID   string
		wantURI  string
	}{
		{"builtin://", 200, nil, builtinHash200, "builtin", "builtin://"},
		{"", 200, nil, builtinHash200, "builtin", "builtin://"},
		{"builtin://", 1000, nil, builtinHash1000, "builtin", "builtin://"},
		{"builtin://anything", 200, []DatasetOption{WithDatasetID("x"), WithDatasetFormat(DatasetShareGPT)}, builtinHash200, "x", "builtin://anything"},
		{"BUILTIN://", 1000, []DatasetOption{WithDatasetID("first"), WithDatasetID("sharegpt-v3")}, builtinHash1000, "sharegpt-v3", "BUILTIN://"},
	}
	for _, tt := range tests {
		d, err := LoadPrompts(context.Background(), tt.uri, tt.n, tt.opts...)
		if err != nil {
			t.Errorf("LoadPrompts(%q, %d): %v", tt.uri, tt.n, err)
			continue
		}
		if d.Hash != tt.wantHash || d.ID != tt.wantID || d.URI != tt.wantURI || len(d.Prompts) != tt.n ||
			d.SourcePrompts != 10 || d.Skipped != 0 {
			t.Errorf("LoadPrompts(%q, %d) = {ID %q URI %q len %d src %d skipped %d hash %s}, want {ID %q URI %q len %d src 10 skipped 0 hash %s}",
				tt.uri, tt.n, d.ID, d.URI, len(d.Prompts), d.SourcePrompts, d.Skipped, d.Hash, tt.wantID, tt.wantURI, tt.n, tt.wantHash)
		}
		if len(d.Warnings()) != 0 {
			t.Errorf("builtin warnings: %q", d.Warnings())
		}
	}
}

func TestSuiteLoadDataset(t *testing.T) {
	ctx := context.Background()
	for _, id := range []string{"llm.inference.chatbot-short", "llm.inference.code-completion", "llm.inference.long-context", "llm.inference.rag-style"} {
		s, err := LookupSuite(id)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.LoadDataset(ctx)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if d.ID != s.DatasetID || d.Hash != builtinHash200 {
			t.Errorf("%s: dataset {%s %s}, want {%s %s}", id, d.ID, d.Hash, s.DatasetID, builtinHash200)
		}
	}
	s, _ := LookupSuite("llm.inference.sharegpt-v3")
	if _, err := s.LoadDataset(ctx); !errors.Is(err, ErrDatasetUnavailable) {
		t.Errorf("sharegpt-v3 LoadDataset error = %v, want ErrDatasetUnavailable", err)
	}
	// What the reference really runs for sharegpt-v3 (FACTS §4.3).
	s.DatasetURI = BuiltinURI
	d, err := s.LoadDataset(ctx)
	if err != nil || d.ID != "sharegpt-v3" || d.Hash != builtinHash1000 {
		t.Errorf("sharegpt-v3 on builtins = {%s %s}, %v; want {sharegpt-v3 %s}", d.ID, d.Hash, err, builtinHash1000)
	}
}

func TestSizePrompts(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		in   []string
		n    int
		want []string
	}{
		{abc, 1, []string{"a"}},
		{abc, 3, []string{"a", "b", "c"}},
		{abc, 4, []string{"a", "b", "c", "a"}},
		{abc, 7, []string{"a", "b", "c", "a", "b", "c", "a"}},
		{abc, 6, []string{"a", "b", "c", "a", "b", "c"}},
		{abc, 0, []string{}},
		{abc, -1, []string{}},
		{nil, 5, []string{}},
	}
	for _, tt := range tests {
		got := SizePrompts(tt.in, tt.n)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SizePrompts(%q, %d) (-want +got):\n%s", tt.in, tt.n, diff)
		}
	}
	// The result never aliases the input.
	got := SizePrompts(abc, 2)
	got[0] = "z"
	if abc[0] != "a" {
		t.Error("SizePrompts aliased its input")
	}
}

// refSize is the reference's sizing, literally: (list * (n//len + 1))[:n].
func refSize(ps []string, n int) []string {
	if n <= len(ps) {
		return append([]string{}, ps[:n]...)
	}
	var out []string
	for range n/len(ps) + 1 {
		out = append(out, ps...)
	}
	return out[:n]
}

func TestSizePromptsMatchesReference(t *testing.T) {
	ps := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}
	for k := 1; k <= len(ps); k++ {
		for n := 1; n <= 40; n++ {
			if diff := cmp.Diff(refSize(ps[:k], n), SizePrompts(ps[:k], n)); diff != "" {
				t.Fatalf("len %d n %d (-ref +got):\n%s", k, n, diff)
			}
		}
	}
}

var testJSONLPrompts = []string{
	"Explain TCP slow start.",
	"A bare JSON string prompt.",
	"Compare Adam and AdamW \u2014 when?",
	"Surrounding whitespace is fine.",
	"", // kept, as the reference keeps it
	"duplicate keys: the last wins",
	"CRLF line",
}

var testShareGPTPrompts = []string{
	"How do I reverse a list in Python?",
	"What is a monad?",
	"Name three sorting algorithms.",
	"Why is the sky blue \u2014 briefly?",
	"A bare string element.",
	"A prompt object element.",
}

func TestLoadPromptsFiles(t *testing.T) {
	abs, err := filepath.Abs("testdata/datasets/prompts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	sgAbs, err := filepath.Abs("testdata/datasets/sharegpt.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uri  string
		n    int
		opts []DatasetOption
		want Dataset
	}{
		{
			name: "jsonl absolute file URI",
			uri:  "file://" + abs, n: 7,
			want: Dataset{ID: "prompts", URI: "file://" + abs, Prompts: testJSONLPrompts, SourcePrompts: 7, Skipped: 8, FirstSkipped: 4},
		},
		{
			name: "jsonl relative file URI, repeated",
			uri:  "file://testdata/datasets/prompts.jsonl", n: 10,
			want: Dataset{ID: "prompts", URI: "file://testdata/datasets/prompts.jsonl",
				Prompts: SizePrompts(testJSONLPrompts, 10), SourcePrompts: 7, Skipped: 8, FirstSkipped: 4},
		},
		{
			name: "jsonl plain path, reading stops after n prompts",
			uri:  "testdata/datasets/prompts.jsonl", n: 2, opts: []DatasetOption{WithDatasetID("mine")},
			want: Dataset{ID: "mine", URI: "testdata/datasets/prompts.jsonl", Prompts: testJSONLPrompts[:2], SourcePrompts: 2},
		},
		{
			name: "jsonl forced format",
			uri:  "testdata/datasets/prompts.jsonl", n: 3, opts: []DatasetOption{WithDatasetFormat(DatasetJSONL)},
			want: Dataset{ID: "prompts", URI: "testdata/datasets/prompts.jsonl", Prompts: testJSONLPrompts[:3], SourcePrompts: 3, Skipped: 3, FirstSkipped: 4},
		},
		{
			name: "sharegpt detected by content",
			uri:  "file://" + sgAbs, n: 6,
			want: Dataset{ID: "sharegpt", URI: "file://" + sgAbs, Prompts: testShareGPTPrompts, SourcePrompts: 6, Skipped: 5, FirstSkipped: 3},
		},
		{
			name: "sharegpt forced format, repeated",
			uri:  "testdata/datasets/sharegpt.json", n: 1000, opts: []DatasetOption{WithDatasetFormat(DatasetShareGPT)},
			want: Dataset{ID: "sharegpt", URI: "testdata/datasets/sharegpt.json",
				Prompts: SizePrompts(testShareGPTPrompts, 1000), SourcePrompts: 6, Skipped: 5, FirstSkipped: 3},
		},
		{
			name: "sharegpt truncated file is fine when n prompts come first",
			uri:  "testdata/datasets/truncated-sharegpt.json", n: 1,
			want: Dataset{ID: "truncated-sharegpt", URI: "testdata/datasets/truncated-sharegpt.json", Prompts: []string{"ok"}, SourcePrompts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadPrompts(context.Background(), tt.uri, tt.n, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Hash = envelope.DatasetHash(tt.want.Prompts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadPrompts(%q, %d) (-want +got):\n%s", tt.uri, tt.n, diff)
			}
		})
	}
}

func TestLoadPromptsErrors(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.jsonl")
	if err := os.WriteFile(long, []byte(`{"prompt": "short"}`+"\n\""+strings.Repeat("x", 200)+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oneLine := filepath.Join(dir, "one-line.json")
	if err := os.WriteFile(oneLine, []byte(`[{"conversations": [{"from": "human", "value": "hi"}]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uri      string
		n        int
		opts     []DatasetOption
		wantIs   error    // checked with errors.Is when set
		contains []string // substrings of the message
	}{
		{name: "hf", uri: "hf://anon8231489123/ShareGPT_Vicuna_unfiltered", n: 10,
			wantIs: ErrDatasetUnavailable, contains: []string{"hf://anon8231489123/ShareGPT_Vicuna_unfiltered", "offline", "file:///path/sharegpt.json"}},
		{name: "fixtures", uri: "fixtures://mmlu", n: 10,
			wantIs: ErrDatasetUnavailable, contains: []string{"fixtures://mmlu", "file://", "mmlu.jsonl"}},
		{name: "unknown scheme", uri: "s3://bucket/x.jsonl", n: 10, wantIs: ErrUnsupportedScheme, contains: []string{"s3://"}},
		{name: "http is not a local path", uri: "https://example.com/x.jsonl", n: 10, wantIs: ErrUnsupportedScheme, contains: []string{"https://"}},
		{name: "missing file", uri: "file://testdata/datasets/nope.jsonl", n: 10, wantIs: fs.ErrNotExist, contains: []string{"testdata/datasets/nope.jsonl"}},
		{name: "missing plain path", uri: "testdata/datasets/nope.json", n: 10, wantIs: fs.ErrNotExist, contains: []string{"testdata/datasets/nope.json"}},
		{name: "empty file", uri: "testdata/datasets/empty.jsonl", n: 10, wantIs: ErrEmptyDataset, contains: []string{"testdata/datasets/empty.jsonl"}},
		{name: "only bad lines", uri: "file://testdata/datasets/only-bad.jsonl", n: 10, wantIs: ErrEmptyDataset, contains: []string{"testdata/datasets/only-bad.jsonl", "3 records"}},
		{name: "truncated sharegpt", uri: "testdata/datasets/truncated-sharegpt.json", n: 10, contains: []string{"testdata/datasets/truncated-sharegpt.json", "element 2"}},
		{name: "sharegpt format on a JSONL file", uri: "testdata/datasets/prompts.jsonl", n: 10, opts: []DatasetOption{WithDatasetFormat(DatasetShareGPT)},
			contains: []string{"testdata/datasets/prompts.jsonl", "JSON array"}},
		{name: "JSONL format on a ShareGPT file", uri: oneLine, n: 10, opts: []DatasetOption{WithDatasetFormat(DatasetJSONL)},
			wantIs: ErrEmptyDataset, contains: []string{oneLine, "jsonl format"}},
		{name: "directory", uri: "testdata/datasets", n: 10, contains: []string{"testdata/datasets"}},
		{name: "no path", uri: "file://", n: 10, contains: []string{"file://"}},
		{name: "line too long", uri: long, n: 10, opts: []DatasetOption{WithDatasetMaxLineBytes(100)}, contains: []string{long, "line 2", "100 bytes"}},
		{name: "n zero", uri: "builtin://", n: 0, contains: []string{"n=0"}},
		{name: "n negative", uri: "builtin://", n: -5, contains: []string{"n=-5"}},
		{name: "bad format", uri: "builtin://", n: 1, opts: []DatasetOption{WithDatasetFormat("csv")}, contains: []string{`"csv"`}},
		{name: "bad max line", uri: "builtin://", n: 1, opts: []DatasetOption{WithDatasetMaxLineBytes(0)}, contains: []string{"max line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := LoadPrompts(context.Background(), tt.uri, tt.n, tt.opts...)
			if err == nil {
				t.Fatalf("LoadPrompts(%q) = %d prompts, want an error", tt.uri, len(d.Prompts))
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestLoadPromptsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, uri := range []string{"builtin://", "testdata/datasets/prompts.jsonl"} {
		if _, err := LoadPrompts(ctx, uri, 10); !errors.Is(err, context.Canceled) {
			t.Errorf("LoadPrompts(%q) with a cancelled context: %v", uri, err)
		}
	}
}

func TestLoadPromptsBOMAndLeadingBlankLines(t *testing.T) {
	dir := t.TempDir()
	jl := filepath.Join(dir, "bom.jsonl")
	if err := os.WriteFile(jl, []byte("\xef\xbb\xbf\n\n  \nbad\n\"one\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadPrompts(context.Background(), jl, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one"}, d.Prompts); diff != "" || d.Skipped != 1 || d.FirstSkipped != 4 {
		t.Errorf("prompts (-want +got):\n%s skipped %d first %d, want 1 at line 4", diff, d.Skipped, d.FirstSkipped)
	}
	if ws := d.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "skipped 1") || !strings.Contains(ws[0], jl) {
		t.Errorf("Warnings() = %q", ws)
	}

	sg := filepath.Join(dir, "bom.json")
	if err := os.WriteFile(sg, []byte("\xef\xbb\xbf \n[{\"conversations\":[{\"role\":\"user\",\"content\":\"hi\"}]}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = LoadPrompts(context.Background(), "file://"+sg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hi", "hi", "hi"}, d.Prompts); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
	if ws := d.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "only 1 prompts, repeated to 3") {
		t.Errorf("Warnings() = %q", ws)
	}
}

func TestLoadPromptsInvalidUTF8Skipped(t *testing.T) {
	jl := filepath.Join(t.TempDir(), "utf8.jsonl")
	if err := os.WriteFile(jl, []byte("\"caf\xe9\"\n{\"prompt\": \"ok\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadPrompts(context.Background(), jl, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Prompts[0] != "ok" || d.Skipped != 1 {
		t.Errorf("got %q skipped %d, want [ok] skipped 1", d.Prompts, d.Skipped)
	}
}

// TestLoadPromptsLarge reads big files whole (n above their size) and checks
// that reading stops early when n is small.
func TestLoadPromptsLarge(t *testing.T) {
	const lines = 100_000
	dir := t.TempDir()

	var jb strings.Builder
	for i := range lines {
		if i%10 == 9 {
			jb.WriteString("bad line\n")
			continue
		}
		fmt.Fprintf(&jb, "{\"prompt\": \"prompt %d %s\"}\n", i, strings.Repeat("y", i%300))
	}
	jl := filepath.Join(dir, "big.jsonl")
	if err := os.WriteFile(jl, []byte(jb.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var sb strings.Builder
	sb.WriteString("[")
	for i := range lines {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, `{"id": %d, "conversations": [{"from": "human", "value": "q %d"}, {"from": "gpt", "value": "%s"}]}`, i, i, strings.Repeat("z", i%300))
	}
	sb.WriteString("]")
	sg := filepath.Join(dir, "big.json")
	if err := os.WriteFile(sg, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	d, err := LoadPrompts(ctx, jl, 2*lines)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourcePrompts != lines*9/10 || d.Skipped != lines/10 || d.FirstSkipped != 10 || len(d.Prompts) != 2*lines {
		t.Errorf("big JSONL: src %d skipped %d first %d len %d", d.SourcePrompts, d.Skipped, d.FirstSkipped, len(d.Prompts))
	}
	d, err = LoadPrompts(ctx, jl, 5)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourcePrompts != 5 || d.Skipped != 0 || d.Prompts[4] != "prompt 4 yyyy" {
		t.Errorf("big JSONL, n=5: src %d skipped %d prompts %q", d.SourcePrompts, d.Skipped, d.Prompts)
	}

	d, err = LoadPrompts(ctx, sg, lines+1)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourcePrompts != lines || d.Skipped != 0 || d.Prompts[lines-1] != fmt.Sprintf("q %d", lines-1) || d.Prompts[lines] != "q 0" {
		t.Errorf("big ShareGPT: src %d skipped %d", d.SourcePrompts, d.Skipped)
	}
	d, err = LoadPrompts(ctx, sg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourcePrompts != 1000 || d.Prompts[999] != "q 999" {
		t.Errorf("big ShareGPT, n=1000: src %d last %q", d.SourcePrompts, d.Prompts[999])
	}
}

func ExampleLoadPrompts() {
	ctx := context.Background()
	d, _ := LoadPrompts(ctx, "builtin://", 200)
	fmt.Println(d.ID, len(d.Prompts), d.Hash)

	d, _ = LoadPrompts(ctx, "file://testdata/datasets/prompts.jsonl", 10)
	fmt.Println(d.ID, d.SourcePrompts, d.Skipped)
	for _, w := range d.Warnings() {
		fmt.Println(w)
	}

	_, err := LoadPrompts(ctx, "hf://anon8231489123/ShareGPT_Vicuna_unfiltered", 1000)
	fmt.Println(errors.Is(err, ErrDatasetUnavailable))
	fmt.Println(err)
	// Output:
	// builtin 200 6f4b1f68fc3a813baa983cbe70cd9ef57f8c86e6b2e6ccc9aaa2a498e588d510
	// prompts 7 8
	// dataset file://testdata/datasets/prompts.jsonl: skipped 8 record(s) without a prompt (the first at line/element 4)
	// dataset file://testdata/datasets/prompts.jsonl: only 7 prompts, repeated to 10
	// true
	// hf://anon8231489123/ShareGPT_Vicuna_unfiltered: dataset cannot be reached offline: Hugging Face datasets are not downloaded; download it and pass the local file, e.g. file:///path/sharegpt.json (a ShareGPT JSON array, or JSONL of {"prompt": ...} lines)
}
