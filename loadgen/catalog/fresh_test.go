package catalog

import (
	"testing"

	"github.com/benchprof/benchprof/loadgen"
)

func TestFreshSource(t *testing.T) {
	s, err := LookupSuite("llm.inference.code-completion")
	if err != nil {
		t.Fatal(err)
	}
	src := FreshSource(s, "Qwen/Qwen2.5-7B-Instruct", "vllm")
	if src.SuiteID != s.ID || src.SuiteVersion != SuiteVersion || src.Model.ID != "Qwen/Qwen2.5-7B-Instruct" ||
		src.Engine.Name != "vllm" || src.Model.Provider != "vllm" || src.Seed != DefaultSeed ||
		src.SLOTemplate != SLOStandard || src.Dataset.ID != "builtin-code-completion" || src.Quantization != nil {
		t.Errorf("fresh source %+v", src)
	}
	// Nothing records a point: a run from it is at the suite's default,
	// or at the one chosen.
	r, err := ResolvePoint(s, src, "", loadgen.Point{})
	if err != nil || r.Point != (loadgen.Point{Concurrency: 1}) || r.Source != SourceSuiteDefault || len(r.Warnings) != 0 {
		t.Errorf("ResolvePoint = %+v, %v", r, err)
	}
	r, err = ResolvePoint(s, src, "", loadgen.Point{Concurrency: 16})
	if err != nil || r.Point.Concurrency != 16 || r.Source != SourceOverride {
		t.Errorf("ResolvePoint with override = %+v, %v", r, err)
	}
	// It is no envelope anyone wrote: it has nothing measured and is not valid.
	if _, err := src.Bytes(); err == nil {
		t.Error("a fresh source renders as an envelope file")
	}
}
