package catalog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/google/go-cmp/cmp"
)

func TestSuites(t *testing.T) {
	common := func(s Suite) Suite {
		s.Version = "1.0.0"
		s.WarmupRequests = 3
		s.Seed = 42
		s.MaxTokens = 128
		return s
	}
	want := []Suite{
		common(Suite{ID: "llm.inference.chatbot-short", DatasetID: "builtin-chatbot-short", DatasetURI: "builtin://", N: 200,
			Driver: loadgen.DriverClosedLoop, Concurrency: []int{4, 16, 64}, Duration: 120 * time.Second, SLOTemplate: "llm.standard"}),
		common(Suite{ID: "llm.inference.code-completion", DatasetID: "builtin-code-completion", DatasetURI: "builtin://", N: 200,
			Driver: loadgen.DriverClosedLoop, Concurrency: []int{1, 4, 16}, Duration: 120 * time.Second, SLOTemplate: "llm.standard"}),
		common(Suite{ID: "llm.inference.long-context", DatasetID: "builtin-long-context", DatasetURI: "builtin://", N: 200,
			Driver: loadgen.DriverOpenLoop, RPS: []float64{0.5, 1, 2}, Duration: 300 * time.Second, SLOTemplate: "llm.relaxed"}),
		common(Suite{ID: "llm.inference.rag-style", DatasetID: "builtin-rag-style", DatasetURI: "builtin://", N: 200,
			Driver: loadgen.DriverOpenLoop, RPS: []float64{1, 4}, Duration: 180 * time.Second, SLOTemplate: "llm.relaxed"}),
		common(Suite{ID: "llm.inference.sharegpt-v3", DatasetID: "sharegpt-v3", DatasetURI: "hf://anon8231489123/ShareGPT_Vicuna_unfiltered", N: 1000,
			Driver: loadgen.DriverOpenLoop, RPS: []float64{1, 4, 16, 64, 256}, Duration: 300 * time.Second, SLOTemplate: "llm.standard"}),
	}
	if diff := cmp.Diff(want, Suites()); diff != "" {
		t.Errorf("Suites() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"llm.inference.chatbot-short", "llm.inference.code-completion", "llm.inference.long-context",
		"llm.inference.rag-style", "llm.inference.sharegpt-v3",
	}, SuiteIDs()); diff != "" {
		t.Errorf("SuiteIDs() mismatch (-want +got):\n%s", diff)
	}
	for _, w := range want {
		got, err := LookupSuite(w.ID)
		if err != nil {
			t.Errorf("LookupSuite(%q): %v", w.ID, err)
			continue
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("LookupSuite(%q) mismatch (-want +got):\n%s", w.ID, diff)
		}
	}
}

func TestLookupSuiteUnknown(t *testing.T) {
	for _, id := range []string{"", "chatbot-short", "LLM.inference.chatbot-short", "llm.inference", "llm.inference.chatbot-short "} {
		_, err := LookupSuite(id)
		if !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("LookupSuite(%q) error = %v, want ErrUnknownSuite", id, err)
			continue
		}
		for _, known := range SuiteIDs() {
			if !strings.Contains(err.Error(), known) {
				t.Errorf("LookupSuite(%q) error %q does not list %s", id, err, known)
			}
		}
	}
}

func TestSuitesAreFreshCopies(t *testing.T) {
	s, err := LookupSuite("llm.inference.chatbot-short")
	if err != nil {
		t.Fatal(err)
	}
	s.Concurrency[0] = 999
	s.N = 1
	all := Suites()
	all[3].RPS[0] = 999
	again, _ := LookupSuite("llm.inference.chatbot-short")
	if again.Concurrency[0] != 4 || again.N != 200 {
		t.Errorf("a caller's change leaked into the table: %+v", again)
	}
	if rag := Suites()[3]; rag.RPS[0] != 1 {
		t.Errorf("a caller's change leaked into the table: %+v", rag)
	}
}

func TestSuitePoints(t *testing.T) {
	tests := []struct {
		suite       Suite
		wantPoints  []loadgen.Point
		wantDefault loadgen.Point
	}{
		{Suite{Driver: loadgen.DriverClosedLoop, Concurrency: []int{4, 16}}, []loadgen.Point{{Concurrency: 4}, {Concurrency: 16}}, loadgen.Point{Concurrency: 4}},
		{Suite{Driver: loadgen.DriverOpenLoop, RPS: []float64{0.5, 2}}, []loadgen.Point{{RPS: 0.5}, {RPS: 2}}, loadgen.Point{RPS: 0.5}},
		// Empty sweeps: the reference's defaults, concurrency 1 and 1 rps.
		{Suite{Driver: loadgen.DriverClosedLoop}, nil, loadgen.Point{Concurrency: 1}},
		{Suite{Driver: loadgen.DriverOpenLoop}, nil, loadgen.Point{RPS: 1}},
		{Suite{Driver: "bogus", Concurrency: []int{4}}, nil, loadgen.Point{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.wantPoints, tt.suite.Points()); diff != "" {
			t.Errorf("%+v Points() (-want +got):\n%s", tt.suite, diff)
		}
		if got := tt.suite.DefaultPoint(); got != tt.wantDefault {
			t.Errorf("%+v DefaultPoint() = %+v, want %+v", tt.suite, got, tt.wantDefault)
		}
	}
}

func ExampleLookupSuite() {
	s, _ := LookupSuite("llm.inference.sharegpt-v3")
	fmt.Println(s.Driver, s.RPS, s.Duration, s.DatasetURI, s.N)

	_, err := LookupSuite("chatbot-short")
	fmt.Println(err)
	// Output:
	// open_loop [1 4 16 64 256] 5m0s hf://anon8231489123/ShareGPT_Vicuna_unfiltered 1000
	// unknown benchmark suite "chatbot-short" (did you mean llm.inference.chatbot-short?); known suites: llm.inference.chatbot-short, llm.inference.code-completion, llm.inference.long-context, llm.inference.rag-style, llm.inference.sharegpt-v3
}
