package profile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// Profile a signed envelope against an engine. Here the engine is the fake
// enginetest server and the GPU a fake sampler; against a real deployment
// only the base URL changes (and the built-in NVML and RAPL samplers do the
// sampling).
func ExampleRun() {
	src, err := envelope.Load("testdata/2026-06-13-llm-h100_c16-b91875fdf860.json")
	if err != nil {
		panic(err)
	}
	engine, err := enginetest.Start(enginetest.WithModels(src.Model.ID), enginetest.WithTTFT(5*time.Millisecond), enginetest.WithOutputTokens(16))
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	dir, _ := os.MkdirTemp("", "profile-example-")
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "cosign.key")
	if _, err := envelope.GenerateKeyPair(key); err != nil {
		panic(err)
	}

	res, err := profile.Run(context.Background(), src,
		profile.WithBaseURL(engine.URL()+"/v1"),
		profile.WithSourcePath("c16-b91875fdf860.json"), // the c16- prefix is the sweep point
		profile.WithDuration(time.Second),
		profile.WithDevKey(key),
		profile.WithOutputDir(filepath.Join(dir, "out")),
		profile.WithoutDefaultSamplers(), // a fake GPU and CPU instead of NVML and RAPL
		profile.WithSampler(&samplertest.GPU{Devices: 8, PowerW: 350, UtilPct: 90}, 10*time.Millisecond),
		profile.WithSampler(&samplertest.CPU{Packages: 2, DRAM: 2, PackageW: 150, DRAMW: 20}, 25*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("point:", res.Point.Point, "from", res.Point.Source)
	fmt.Println("written:", strings.HasPrefix(filepath.Base(res.Path), "profile-"))
	fmt.Println("ok_rate:", res.OKRate())
	_, gpu := res.Envelope.Metric("energy_joules_gpu")
	_, cpu := res.Envelope.Metric("energy_joules_cpu_dram")
	fmt.Println("GPU energy measured:", gpu, "- CPU+DRAM measured:", cpu)
	// Output:
	// point: concurrency 16 from file name prefix c16
	// written: true
	// ok_rate: 1
	// GPU energy measured: true - CPU+DRAM measured: true
}

// Start from nothing: run a bundled suite against an engine at two
// concurrencies, each point with its own signed envelope named with the
// point, and a summary with the curves. Against a real engine only the
// base URL and the model change.
func ExampleSweep() {
	engine, err := enginetest.Start(enginetest.WithModels("Qwen/Qwen2.5-7B-Instruct"), enginetest.WithTTFT(5*time.Millisecond),
		enginetest.WithOutputTokens(16))
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	dir, _ := os.MkdirTemp("", "sweep-example-")
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "cosign.key")
	if _, err := envelope.GenerateKeyPair(key); err != nil {
		panic(err)
	}

	src, err := profile.FromSuite("llm.inference.chatbot-short", "Qwen/Qwen2.5-7B-Instruct", "vllm")
	if err != nil {
		panic(err)
	}
	res, err := profile.Sweep(context.Background(), src, []loadgen.Point{{Concurrency: 1}, {Concurrency: 4}},
		profile.WithBaseURL(engine.URL()+"/v1"),
		profile.WithDuration(300*time.Millisecond),
		profile.WithDevKey(key),
		profile.WithOutputDir(filepath.Join(dir, "results")),
		profile.WithoutDefaultSamplers(),
		profile.WithSampler(&samplertest.GPU{Devices: 1, PowerW: 300, UtilPct: 80}, 10*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	for _, p := range res.Points {
		name := filepath.Base(p.Result.Path)
		fmt.Println(p.Point, "->", name[:strings.LastIndex(name, "-")+1]+"<hash12>.json")
	}
	fmt.Println("summary written:", res.SummaryJSONPath != "" && res.SummaryHTMLPath != "")
	// Output:
	// concurrency 1 -> c1-<hash12>.json
	// concurrency 4 -> c4-<hash12>.json
	// summary written: true
}
